//! Order confirmations to the SAP Ariba Network: after an Ariba OrderRequest creates its
//! agreements, a ConfirmationRequest `type="accept"` tells the buyer (through the Network) that
//! the whole order is accepted as its OrderRequest describes it.
//!
//! Written in the order's own transaction (so an accepted order always owes one, once), handed
//! to the invoice queue after the commit, and sent by invoice-dispatch with the rules invoices
//! follow ([`crate::delivery`]): claimed before posting, accepted on 2xx, refused for good on
//! 4xx (logged `CONFIRMATION_PERMANENT_FAILURE`), retried by the queue on 5xx or no answer and
//! dead-lettered after that. The scheduled run queues what the order's request could not, and
//! hands over again what was dead-lettered or lost.
//!
//! The document follows Fulfill.dtd 1.2.069: `ConfirmationHeader` with `type="accept"` and the
//! notice date; `OrderReference` with the orderID and orderDate copied from the order and a
//! `DocumentReference` to its payloadID. Credentials as the Network expects of a supplier: From
//! and Sender the supplier's ANID (the Sender with the supplier's Network secret), To the
//! buyer's ANID.

use cxml::{
    ConfirmationHeader, ConfirmationRequest, ConfirmedOrder, Credential, Cxml, DeploymentMode,
    Header, RequestPayload,
};
use time::OffsetDateTime;

use crate::config::Config;
use crate::deadline::{Walk, walk_pages};
use crate::delivery::{Answer, CLAIM_MARGIN, Delivery, JobOutcome, QueueRun, clip, read_answer};
use crate::ids::ConfirmationId;
use crate::message_log::{self, Exchange};
use crate::model::{
    Confirmation, ConfirmationOutcome, ConfirmationStatus, Integration, OrderRecord,
};
use crate::network::{AribaNetwork, NETWORK_ID_DOMAIN};
use crate::ports::{Deps, SendError, Stale, StoreError};

const USER_AGENT: &str = "Software Marketplace procurement 1.0";
/// Page size of the scheduled run's walk over unqueued confirmations.
const PAGE_SIZE: usize = 100;

/// The confirmation a newly accepted order owes, if its integration confirms orders: one per
/// organisation and orderID. `buyer_anid` is the From ANID the order came with.
pub fn owed(
    integration: &Integration,
    record: &OrderRecord,
    order_date: OffsetDateTime,
    buyer_anid: Option<&str>,
    now: OffsetDateTime,
) -> Option<Confirmation> {
    if record.test || !integration.settings.confirms_orders() {
        return None;
    }
    let buyer_anid = buyer_anid
        .map(str::to_string)
        .unwrap_or_else(|| integration.buyer().identity);
    Some(Confirmation {
        confirmation_id: ConfirmationId::for_order(&record.org_id, &record.order_id),
        org_id: record.org_id.clone(),
        order_id: record.order_id.clone(),
        order_payload_id: record.payload_id.clone(),
        order_date,
        buyer_anid,
        created_at: now,
    })
}

/// The payloadID of a confirmation: stable, so the Network recognises a resend.
pub fn payload_id(config: &Config, id: &ConfirmationId) -> String {
    format!("{id}.confirmation@{}", config.payload_host())
}

/// The ConfirmationRequest for one confirmation, signed with the Network account's current
/// secret.
pub fn document(config: &Config, network: &AribaNetwork, confirmation: &Confirmation) -> Cxml {
    let header = Header {
        from: vec![network.supplier_credential(false)],
        to: vec![Credential::new(NETWORK_ID_DOMAIN, &confirmation.buyer_anid)],
        sender: vec![network.supplier_credential(true)],
        user_agent: USER_AGENT.into(),
    };
    let payload = RequestPayload::Confirmation(ConfirmationRequest {
        header: ConfirmationHeader {
            confirmation_type: "accept".into(),
            operation: "new".into(),
            confirm_id: Some(confirmation.confirmation_id.to_string()),
            notice_date: confirmation.created_at,
        },
        order: ConfirmedOrder {
            order_id: Some(confirmation.order_id.to_string()),
            order_date: Some(confirmation.order_date),
            document_payload_id: confirmation.order_payload_id.clone(),
        },
    });
    let mut doc = Cxml::request(
        config.payload_host(),
        header,
        DeploymentMode::Production,
        payload,
    );
    doc.payload_id = payload_id(config, &confirmation.confirmation_id);
    doc.timestamp = confirmation.created_at;
    doc
}

/// Hands one confirmation to the queue and marks it queued; false if SQS refused it.
async fn hand_to_queue(deps: &Deps, id: &ConfirmationId, now: OffsetDateTime) -> bool {
    if let Err(e) = deps.queue.enqueue_confirmation(id).await {
        tracing::warn!(confirmation_id = %id, error = %e, "confirmation not queued; the scheduled run retries");
        return false;
    }
    let requeue_at = now + deps.config.job_requeue_after;
    if let Err(e) = deps.confirmations.mark_queued(id, requeue_at).await {
        tracing::warn!(confirmation_id = %id, error = %e, "queued but not marked; it may be queued again (sent once)");
    }
    true
}

