//! Invoices: each charge of an agreement becomes one cXML InvoiceDetailRequest, POSTed to the
//! buyer's invoice URL once it is due.
//!
//! Exactly once per charge, as far as the buyer can tell: the invoiceID and payloadID are
//! derived from the charge ID, so a retry resends the same invoice rather than a second one,
//! and the charge's status in the table (scheduled, queued, then invoiced, failed or skipped)
//! makes a redelivered job a no-op. A buyer's refusal (4xx) is final and raises the
//! `INVOICE_PERMANENT_FAILURE` alarm; a 5xx, a timeout or a broken connection leaves the job
//! on the queue, which redelivers it after the visibility timeout and dead-letters it after
//! maxReceiveCount.

use cxml::{
    Charge, Credential, Cxml, DeploymentMode, Description, Header, InvoiceDate, InvoiceDetailItem,
    InvoiceDetailOrder, InvoiceDetailRequest, InvoiceDetailRequestHeader, InvoiceDetailSummary,
    Money, OrderReference, RequestPayload, SharedSecret,
};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::{Duration, OffsetDateTime};

use crate::config::Config;
use crate::deadline::{Walk, walk_pages};
use crate::delivery::{
    Answer, CLAIM_MARGIN, Delivery, InvoiceMessage, JobOutcome, QueueRun, clip, read_answer,
};
use crate::ids::{ChargeId, OrgId};
use crate::message_log::{self, Exchange};
use crate::model::{ChargeOutcome, ChargeStatus, Integration, InvoiceJob};
use crate::ports::{Deps, SendError, Stale, StoreError};

const USER_AGENT: &str = "Software Marketplace procurement invoicing 1.0";
/// A job this far ahead of its due date was not queued by us: leave it to the scheduled run.
const EARLY_TOLERANCE: Duration = Duration::hours(1);
/// Page size of the scheduled run's walk over due charges.
const PAGE_SIZE: usize = 100;

/// The shared secret the marketplace presents (Sender credential) on invoices to `org_id`,
/// in the derivation `version` the organisation's integration is on
/// ([`Integration::invoice_secret_version`]):
///
/// - version 1 (every integration stored before versions existed):
///   hex(HMAC-SHA256(key, "invoice:" + org_id)), the secret those buyers were shown;
/// - version n > 1: hex(HMAC-SHA256(key, "invoice-v<n>:" + org_id)). The version ends at the
///   first `:`, so no organisation ID and version can produce another's message.
///
/// The key is the deployment's invoice key, read from Secrets Manager at cold start (never an
/// environment variable). Derived rather than stored: the table keeps only a digest of the
/// buyer's punchout secret, which cannot be presented, and a derived secret needs no storage
/// and is the same in every function that knows the key; bumping one organisation's version
/// rotates its secret alone. None when the key is not known (or the version is 0).
pub fn invoice_secret(config: &Config, org_id: &OrgId, version: u32) -> Option<SharedSecret> {
    let key = config.invoice_secret_key.as_ref()?;
    // HMAC takes keys of any length; this never fails.
    let mut mac = Hmac::<Sha256>::new_from_slice(key.expose().as_bytes()).ok()?;
    match version {
        0 => return None,
        1 => mac.update(b"invoice:"),
        n => mac.update(format!("invoice-v{n}:").as_bytes()),
    }
    mac.update(org_id.as_str().as_bytes());
    Some(SharedSecret::new(cxml::payload::hex(
        &mac.finalize().into_bytes(),
    )))
}

/// The invoice secret an integration's invoices present now.
pub fn invoice_secret_of(config: &Config, integration: &Integration) -> Option<SharedSecret> {
    invoice_secret(
        config,
        &integration.org_id,
        integration.invoice_secret_version,
    )
}

/// The derivation of integrations stored before versions existed (and of new ones).
pub fn first_invoice_secret_version() -> u32 {
    1
}

pub fn is_first_invoice_secret_version(version: &u32) -> bool {
    *version == first_invoice_secret_version()
}

/// Coupa: "invoice numbers are at most 40 characters" (Compass "cXML Invoices"; a longer
/// or reused one is refused with 417, "Invoice cXML Transmission Error Codes").
pub const MAX_INVOICE_NUMBER_CHARS: usize = 40;

