//! A person-readable JSON summary of a document, for debugging an integration.
//! It never includes a shared secret.

use serde_json::{Map, Value, json};

use crate::datetime::format_timestamp;
use crate::model::*;
use crate::money::Money;

use crate::error::Rejection;

// The elements the cXML 1.2.069 DTDs allow inside `Request`, `Response` and `Message`: the
// entities `cxml.requests`, `cxml.responses` and `cxml.messages` as cXML.dtd, Fulfill.dtd,
// InvoiceDetail.dtd and the other DTDs of the release redefine them (a test in
// tests/samples.rs reads them from the DTDs and compares).
pub const CXML_REQUESTS: &[&str] = &[
    "ApprovalRequest",
    "AuthRequest",
    "BlanketOrderStatusUpdateRequest",
    "CatalogChangeRequest",
    "CatalogUploadRequest",
    "ChargeFileRequest",
    "CollaborationRequest",
    "ComponentConsumptionRequest",
    "ConfirmationRequest",
    "ContentRequest",
    "ContractRequest",
    "ContractStatusUpdateRequest",
    "CopyRequest",
    "DataPushRequest",
    "DataRequest",
    "DataSyncChangeListRequest",
    "DataSyncDataRequest",
    "GetPendingRequest",
    "InvoiceDetailRequest",
    "InvoiceRequest",
    "MapSyncRequest",
    "MasterAgreementRequest",
    "NotificationRequest",
    "OrderRequest",
    "OrderStatusDataRequest",
    "OrderStatusRequest",
    "OrderStatusSetupRequest",
    "OrganizationDataRequest",
    "PaymentBatchRequest",
    "PaymentProposalRequest",
    "PaymentReceiptConfirmationRequest",
    "PaymentRemittanceRequest",
    "PaymentRemittanceStatusUpdateRequest",
    "PriceAvailabilityRequest",
    "PrivateOrganizationRequest",
    "ProfileRequest",
    "ProofOfServiceRequest",
    "ProviderDataRequest",
    "ProviderSetupRequest",
    "PunchOutSetupRequest",
    "PurchaseRequisitionRequest",
    "QualityInspectionDecisionRequest",
    "QualityInspectionRequest",
    "QualityInspectionResultRequest",
    "QualityNotificationRequest",
    "QuoteRequest",
    "RFxEventRequest",
    "RFxPublishRequest",
    "ReceiptRequest",
    "RelationshipRequest",
    "SalesOrderRequest",
    "SearchRequest",
    "ServiceEntryRequest",
    "SessionStatusRequest",
    "ShipNoticeRequest",
    "SourcingUpdateRequest",
    "StatusUpdateRequest",
    "SubscriptionContentRequest",
    "SubscriptionListRequest",
    "SubscriptionStatusUpdateRequest",
    "SupplierDataRequest",
    "SupplierListRequest",
    "TimeCardInfoRequest",
    "TimeCardRequest",
    "TradeRequest",
    "TransportConfirmation",
    "TransportRequest",
    "UpdateMigratedSupplierRequest",
];

pub const CXML_RESPONSES: &[&str] = &[
    "AuthResponse",
    "ContentResponse",
    "DataPushResponse",
    "DataResponse",
    "DataSyncChangeListResponse",
    "DataSyncDataResponse",
    "GetPendingResponse",
    "OrderStatusSetupResponse",
    "OrganizationDataResponse",
    "PriceAvailabilityResponse",
    "PrivateOrganizationResponse",
    "ProfileResponse",
    "ProviderDataResponse",
    "ProviderSetupResponse",
    "PunchOutSetupResponse",
    "RelationshipResponse",
    "SearchResponse",
    "SessionStatusResponse",
    "SubscriptionContentResponse",
    "SubscriptionListResponse",
    "SupplierDataResponse",
    "SupplierListResponse",
];

pub const CXML_MESSAGES: &[&str] = &[
    "DataAvailableMessage",
    "OrderStatusDoneMessage",
    "OrganizationChangeMessage",
    "ProductActivityMessage",
    "ProductReplenishmentMessage",
    "ProviderDoneMessage",
    "PunchOutOrderMessage",
    "QuoteDataMessage",
    "QuoteMessage",
    "SubscriptionChangeMessage",
    "SupplierChangeMessage",
];