/// The scheduled run's part, until `stop_at`: queues every confirmation the order's own
/// request could not; then hands over again every queued one that no delivery settled by its
/// requeue time (its job was dead-lettered or lost), or, once it was handed over
/// `job_max_queueings` times, records it failed with the CONFIRMATION_DEAD_LETTERED alarm.
pub async fn queue_unqueued(
    deps: &Deps,
    now: OffsetDateTime,
    stop_at: OffsetDateTime,
) -> Result<QueueRun, StoreError> {
    let mut run = QueueRun::default();
    let unqueued = walk_pages(
        stop_at,
        async |cursor| deps.confirmations.unqueued(PAGE_SIZE, cursor).await,
        async |confirmations| {
            for confirmation in &confirmations {
                if hand_to_queue(deps, &confirmation.confirmation_id, now).await {
                    run.queued += 1;
                } else {
                    run.failed += 1;
                }
            }
        },
    )
    .await?;
    if unqueued == Walk::OutOfTime {
        run.unfinished = true;
        return Ok(run);
    }
    let stale = walk_pages(
        stop_at,
        async |cursor| deps.confirmations.stale_queued(now, PAGE_SIZE, cursor).await,
        async |stale_ones| {
            for stale in &stale_ones {
                let id = &stale.job.confirmation_id;
                // The index lags the table: a consistent read says whether it is still queued.
                match deps.confirmations.get(id).await {
                    Ok(Some((_, ConfirmationStatus::Queued))) => {}
                    Ok(_) => continue,
                    Err(e) => {
                        tracing::warn!(confirmation_id = %id, error = %e, "confirmation unreadable; left for the next run");
                        run.failed += 1;
                        continue;
                    }
                }
                if stale.queueings >= deps.config.job_max_queueings {
                    match give_up_dead_lettered(deps, stale, now).await {
                        Ok(true) => run.dead_lettered += 1,
                        Ok(false) => {}
                        Err(e) => {
                            tracing::warn!(confirmation_id = %id, error = %e, "dead-lettered confirmation not recorded; left for the next run");
                            run.failed += 1;
                        }
                    }
                    continue;
                }
                tracing::warn!(confirmation_id = %id, queueings = stale.queueings, "confirmation still queued at its requeue time (its job was dead-lettered or lost); queued again");
                if hand_to_queue(deps, id, now).await {
                    run.requeued += 1;
                } else {
                    run.failed += 1;
                }
            }
        },
    )
    .await?;
    run.unfinished = stale == Walk::OutOfTime;
    Ok(run)
}

/// Records a confirmation failed whose job was handed to the queue as often as allowed
/// without any delivery settling it; claimed first, so a dispatcher posting it now wins.
async fn give_up_dead_lettered(
    deps: &Deps,
    stale: &Stale<Confirmation>,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let confirmation = &stale.job;
    let id = &confirmation.confirmation_id;
    let until = now + deps.config.invoice_timeout * 2 + CLAIM_MARGIN;
    if !deps.confirmations.claim(id, now, until).await? {
        return Ok(false);
    }
    let text = clip(&format!(
        "the confirmation job was handed to the queue {} times and no delivery settled it \
         (each ended in the dead-letter queue or was lost); not queued again. Look at the Ariba \
         Network's answers and the dead-letter queue before confirming this order by hand",
        stale.queueings
    ));
    tracing::error!(org_id = %confirmation.org_id, order_id = %confirmation.order_id, confirmation_id = %id, queueings = stale.queueings, "CONFIRMATION_DEAD_LETTERED: {text}");
    let outcome = ConfirmationOutcome {
        status: ConfirmationStatus::Failed,
        payload_id: payload_id(&deps.config, id),
        code: None,
        text,
        at: now,
    };
    deps.confirmations.record_outcome(id, &outcome).await
}

fn retry(id: &ConfirmationId, reason: String) -> JobOutcome {
    tracing::warn!(confirmation_id = %id, %reason, "confirmation not delivered; the queue retries it");
    JobOutcome::KeepForRetry(reason)
}