/// The invoiceID of a charge: the number fixed when it was created, the same on every
/// attempt; charges stored before numbers were fixed keep their charge ID (what an earlier
/// attempt may already have sent).
pub fn invoice_id(job: &InvoiceJob) -> String {
    job.invoice_number
        .clone()
        .unwrap_or_else(|| job.charge_id.to_string())
}

/// The invoice number of a charge: readable for an accounts-payable clerk and unique per
/// supplier, from the PO number, the PO line and the installment: `<PO>-<line>` for a one-off
/// charge, `<PO>-<line>-<n>` for installment n. A PO number too long for that keeps its
/// start and gets a digest of the charge ID (`<PO start>~<8 hex>-<line>[-<n>]`), so the
/// number stays within 40 characters and unique.
pub fn invoice_number(
    po_number: &str,
    po_line: u32,
    installment: Option<(u32, u32)>,
    charge_id: &ChargeId,
) -> String {
    let po: String = po_number
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let suffix = match installment {
        Some((n, _)) => format!("-{po_line}-{n}"),
        None => format!("-{po_line}"),
    };
    let plain = format!("{po}{suffix}");
    if plain.chars().count() <= MAX_INVOICE_NUMBER_CHARS {
        return plain;
    }
    use sha2::Digest;
    let digest = cxml::payload::hex(&Sha256::digest(charge_id.as_str().as_bytes()));
    let tag = format!("~{}", &digest[..8]);
    let room = MAX_INVOICE_NUMBER_CHARS.saturating_sub(tag.len() + suffix.chars().count());
    let start: String = po.chars().take(room).collect();
    let number = format!("{start}{tag}{suffix}");
    if number.chars().count() <= MAX_INVOICE_NUMBER_CHARS {
        number
    } else {
        digest[..MAX_INVOICE_NUMBER_CHARS].to_string()
    }
}

/// An amount rounded half-even ("banker's rounding") to its currency's minor unit.
pub fn round_half_even(m: &Money) -> Money {
    let dp = m.currency.minor_units();
    let mut amount = m
        .amount
        .round_dp_with_strategy(dp, rust_decimal::RoundingStrategy::MidpointNearestEven);
    amount.rescale(dp);
    Money::new(amount, m.currency.clone())
}

/// Decimals of an installment's share of a PO line's quantity: enough that share x unit
/// price comes back to the installment's amount for any price below 10^8.
const SHARE_DECIMALS: u32 = 10;

/// Each installment of `amounts` as its share of the one PO line: (quantity, amount). Every
/// amount but the last is rounded half-even; the last is what is left of the line's total,
/// and its quantity what is left of the line's quantity, so together they invoice exactly
/// the line, never more (Coupa allows fractional quantities on an invoice line).
pub fn installment_shares(
    line: &crate::model::QuoteLine,
    amounts: &[rust_decimal::Decimal],
) -> Vec<(rust_decimal::Decimal, Money)> {
    use rust_decimal::Decimal;
    let currency = line.unit_price.currency.clone();
    let price = line.unit_price.amount;
    let total = round_half_even(&Money::new(price * line.quantity, currency.clone())).amount;
    let count = amounts.len();
    let mut shares = Vec::with_capacity(count);
    let (mut quantity_left, mut amount_left) = (line.quantity, total);
    for (i, raw) in amounts.iter().enumerate() {
        if i + 1 == count {
            shares.push((
                quantity_left.normalize(),
                Money::new(amount_left, currency.clone()),
            ));
            break;
        }
        let amount = round_half_even(&Money::new(*raw, currency.clone())).amount;
        let quantity = if price.is_zero() {
            line.quantity / Decimal::from(count)
        } else {
            amount / price
        }
        .round_dp(SHARE_DECIMALS)
        .normalize();
        quantity_left -= quantity;
        amount_left -= amount;
        shares.push((quantity, Money::new(amount, currency.clone())));
    }
    shares
}

/// The payloadID of a charge's invoice: stable, so the buyer recognises a resend.
pub fn invoice_payload_id(config: &Config, charge_id: &ChargeId) -> String {
    format!("{charge_id}.invoice@{}", config.payload_host())
}