/// A document whose Request, Response or Message carries an element no cXML DTD declares
/// there (a `GarbageRequest`) is not cXML, however well formed: `cxml inspect` refuses it
/// with the 400 a DTD-validating receiver would answer. Types cXML declares but this crate
/// does not model (StatusUpdateRequest, ShipNoticeRequest ...) are summarised as usual.
pub fn unknown_type(doc: &Cxml) -> Option<Rejection> {
    let (name, known, kind, parent) = match &doc.body {
        Body::Request(r) => match &r.payload {
            RequestPayload::Other(name) => (name, CXML_REQUESTS, "request", "Request"),
            _ => return None,
        },
        Body::Response(r) => match &r.payload {
            Some(ResponsePayload::Other(name)) => (name, CXML_RESPONSES, "response", "Response"),
            _ => return None,
        },
        Body::Message(m) => match &m.payload {
            MessagePayload::Other(name) => (name, CXML_MESSAGES, "message", "Message"),
            _ => return None,
        },
    };
    (!known.contains(&name.as_str())).then(|| {
        Rejection::bad_request(format!(
            "element {name} in {parent} is not a cXML {kind} type (cXML 1.2.069)"
        ))
    })
}

pub fn summary(doc: &Cxml) -> Value {
    let mut out = Map::new();
    out.insert("message_type".into(), json!(doc.message_type()));
    out.insert("payload_id".into(), json!(doc.payload_id));
    out.insert(
        "timestamp_utc".into(),
        json!(format_timestamp(doc.timestamp)),
    );
    if let Some(v) = &doc.version {
        out.insert("version".into(), json!(v));
    }
    if !matches!(doc.body, Body::Response(_)) {
        out.insert(
            "deployment_mode".into(),
            json!(doc.deployment_mode().as_str()),
        );
    }
    if let Some(h) = &doc.header {
        let party = |c: &[Credential]| -> Value {
            c.iter()
                .map(|c| json!({"domain": c.domain, "identity": c.identity}))
                .collect()
        };
        out.insert(
            "sender".into(),
            json!({
                "domain": h.sender_credential().map(|c| c.domain.as_str()),
                "identity": h.sender_credential().map(|c| c.identity.as_str()),
                "has_shared_secret": h.sender_credential().is_some_and(|c| c.shared_secret.is_some()),
                "user_agent": h.user_agent,
            }),
        );
        out.insert("from".into(), party(&h.from));
        out.insert("to".into(), party(&h.to));
    }
    match &doc.body {
        Body::Request(r) => request(&mut out, &r.payload),
        Body::Response(r) => {
            out.insert("status".into(), status(&r.status));
            match &r.payload {
                Some(ResponsePayload::PunchOutSetup(p)) => {
                    out.insert("start_page_url".into(), json!(p.start_page_url));
                }
                Some(ResponsePayload::Profile(p)) => {
                    let tx: Vec<Value> = p
                        .transactions
                        .iter()
                        .map(|t| json!({"request": t.request_name, "url": t.url}))
                        .collect();
                    out.insert("transactions".into(), json!(tx));
                }
                _ => {}
            }
        }
        Body::Message(m) => {
            if let Some(s) = &m.status {
                out.insert("status".into(), status(s));
            }
            if let MessagePayload::PunchOutOrder(p) = &m.payload {
                out.insert("buyer_cookie".into(), json!(p.buyer_cookie));
                out.insert(
                    "operation_allowed".into(),
                    json!(p.header.operation_allowed.as_str()),
                );
                let items: Vec<Value> = p
                    .items
                    .iter()
                    .map(|i| item(i.line_number, &i.item_id, &i.quantity, Some(&i.detail)))
                    .collect();
                out.insert("items".into(), json!(items));
                let mut totals = Map::new();
                totals.insert("total".into(), money(&p.header.total));
                if let Some(c) = &p.header.shipping {
                    totals.insert("shipping".into(), money(&c.money));
                }
                if let Some(c) = &p.header.tax {
                    totals.insert("tax".into(), money(&c.money));
                }
                out.insert("totals".into(), Value::Object(totals));
            }
        }
    }
    Value::Object(out)
}

