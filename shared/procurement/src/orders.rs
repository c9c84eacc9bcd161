//! OrderRequest intake: authenticated, recorded exactly once per payloadID and orderID.

use cxml::{Body, Cxml, Rejection, RequestPayload, Status};
use time::OffsetDateTime;

use crate::http::HttpReply;
use crate::model::OrderRecord;
use crate::ports::{Deps, Recorded};
use crate::sender::authenticated_integration;

pub async fn handle_order(deps: &Deps, body: &[u8]) -> HttpReply {
    let host = deps.config.payload_host();
    match order(deps, body).await {
        Ok(status) => HttpReply::cxml(200, &Cxml::response(host, status, None)),
        Err(rejection) => {
            tracing::info!(code = rejection.code, reason = %rejection.text, "order refused");
            HttpReply::cxml_rejection(host, &rejection)
        }
    }
}

async fn order(deps: &Deps, body: &[u8]) -> Result<Status, Rejection> {
    let doc = cxml::parse(body)?;
    let (Some(header), Body::Request(request)) = (&doc.header, &doc.body) else {
        return Err(Rejection::bad_request(format!(
            "expected a cXML OrderRequest, got {}",
            doc.message_type()
        )));
    };
    let RequestPayload::Order(order) = &request.payload else {
        return Err(Rejection::not_implemented(format!(
            "{} is not accepted at the order URL; it takes OrderRequest only",
            doc.message_type()
        )));
    };
    let integration = authenticated_integration(deps, header).await?;
    let record = OrderRecord {
        org_id: integration.org_id.clone(),
        order_id: order.header.order_id.clone(),
        payload_id: doc.payload_id.clone(),
        order_type: order.header.order_type,
        test: integration.test_mode || request.deployment_mode == cxml::DeploymentMode::Test,
        lines: order.items.len(),
        total: order.header.total.clone(),
        received_at: OffsetDateTime::now_utc(),
    };
    match deps.store.record_order(&record).await? {
        Recorded::Created => {
            tracing::info!(org_id = %record.org_id, order_id = %record.order_id, lines = record.lines, test = record.test, "order recorded");
            Ok(Status::new(
                200,
                format!("OK: order {} received", record.order_id),
            ))
        }
        Recorded::Existing(earlier) => {
            tracing::info!(org_id = %earlier.org_id, order_id = %earlier.order_id, "duplicate order answered as before");
            Ok(Status::new(
                200,
                format!("OK: order {} received", earlier.order_id),
            ))
        }
    }
}