/// The InvoiceDetailRequest for one charge, as Coupa takes it (Compass "cXML Invoices",
/// "Sample cXML Invoice with Payment Terms", "Sample cXML Invoices with Taxes (PO-backed)",
/// "Selecting Your Remit-To Address"): one line against the PO line with its part number,
/// auxiliary ID, UOM and description; the payment term in the header; the organisation's
/// tax as a TaxDetail; its remit-to; a summary that adds up (subtotal + tax = net = due).
/// Refuses (with the reason) a charge it cannot invoice.
pub fn build_invoice(
    config: &Config,
    integration: &Integration,
    job: &InvoiceJob,
    secret: &SharedSecret,
    now: OffsetDateTime,
) -> Result<Cxml, String> {
    use cxml::{IdReference, InvoicePartner, ItemId, PostalAddress, TaxDetail};
    let po_number = job.order_id.as_str().trim();
    if po_number.is_empty() {
        return Err("the charge has no purchase order number".into());
    }
    if job.charge_id.as_str().trim().is_empty() {
        return Err("the charge has no ID".into());
    }
    if !job.amount.currency.is_iso() {
        return Err(format!(
            "currency {} is not an ISO 4217 code",
            job.amount.currency
        ));
    }
    let amount = round_half_even(&job.amount);
    if amount.amount <= rust_decimal::Decimal::ZERO {
        return Err(format!(
            "amount {amount} is not positive: nothing to invoice"
        ));
    }
    let invoice_id = invoice_id(job);
    if invoice_id.chars().count() > MAX_INVOICE_NUMBER_CHARS {
        return Err(format!(
            "invoice number {invoice_id} is longer than Coupa's {MAX_INVOICE_NUMBER_CHARS} characters"
        ));
    }
    let defaults = crate::integration::InvoiceSettings::default();
    let settings = integration.settings.invoicing().unwrap_or(&defaults);
    let currency = amount.currency.clone();
    let charge_text = match job.description.trim() {
        "" => format!("Charge {}", job.charge_id),
        text => text.to_string(),
    };
    let item = match &job.line {
        Some(line) => InvoiceDetailItem {
            invoice_line_number: 1,
            quantity: line.quantity,
            unit_of_measure: match line.unit_of_measure.trim() {
                "" => "EA".to_string(),
                uom => uom.to_string(),
            },
            unit_price: line.unit_price.clone(),
            reference_line_number: job.po_line_number.unwrap_or(1),
            item_id: Some(ItemId {
                supplier_part_id: line.supplier_part_id.clone(),
                supplier_part_auxiliary_id: line.supplier_part_auxiliary_id.clone(),
                buyer_part_id: None,
            }),
            description: Some(Description::new(
                "en",
                match line.description.trim() {
                    "" => charge_text,
                    text => text.to_string(),
                },
            )),
            subtotal: Some(amount.clone()),
            tax: None,
        },
        // A charge stored before its PO line was recorded: one unit at its amount.
        None => InvoiceDetailItem {
            invoice_line_number: 1,
            quantity: rust_decimal::Decimal::ONE,
            unit_of_measure: "EA".into(),
            unit_price: amount.clone(),
            reference_line_number: job.po_line_number.unwrap_or(1),
            item_id: None,
            description: Some(Description::new("en", charge_text)),
            subtotal: Some(amount.clone()),
            tax: None,
        },
    };
    // Compass "Sample cXML Invoices with Taxes (PO-backed)": category and percentage must
    // match a tax code set up in Coupa; a zero rate is written too (zero-rated).
    let (tax, tax_details) = match &settings.tax {
        Some(t) => {
            let tax = round_half_even(&Money::new(
                amount.amount * t.rate_percent / rust_decimal::Decimal::ONE_HUNDRED,
                currency.clone(),
            ));
            let text = t
                .description
                .clone()
                .unwrap_or_else(|| format!("{} {}%", t.category, t.rate_percent.normalize()));
            let detail = TaxDetail {
                category: t.category.clone(),
                percentage_rate: Some(t.rate_percent),
                exempt_detail: t.rate_percent.is_zero().then(|| "zeroRated".to_string()),
                taxable: Some(amount.clone()),
                tax: tax.clone(),
                description: Some(Description::new("en", text.clone())),
            };
            (
                Charge {
                    money: tax,
                    description: Description::new("en", text),
                },
                vec![detail],
            )
        }
        None => (
            Charge {
                money: round_half_even(&Money::zero(currency.clone())),
                description: Description::new("en", "No tax charged"),
            },
            Vec::new(),
        ),
    };
    let net = Money::new(amount.amount + tax.money.amount, currency.clone());
    // Compass "Selecting Your Remit-To Address": the remitTo partner, its remit-to code as
    // addressID, the supplier's tax id as IdReference taxPrefix / taxNumber.
    let partners = settings
        .remit_to
        .iter()
        .map(|r| InvoicePartner {
            role: "remitTo".into(),
            address_id: r.code.clone(),
            name: r.name.clone(),
            name_lang: "en".into(),
            postal: Some(PostalAddress {
                name: Some("default".into()),
                deliver_to: Vec::new(),
                street: r.street.clone(),
                city: r.city.clone(),
                state: r.state.clone(),
                postal_code: r.postal_code.clone(),
                country: r.country.clone().unwrap_or_else(|| r.country_code.clone()),
                country_code: r.country_code.clone(),
            }),
            id_references: settings
                .supplier_tax_id
                .iter()
                .flat_map(|t| {
                    t.prefix
                        .iter()
                        .map(|p| IdReference {
                            domain: "taxPrefix".into(),
                            identifier: p.clone(),
                        })
                        .chain(std::iter::once(IdReference {
                            domain: "taxNumber".into(),
                            identifier: t.number.clone(),
                        }))
                })
                .collect(),
        })
        .collect();
    let invoice = InvoiceDetailRequest {
        header: InvoiceDetailRequestHeader {
            invoice_id,
            purpose: "standard".into(),
            operation: "new".into(),
            invoice_date: InvoiceDate::At(job.due.to_offset(time::UtcOffset::UTC)),
            is_tax_in_line: false,
            // Compass "Sample cXML Invoice with Payment Terms": required since R12, a
            // supplier record without a default term answers 417 otherwise.
            pay_in_number_of_days: Some(settings.payment_term_days),
            partners,
            // R30 and newer: the payment-term code as the PaymentTermCode extrinsic.
            extrinsics: settings
                .payment_term_code
                .iter()
                .map(|code| cxml::Extrinsic::new("PaymentTermCode", code.clone()))
                .collect(),
        },
        orders: vec![InvoiceDetailOrder {
            // Coupa matches an invoice to its PO by the PO number in DocumentReference.
            reference: OrderReference {
                kind: "OrderReference".into(),
                order_id: Some(po_number.to_string()),
                document_payload_id: po_number.to_string(),
            },
            items: vec![item],
        }],
        summary: InvoiceDetailSummary {
            subtotal: amount.clone(),
            tax: Some(tax),
            tax_details,
            special_handling: None,
            shipping: None,
            gross: None,
            // Nothing discounted, nothing paid in advance: net and due are subtotal + tax.
            net: Some(net.clone()),
            due: Some(net),
        },
    };
    let supplier = Credential::new(&config.supplier_domain, &config.supplier_identity);
    let mut sender = supplier.clone();
    sender.shared_secret = Some(secret.clone());
    // Coupa's "cXML Invoice Buyer Domain/Identity", else the punchout buyer credential.
    let to = match (&settings.to_domain, &settings.to_identity) {
        (Some(domain), Some(identity)) => Credential::new(domain, identity),
        _ => {
            let buyer = integration.buyer();
            Credential::new(buyer.domain, buyer.identity)
        }
    };
    let header = Header {
        from: vec![supplier],
        to: vec![to],
        sender: vec![sender],
        user_agent: USER_AGENT.into(),
    };
    let mut doc = Cxml::request(
        config.payload_host(),
        header,
        DeploymentMode::Production,
        RequestPayload::InvoiceDetail(invoice),
    );
    doc.payload_id = invoice_payload_id(config, &job.charge_id);
    doc.timestamp = now;
    Ok(doc)
}