/// Sends one queued confirmation, unless its status says that is done.
pub async fn dispatch(deps: &Deps, id: &ConfirmationId, delivery: Delivery) -> JobOutcome {
    let now = delivery.now;
    tracing::Span::current().record("confirmation_id", id.as_str());
    let (confirmation, status) = match deps.confirmations.get(id).await {
        Ok(Some(found)) => found,
        // Confirmations are written with their order before any job is queued.
        Ok(None) => {
            tracing::error!(confirmation_id = %id, "CONFIRMATION_JOB_UNKNOWN: no such confirmation in the table");
            return JobOutcome::KeepForRetry(format!("confirmation {id} is not in the table"));
        }
        Err(e) => return retry(id, format!("storage failed: {e}")),
    };
    let span = tracing::Span::current();
    span.record("org_id", confirmation.org_id.as_str());
    span.record("order_id", confirmation.order_id.as_str());
    if status.is_final() {
        tracing::info!(confirmation_id = %id, status = status.as_str(), "confirmation already settled; job acknowledged without sending");
        return JobOutcome::Done;
    }
    let network = match deps.ariba_network.current().await {
        Ok(Some(network)) => network,
        // Our configuration, not the buyer's: keep the job until the account can be read.
        Ok(None) => {
            tracing::error!(confirmation_id = %id, "ARIBA_NETWORK_NOT_CONFIGURED: confirmations cannot be signed");
            return JobOutcome::KeepForRetry("the Ariba Network account is not configured".into());
        }
        Err(e) => return retry(id, format!("the Ariba Network account is unreadable: {e}")),
    };
    let doc = document(&deps.config, &network, &confirmation);
    // During a rotation a refused secret is tried once more with the previous one, so the
    // claim covers two posts.
    let posts = if network.signing_with_previous().is_some() {
        2
    } else {
        1
    };
    let until = now + deps.config.invoice_timeout * posts + CLAIM_MARGIN;
    match deps.confirmations.claim(id, now, until).await {
        Ok(true) => {}
        Ok(false) => {
            return JobOutcome::KeepForRetry(format!(
                "confirmation {id} is being sent by another delivery of the job"
            ));
        }
        Err(e) => return retry(id, format!("storage failed: {e}")),
    }
    let outcome = send(deps, &network, &confirmation, &doc, delivery).await;
    if let JobOutcome::KeepForRetry(_) = outcome
        && let Err(e) = deps.confirmations.release(id, until).await
    {
        tracing::warn!(confirmation_id = %id, error = %e, "claim not released; the retry waits for it to lapse");
    }
    outcome
}

/// Posts the document to the Network, and logs it with the Network's answer in the
/// organisation's message log. The document carries the shared secret: it is sent, and
/// logged only masked.
async fn post(
    deps: &Deps,
    confirmation: &Confirmation,
    doc: &Cxml,
) -> Result<(u16, String), SendError> {
    let xml = cxml::to_xml(doc);
    let at = OffsetDateTime::now_utc();
    let posted = deps
        .invoice_sender
        .post(
            &deps.config.ariba_network_url,
            xml.clone(),
            deps.config.invoice_timeout,
        )
        .await;
    let (code, text) = message_log::posted_status(&posted);
    let exchange = Exchange::outbound(&confirmation.org_id, doc, confirmation.order_id.as_str());
    message_log::record(deps, &exchange.answered(at, code, &text, &xml)).await;
    posted
}

/// The Network's status for a supplier whose secret it does not accept.
const UNAUTHORIZED: u16 = 401;

async fn send(
    deps: &Deps,
    network: &AribaNetwork,
    confirmation: &Confirmation,
    doc: &Cxml,
    delivery: Delivery,
) -> JobOutcome {
    let id = &confirmation.confirmation_id;
    let mut posted = post(deps, confirmation, doc).await;
    let mut doc = doc.clone();
    // A rotation under way: the secret changed here first and Ariba still holds the previous
    // one. A 401 means the Network took nothing, so the same document (same payloadID) signed
    // with the previous secret can follow at once.
    if let Ok((http, body)) = &posted
        && matches!(
            read_answer(*http, body),
            Answer::Refused {
                code: UNAUTHORIZED,
                ..
            }
        )
        && let Some(previous) = network.signing_with_previous()
    {
        tracing::warn!(confirmation_id = %id, "the Ariba Network refused the current secret; sending once more with the previous one (a rotation is under way)");
        doc = document(&deps.config, &previous, confirmation);
        posted = post(deps, confirmation, &doc).await;
    }
    let doc = &doc;
    let (status, code, text) = match posted {
        Ok((http, body)) => match read_answer(http, &body) {
            Answer::Accepted { code, text } => (ConfirmationStatus::Confirmed, Some(code), text),
            Answer::Refused { code, text } => {
                let text = if delivery.is_retry() {
                    format!(
                        "delivery {} of confirmation {id}: an earlier delivery got no final answer and may have reached the Network. The Network's answer: {text}",
                        delivery.receive_count
                    )
                } else {
                    text
                };
                (ConfirmationStatus::Failed, Some(code), text)
            }
            Answer::Retry(reason) => return retry(id, reason),
        },
        Err(SendError::Invalid(reason)) => (
            ConfirmationStatus::Failed,
            None,
            format!("the Ariba Network URL is unusable: {reason}"),
        ),
        Err(e) => return retry(id, e.to_string()),
    };
    let text = clip(&text);
    if status == ConfirmationStatus::Failed {
        tracing::error!(org_id = %confirmation.org_id, order_id = %confirmation.order_id, confirmation_id = %id, code, reason = %text, "CONFIRMATION_PERMANENT_FAILURE: the Ariba Network refused the order confirmation; not retried");
    } else {
        tracing::info!(org_id = %confirmation.org_id, order_id = %confirmation.order_id, confirmation_id = %id, code, "order confirmation accepted by the Ariba Network");
    }
    let outcome = ConfirmationOutcome {
        status,
        payload_id: doc.payload_id.clone(),
        code,
        text,
        at: delivery.now,
    };
    match deps.confirmations.record_outcome(id, &outcome).await {
        Ok(_) => JobOutcome::Done,
        Err(e) => retry(id, format!("storage failed: {e}")),
    }
}