fn request(out: &mut Map<String, Value>, payload: &RequestPayload) {
    match payload {
        RequestPayload::PunchOutSetup(p) => {
            out.insert("operation".into(), json!(p.operation.as_str()));
            out.insert("buyer_cookie".into(), json!(p.buyer_cookie));
            out.insert("browser_form_post".into(), json!(p.browser_form_post));
            out.insert("requester_email".into(), json!(p.requester_email()));
            out.insert("requester_name".into(), json!(p.requester_name()));
            if let Some(s) = &p.selected_item {
                out.insert("selected_item".into(), json!(s.supplier_part_id));
            }
            let items: Vec<Value> = p
                .items
                .iter()
                .map(|i| item(i.line_number, &i.item_id, &i.quantity, i.detail.as_ref()))
                .collect();
            out.insert("items".into(), json!(items));
        }
        RequestPayload::Order(o) => {
            let h = &o.header;
            out.insert(
                "order".into(),
                json!({
                    "order_id": h.order_id,
                    "type": h.order_type.as_str(),
                    "order_date_utc": format_timestamp(h.order_date),
                    "document_reference": h.document_reference,
                }),
            );
            let items: Vec<Value> = o
                .items
                .iter()
                .map(|i| item(i.line_number, &i.item_id, &i.quantity, i.detail.as_ref()))
                .collect();
            out.insert("items".into(), json!(items));
            out.insert("totals".into(), json!({"total": money(&h.total)}));
        }
        RequestPayload::InvoiceDetail(i) => {
            out.insert(
                "invoice".into(),
                json!({
                    "invoice_id": i.header.invoice_id,
                    "purpose": i.header.purpose,
                    "invoice_date": match &i.header.invoice_date {
                        InvoiceDate::At(t) => format_timestamp(*t),
                        InvoiceDate::Unrecognised(raw) => raw.clone(),
                    },
                    "orders": i.orders.iter().map(|o| json!({
                        "reference": o.reference.kind,
                        "order_id": o.reference.order_id,
                        "document_payload_id": o.reference.document_payload_id,
                    })).collect::<Vec<_>>(),
                }),
            );
            let items: Vec<Value> = i
                .orders
                .iter()
                .flat_map(|o| o.items.iter())
                .map(|it| {
                    json!({
                        "line": it.invoice_line_number,
                        "quantity": it.quantity.to_string(),
                        "unit_price": it.unit_price.amount.to_string(),
                        "currency": it.unit_price.currency.code(),
                        "description": it.description.as_ref().map(|d| d.label().to_string()),
                    })
                })
                .collect();
            out.insert("items".into(), json!(items));
            let s = &i.summary;
            out.insert(
                "totals".into(),
                json!({
                    "subtotal": money(&s.subtotal),
                    "tax": s.tax.as_ref().map(|c| money(&c.money)),
                    "net": s.net.as_ref().map(money),
                    "due": s.due.as_ref().map(money),
                }),
            );
        }
        RequestPayload::Confirmation(c) => {
            out.insert(
                "confirmation".into(),
                json!({
                    "type": c.header.confirmation_type,
                    "operation": c.header.operation,
                    "confirm_id": c.header.confirm_id,
                    "notice_date_utc": format_timestamp(c.header.notice_date),
                    "order_id": c.order.order_id,
                    "order_payload_id": c.order.document_payload_id,
                }),
            );
        }
        RequestPayload::Profile(_) | RequestPayload::Other(_) => {}
    }
}

fn status(s: &Status) -> Value {
    json!({"code": s.code, "text": s.text, "message": s.message})
}

fn money(m: &Money) -> Value {
    json!({"amount": m.amount.to_string(), "currency": m.currency.code()})
}

fn item(
    line: Option<u32>,
    id: &ItemId,
    quantity: &rust_decimal::Decimal,
    detail: Option<&ItemDetail>,
) -> Value {
    json!({
        "line": line,
        "supplier_part_id": id.supplier_part_id,
        "supplier_part_auxiliary_id": id.supplier_part_auxiliary_id,
        "quantity": quantity.to_string(),
        "unit_price": detail.map(|d| d.unit_price.amount.to_string()),
        "currency": detail.map(|d| d.unit_price.currency.code()),
        "unspsc": detail.and_then(|d| d.unspsc()),
        "description": detail.map(|d| d.description().to_string()),
    })
}