/// Handles one invoice message of the invoice queue: the charge it names, as stored.
pub async fn dispatch(deps: &Deps, body: &str, delivery: Delivery) -> JobOutcome {
    match serde_json::from_str::<InvoiceMessage>(body) {
        Ok(message) => dispatch_charge(deps, &message.charge_id, delivery).await,
        Err(e) => {
            tracing::error!(error = %e, "INVOICE_JOB_MALFORMED: message is not an invoice job");
            JobOutcome::KeepForRetry(format!("not an invoice job: {e}"))
        }
    }
}

/// Invoices the stored charge of this job (the job's other fields are not read).
pub async fn dispatch_job(deps: &Deps, job: &InvoiceJob, delivery: Delivery) -> JobOutcome {
    dispatch_charge(deps, &job.charge_id, delivery).await
}

/// Invoices one charge as stored, unless its status says that is done (or must not be done).
pub async fn dispatch_charge(deps: &Deps, charge_id: &ChargeId, delivery: Delivery) -> JobOutcome {
    let now = delivery.now;
    let span = tracing::Span::current();
    span.record("charge_id", charge_id.as_str());
    let (job, status) = match deps.charges.get(charge_id).await {
        Ok(Some(found)) => found,
        // Charges are written with their order before any job is queued: a job without
        // one is not ours to send. The dead-letter queue keeps it for a look.
        Ok(None) => {
            tracing::error!(%charge_id, "INVOICE_JOB_UNKNOWN_CHARGE: no such charge in the table");
            return JobOutcome::KeepForRetry(format!("charge {charge_id} is not in the table"));
        }
        Err(e) => {
            tracing::warn!(%charge_id, error = %e, "invoice not delivered; the queue retries it");
            return JobOutcome::KeepForRetry(format!("storage failed: {e}"));
        }
    };
    span.record("org_id", job.org_id.as_str());
    span.record("order_id", job.order_id.as_str());
    let job = &job;
    if status.is_final() {
        tracing::info!(
            %charge_id,
            status = status.as_str(),
            "charge already settled; job acknowledged without sending"
        );
        return JobOutcome::Done;
    }
    if status == ChargeStatus::Scheduled && job.due > now + EARLY_TOLERANCE {
        tracing::info!(%charge_id, due = %cxml::format_timestamp(job.due), "charge not due yet; the scheduled run queues it on its date");
        return JobOutcome::Done;
    }
    let integration = match deps.integrations.get(&job.org_id).await {
        Ok(Some(integration)) => integration,
        Ok(None) => {
            return refused(
                deps,
                job,
                None,
                None,
                "the organisation has no procurement integration",
                now,
            )
            .await;
        }
        Err(e) => return storage_failed(job, &e),
    };
    // Charges are written for production orders only (a test order creates none), so this
    // charge is owed an invoice whatever the switch says now. An admin who turns test mode on
    // for an afternoon must not make it `skipped` for good: it waits, scheduled again, and the
    // scheduled run queues it once more on each run until test mode is off.
    if integration.test_mode() {
        tracing::error!(org_id = %job.org_id, order_id = %job.order_id, %charge_id, "INVOICE_WAITING_TEST_MODE: the invoice of a production order is due but the integration is in test mode; it waits until test mode is off");
        return match deps.charges.reschedule(job).await {
            Ok(_) => JobOutcome::Done,
            Err(e) => storage_failed(job, &e),
        };
    }
    let Some(url) = integration
        .settings
        .invoice_url()
        .map(str::trim)
        .filter(|u| !u.is_empty())
    else {
        return refused(
            deps,
            job,
            None,
            None,
            "the integration has no invoice URL",
            now,
        )
        .await;
    };
    let Some(secret) = invoice_secret_of(&deps.config, &integration) else {
        // Our configuration, not the buyer's: keep the job until the invoice key can be read
        // (a later delivery may land on an instance that read it).
        tracing::error!(
            %charge_id,
            "INVOICE_SECRET_KEY_MISSING: invoices cannot be signed (the invoice key secret was not read at cold start)"
        );
        return JobOutcome::KeepForRetry("the invoice key is not known".into());
    };
    let doc = match build_invoice(&deps.config, &integration, job, &secret, now) {
        Ok(doc) => doc,
        Err(reason) => {
            return refused(
                deps,
                job,
                None,
                None,
                &format!("invoice not built: {reason}"),
                now,
            )
            .await;
        }
    };
    // SQS may hand the same job to two instances at once (at-least-once delivery, or a
    // charge queued twice): only the one holding the claim posts the invoice.
    let until = now + deps.config.invoice_timeout + CLAIM_MARGIN;
    match deps.charges.claim(charge_id, now, until).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::info!(
                %charge_id,
                "charge settled or being sent by another delivery; this one waits"
            );
            // Settled: the next delivery is acknowledged; still being sent: it checks again.
            return JobOutcome::KeepForRetry(format!(
                "charge {charge_id} is being invoiced by another delivery of the job"
            ));
        }
        Err(e) => return storage_failed(job, &e),
    }
    let outcome = send_invoice(deps, job, url, &doc, delivery).await;
    if let JobOutcome::KeepForRetry(_) = outcome {
        // Not settled: let the queue's next delivery send it without waiting for the claim.
        if let Err(e) = deps.charges.release(charge_id, until).await {
            tracing::warn!(%charge_id, error = %e, "claim not released; the retry waits for it to lapse");
        }
    }
    outcome
}

/// Posts the invoice and settles the charge by the buyer's answer (or leaves it for a retry).
async fn send_invoice(
    deps: &Deps,
    job: &InvoiceJob,
    url: &str,
    doc: &Cxml,
    delivery: Delivery,
) -> JobOutcome {
    let now = delivery.now;
    let charge_id = &job.charge_id;
    let payload_id = doc.payload_id.clone();
    // The document carries the shared secret: it is sent, and logged only masked.
    let xml = cxml::to_xml(doc);
    let exchange = Exchange::outbound(&job.org_id, doc, job.order_id.as_str());
    let sent_at = OffsetDateTime::now_utc();
    let posted = deps
        .invoice_sender
        .post(url, xml.clone(), deps.config.invoice_timeout)
        .await;
    let (code, text) = message_log::posted_status(&posted);
    message_log::record(deps, &exchange.answered(sent_at, code, &text, &xml)).await;
    match posted {
        Ok((http, body)) => match read_coupa_answer(http, &body) {
            Answer::Accepted { code, text } => {
                tracing::info!(org_id = %job.org_id, order_id = %job.order_id, %charge_id, code, %text, "invoice accepted by the buyer");
                let outcome = ChargeOutcome {
                    status: ChargeStatus::Invoiced,
                    invoice_id: Some(invoice_id(job)),
                    payload_id: Some(payload_id),
                    code: Some(code),
                    text,
                    at: now,
                };
                record(deps, job, &outcome).await
            }
            Answer::Refused { code, text } => {
                let text = refusal_text(job, &text, delivery);
                refused(deps, job, Some(code), Some(payload_id), &text, now).await
            }
            // Coupa answers 500 "Unexpected server error" also for some validation failures
            // (Compass "Unexpected server error"): retried, but a bounded number of times,
            // then recorded failed with Coupa's text. An outage (502, 503, 504) or throttling
            // (408, 429) is not a verdict on the invoice: retried until the dead-letter queue.
            Answer::Retry(reason)
                if !outage(http) && delivery.receive_count >= SERVER_ERROR_ATTEMPTS =>
            {
                let text = format!(
                    "{reason} (answered on {} deliveries; Coupa answers 500 also for some validation failures, so it is not retried further)",
                    delivery.receive_count
                );
                refused(deps, job, Some(http), Some(payload_id), &text, now).await
            }
            Answer::Retry(reason) => retry(job, reason),
        },
        Err(SendError::Invalid(reason)) => {
            refused(
                deps,
                job,
                None,
                None,
                &format!("invoice URL unusable: {reason}"),
                now,
            )
            .await
        }
        Err(e) => retry(job, e.to_string()),
    }
}

/// HTTP statuses that say the buyer's system is unavailable or busy, not what it thinks of
/// the invoice (RFC 9110 §15.6.3–15.6.5, §15.5.9; RFC 6585 §4).
fn outage(http: u16) -> bool {
    matches!(http, 408 | 429 | 502 | 503 | 504)
}

/// Deliveries of one invoice that may meet a server error (500 and other 5xx but an outage's,
/// or a 2xx that is not a cXML Response) before it is recorded failed. Below the queue's maxReceiveCount
/// (template default 5), so the text is recorded before SQS dead-letters the job.
pub const SERVER_ERROR_ATTEMPTS: u32 = 3;

/// Coupa's answer to an invoice, classified as Coupa documents it (Compass "Invoice cXML
/// Transmission Error Codes", "cXML Error Handling"): a cXML Status 200 or 201 is accepted;
/// 401 (credentials), 403, 406, 417 (invalid document, reused number, missing payment term)
/// and other 4xx are final refusals; 5xx, 408 and 429 are retried; a 2xx that is not a cXML
/// Response with status 200 or 201 is not taken as invoiced (retried, then failed).
pub fn read_coupa_answer(http: u16, body: &str) -> Answer {
    let is_response = cxml::parse(body.as_bytes())
        .map(|doc| matches!(doc.body, cxml::Body::Response(_)))
        .unwrap_or(false);
    match read_answer(http, body) {
        Answer::Accepted { code, text } if is_response && matches!(code, 200 | 201) => {
            Answer::Accepted { code, text }
        }
        Answer::Accepted { code, text } => Answer::Retry(format!(
            "HTTP {http}, status {code}: not an accepted cXML Response (200 or 201): {text}"
        )),
        other => other,
    }
}

/// What is recorded of a buyer's refusal. On a retried delivery an earlier POST may have
/// reached the buyer with its answer lost (a timeout), so a "duplicate invoice" refusal can
/// mean the invoice is already there: the record says so first, for whoever follows up the
/// alarm (the buyer's text after it may be clipped, this note is not).
fn refusal_text(job: &InvoiceJob, text: &str, delivery: Delivery) -> String {
    if !delivery.is_retry() {
        return text.to_string();
    }
    format!(
        "delivery {} of invoice {}: an earlier delivery got no final answer (5xx, timeout or \
         lost connection) and may have reached the buyer, so check whether the buyer already \
         holds this invoice. The buyer's answer: {text}",
        delivery.receive_count,
        invoice_id(job)
    )
}

fn retry(job: &InvoiceJob, reason: String) -> JobOutcome {
    tracing::warn!(org_id = %job.org_id, charge_id = %job.charge_id, %reason, "invoice not delivered; the queue retries it");
    JobOutcome::KeepForRetry(reason)
}

fn storage_failed(job: &InvoiceJob, e: &StoreError) -> JobOutcome {
    retry(job, format!("storage failed: {e}"))
}

/// A permanent failure: recorded on the charge, logged for the alarm, never retried.
async fn refused(
    deps: &Deps,
    job: &InvoiceJob,
    code: Option<u16>,
    payload_id: Option<String>,
    text: &str,
    now: OffsetDateTime,
) -> JobOutcome {
    let text = clip(text);
    tracing::error!(
        org_id = %job.org_id,
        order_id = %job.order_id,
        charge_id = %job.charge_id,
        code,
        reason = %text,
        "INVOICE_PERMANENT_FAILURE: invoice refused or not sendable; not retried"
    );
    let outcome = ChargeOutcome {
        status: ChargeStatus::Failed,
        invoice_id: payload_id.as_ref().map(|_| invoice_id(job)),
        payload_id,
        code,
        text,
        at: now,
    };
    record(deps, job, &outcome).await
}

async fn record(deps: &Deps, job: &InvoiceJob, outcome: &ChargeOutcome) -> JobOutcome {
    match deps.charges.record_outcome(&job.charge_id, outcome).await {
        Ok(true) => JobOutcome::Done,
        Ok(false) => {
            // Another delivery of the same job settled it first.
            tracing::info!(charge_id = %job.charge_id, "charge was settled meanwhile");
            JobOutcome::Done
        }
        // Unrecorded, the job comes back and the same invoice is sent again: the buyer sees
        // the same invoiceID, so no second invoice arises.
        Err(e) => storage_failed(job, &e),
    }
}

/// The scheduled run's part of invoicing, until `stop_at`: hands every scheduled charge due
/// by `now` to the invoice queue and marks it queued; then hands over again every queued
/// charge that no delivery settled by its requeue time (its job was dead-lettered or lost),
/// or, once it was handed over `job_max_queueings` times, records it failed with the
/// INVOICE_DEAD_LETTERED alarm. Enqueue first, then mark: a charge queued but left unmarked
/// is queued again by the next run, and dispatch sends it once all the same.
pub async fn queue_due_charges(
    deps: &Deps,
    now: OffsetDateTime,
    stop_at: OffsetDateTime,
) -> Result<QueueRun, StoreError> {
    let mut run = QueueRun::default();
    let due = walk_pages(
        stop_at,
        async |cursor| deps.charges.due(now, PAGE_SIZE, cursor).await,
        async |jobs| {
            for job in jobs.iter().filter(|j| j.due <= now) {
                // The index lags the table: a consistent read says whether it is still waiting.
                match deps.charges.status(&job.charge_id).await {
                    Ok(Some(ChargeStatus::Scheduled)) => {}
                    Ok(_) => continue,
                    Err(e) => {
                        tracing::warn!(charge_id = %job.charge_id, error = %e, "charge status unreadable; left for the next run");
                        run.failed += 1;
                        continue;
                    }
                }
                if hand_to_queue(deps, job, now).await {
                    run.queued += 1;
                } else {
                    run.failed += 1;
                }
            }
        },
    )
    .await?;
    if due == Walk::OutOfTime {
        run.unfinished = true;
        return Ok(run);
    }
    let stale = walk_pages(
        stop_at,
        async |cursor| deps.charges.stale_queued(now, PAGE_SIZE, cursor).await,
        async |stale_ones| {
            for stale in &stale_ones {
                let job = &stale.job;
                match deps.charges.status(&job.charge_id).await {
                    Ok(Some(ChargeStatus::Queued)) => {}
                    Ok(_) => continue,
                    Err(e) => {
                        tracing::warn!(charge_id = %job.charge_id, error = %e, "charge status unreadable; left for the next run");
                        run.failed += 1;
                        continue;
                    }
                }
                if stale.queueings >= deps.config.job_max_queueings {
                    match give_up_dead_lettered(deps, stale, now).await {
                        Ok(true) => run.dead_lettered += 1,
                        Ok(false) => {}
                        Err(e) => {
                            tracing::warn!(charge_id = %job.charge_id, error = %e, "dead-lettered charge not recorded; left for the next run");
                            run.failed += 1;
                        }
                    }
                    continue;
                }
                tracing::warn!(
                    charge_id = %job.charge_id,
                    org_id = %job.org_id,
                    order_id = %job.order_id,
                    queueings = stale.queueings,
                    "charge still queued at its requeue time (its job was dead-lettered or lost); queued again"
                );
                if hand_to_queue(deps, job, now).await {
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

/// Hands one charge to the invoice queue and marks it queued; false if SQS refused it.
pub(crate) async fn hand_to_queue(deps: &Deps, job: &InvoiceJob, now: OffsetDateTime) -> bool {
    if let Err(e) = deps.queue.enqueue_invoice(job).await {
        tracing::warn!(charge_id = %job.charge_id, error = %e, "invoice job not queued; the next run retries");
        return false;
    }
    let requeue_at = now + deps.config.job_requeue_after;
    if let Err(e) = deps.charges.mark_queued(&job.charge_id, requeue_at).await {
        // Left as it was: it is queued again later; dispatch is idempotent per charge.
        tracing::warn!(charge_id = %job.charge_id, error = %e, "queued but not marked; it may be queued again (sent once)");
    }
    true
}

/// Records a charge failed whose job was handed to the queue as often as allowed without any
/// delivery settling it. Claimed first, so a dispatcher posting it right now is not overruled;
/// false if one holds it or it was settled meanwhile.
async fn give_up_dead_lettered(
    deps: &Deps,
    stale: &Stale<InvoiceJob>,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let job = &stale.job;
    let until = now + deps.config.invoice_timeout + CLAIM_MARGIN;
    if !deps.charges.claim(&job.charge_id, now, until).await? {
        return Ok(false);
    }
    let text = clip(&format!(
        "the invoice job was handed to the queue {} times and no delivery settled it (each \
         ended in the dead-letter queue or was lost); not queued again. Look at the buyer's \
         invoice endpoint and the dead-letter queue before invoicing this charge by hand",
        stale.queueings
    ));
    tracing::error!(
        org_id = %job.org_id,
        order_id = %job.order_id,
        charge_id = %job.charge_id,
        queueings = stale.queueings,
        "INVOICE_DEAD_LETTERED: {text}"
    );
    let outcome = ChargeOutcome {
        status: ChargeStatus::Failed,
        invoice_id: None,
        payload_id: None,
        code: None,
        text,
        at: now,
    };
    deps.charges.record_outcome(&job.charge_id, &outcome).await
}

#[cfg(test)]
mod tests;
