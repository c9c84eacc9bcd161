//! The message log: for support, each organisation's cXML exchanges of the last
//! [`RETENTION`] (30 days), newest first, readable by its admins through the admin API.
//!
//! What is logged: the documents that came in at the cXML endpoints (PunchOutSetupRequest,
//! ProfileRequest, OrderRequest) once they authenticated to an organisation, with our answer's
//! status; and the documents we posted (InvoiceDetailRequest to the buyer,
//! ConfirmationRequest to the Ariba Network), with the other party's answer. Unauthenticated
//! traffic is never written to an organisation's log: anyone can claim any credential.
//!
//! Each document is kept with every SharedSecret masked ([`cxml::mask_shared_secrets`]) and cut
//! at [`MAX_DOCUMENT_BYTES`] (marked), so a record stays well below DynamoDB's 400 KB item limit
//! even when every character needs JSON escaping.
//!
//! A log write never changes an answer: it is made after the answer is decided, its failure is
//! logged (`MESSAGE_LOG_WRITE_FAILED`) and ignored, and the adapter bounds its wait.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cxml::{Body, Cxml, RequestPayload};
use serde::{Deserialize, Serialize};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::ids::OrgId;
use crate::ports::{Deps, Page, SendError, StoreError};
use crate::refusal::{Refusal, STORAGE_FAILED_TEXT};

/// How long an exchange stays in the log (DynamoDB's TTL removes it afterwards; listings
/// never show an older one, also before the sweep).
pub const RETENTION: Duration = Duration::days(30);
/// The longest document kept, in bytes of UTF-8; longer ones are cut and marked. Even if each
/// byte became a six-byte JSON escape, a record stays below DynamoDB's 400 KB item limit.
pub const MAX_DOCUMENT_BYTES: usize = 48 * 1024;
/// What ends a document that was cut; the whole length follows it.
pub const TRUNCATION_MARK: &str = "\n<!-- message log: document truncated; it had ";
/// The longest payloadID, orderID or message type kept (characters).
pub const MAX_FIELD_CHARS: usize = 256;
/// Page sizes of a listing.
pub const DEFAULT_PAGE: usize = 20;
pub const MAX_PAGE: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Came to us (at the setup or order URL).
    In,
    /// Sent by us (an invoice, an order confirmation).
    Out,
}

/// One logged exchange, as stored and as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedMessage {
    pub org_id: OrgId,
    /// When the document came in or was sent.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Tells apart two exchanges of one organisation at the same instant.
    pub id: String,
    pub direction: Direction,
    pub message_type: String,
    pub payload_id: String,
    pub order_id: Option<String>,
    /// The cXML status of the answer (our answer to a document that came in, the other party's
    /// to one we sent); none when no answer came (timeout, connection failed).
    pub status_code: Option<u16>,
    pub status_text: String,
    /// The document, SharedSecrets masked, cut at [`MAX_DOCUMENT_BYTES`].
    pub document: String,
    /// When DynamoDB's TTL may remove it: `at` + [`RETENTION`].
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// What is known of an exchange before its answer: whose it is and what the document is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub org_id: OrgId,
    pub direction: Direction,
    pub message_type: String,
    pub payload_id: String,
    pub order_id: Option<String>,
}

impl Exchange {
    /// A document that came in and authenticated to `org_id`.
    pub fn inbound(org_id: &OrgId, doc: &Cxml) -> Self {
        let order_id = match &doc.body {
            Body::Request(r) => match &r.payload {
                RequestPayload::Order(order) => Some(order.header.order_id.clone()),
                _ => None,
            },
            _ => None,
        };
        Self {
            org_id: org_id.clone(),
            direction: Direction::In,
            message_type: doc.message_type().to_string(),
            payload_id: doc.payload_id.clone(),
            order_id,
        }
    }

    /// A document we send for `org_id`'s order `order_id`.
    pub fn outbound(org_id: &OrgId, doc: &Cxml, order_id: &str) -> Self {
        Self {
            org_id: org_id.clone(),
            direction: Direction::Out,
            message_type: doc.message_type().to_string(),
            payload_id: doc.payload_id.clone(),
            order_id: Some(order_id.to_string()),
        }
    }

    /// The record of this exchange: the document masked and capped, the fields capped.
    pub fn answered(
        self,
        at: OffsetDateTime,
        status_code: Option<u16>,
        status_text: &str,
        document: &str,
    ) -> LoggedMessage {
        let id = crate::ids::random_hex::<8>()
            .unwrap_or_else(|_| format!("{:016x}", at.unix_timestamp_nanos() as u64));
        LoggedMessage {
            org_id: self.org_id,
            at,
            id,
            direction: self.direction,
            message_type: clip_chars(&self.message_type),
            payload_id: clip_chars(&self.payload_id),
            order_id: self.order_id.as_deref().map(clip_chars),
            status_code,
            status_text: crate::delivery::clip(status_text),
            document: logged_document(document),
            expires_at: at + RETENTION,
        }
    }
}

/// A document as the log keeps it: every SharedSecret masked, then cut at
/// [`MAX_DOCUMENT_BYTES`] (on a character boundary) with [`TRUNCATION_MARK`] and the length.
/// Masking comes first, so a cut can never leave part of a secret behind.
pub fn logged_document(document: &str) -> String {
    let mut masked = cxml::mask_shared_secrets(document);
    if masked.len() > MAX_DOCUMENT_BYTES {
        let whole = masked.len();
        let mut cut = MAX_DOCUMENT_BYTES;
        while !masked.is_char_boundary(cut) {
            cut -= 1;
        }
        masked.truncate(cut);
        masked.push_str(TRUNCATION_MARK);
        masked.push_str(&format!("{whole} bytes -->"));
    }
    masked
}

fn clip_chars(text: &str) -> String {
    match text.char_indices().nth(MAX_FIELD_CHARS) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

/// The text of a document that came in, as the reader decoded it (its declared encoding).
pub fn inbound_text(body: &[u8]) -> String {
    cxml::dom::decode(body, cxml::Limits::default())
        .map(|text| text.into_owned())
        .unwrap_or_else(|_| String::from_utf8_lossy(body).into_owned())
}

/// The status of our answer to a document that came in: what the web layer answers for it.
pub fn answer_status(refusal: &Refusal) -> (u16, String) {
    match refusal {
        Refusal::Rejected(rejection) => (rejection.code, rejection.text.clone()),
        Refusal::Storage(_) => (500, STORAGE_FAILED_TEXT.to_string()),
    }
}

/// The status of a cXML document answered with `doc` (its Response's Status).
pub fn response_status(doc: &Cxml) -> (u16, String) {
    match &doc.body {
        Body::Response(r) => (r.status.code, r.status.text.clone()),
        _ => (200, String::new()),
    }
}

/// The other party's answer to a document we posted: its cXML status (the HTTP status when
/// the answer is no cXML Response), or none and why no answer came.
pub fn posted_status(posted: &Result<(u16, String), SendError>) -> (Option<u16>, String) {
    match posted {
        Ok((http, body)) => match crate::delivery::read_answer(*http, body) {
            crate::delivery::Answer::Accepted { code, text }
            | crate::delivery::Answer::Refused { code, text } => (Some(code), text),
            crate::delivery::Answer::Retry(reason) => {
                let code = cxml::parse(body.as_bytes())
                    .ok()
                    .and_then(|doc| match doc.body {
                        Body::Response(r) if *http < 500 => Some(r.status.code),
                        _ => None,
                    })
                    .unwrap_or(*http);
                (Some(code), reason)
            }
        },
        Err(e) => (None, e.to_string()),
    }
}

/// Writes an exchange to its organisation's log. A failure is logged and ignored: the log is
/// for support, and never changes or delays an answer beyond the adapter's bound.
pub async fn record(deps: &Deps, message: &LoggedMessage) {
    if let Err(e) = deps.message_log.record(message).await {
        tracing::warn!(
            org_id = %message.org_id,
            payload_id = %message.payload_id,
            message_type = %message.message_type,
            error = %e,
            "MESSAGE_LOG_WRITE_FAILED: the exchange was handled but is missing from the organisation's message log"
        );
    }
}

/// Logs a document that came in with our answer's status, if it authenticated to an
/// organisation (`exchange` is set once it did); unauthenticated documents are never logged.
pub async fn record_inbound(
    deps: &Deps,
    exchange: Option<Exchange>,
    received: OffsetDateTime,
    body: &[u8],
    (code, text): (u16, String),
) {
    if let Some(exchange) = exchange {
        let message = exchange.answered(received, Some(code), &text, &inbound_text(body));
        record(deps, &message).await;
    }
}

/// A listing's position: just past the message at `at` with `id`. Time-ordered as text
/// (fixed-width UTC with nanoseconds), so storage can keep messages sorted by it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position(String);

const POSITION_TIME: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z");

impl Position {
    pub fn of(message: &LoggedMessage) -> Self {
        Self(format!("{}#{}", Self::time(message.at), message.id))
    }

    /// The position of an instant (before any message of that instant).
    pub fn time(at: OffsetDateTime) -> String {
        let utc = at
            .checked_to_offset(UtcOffset::UTC)
            .unwrap_or(PrimitiveDateTime::MIN.assume_utc());
        utc.format(POSITION_TIME)
            .unwrap_or_else(|_| "0000-01-01T00:00:00.000000000Z".into())
    }

    /// A position as storage keeps it, if it is one.
    pub fn parse(text: &str) -> Option<Self> {
        let (at, id) = text.split_once('#')?;
        PrimitiveDateTime::parse(at, POSITION_TIME).ok()?;
        (!id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Self(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The opaque cursor the admin API hands out for it.
    pub fn cursor(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0.as_bytes())
    }

    /// A cursor the admin API handed out; None for anything else.
    pub fn from_cursor(cursor: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).ok()?;
        Self::parse(std::str::from_utf8(&bytes).ok()?)
    }
}

/// One page of an organisation's log, newest first: at most `limit` messages of the last
/// [`RETENTION`] before `before`; `next` is the cursor of the following page.
pub async fn list(
    deps: &Deps,
    org_id: &OrgId,
    limit: usize,
    before: Option<&Position>,
    now: OffsetDateTime,
) -> Result<Page<LoggedMessage>, StoreError> {
    let page = deps
        .message_log
        .list(org_id, now - RETENTION, limit.clamp(1, MAX_PAGE), before)
        .await?;
    Ok(Page {
        items: page.items,
        next: page
            .next
            .as_deref()
            .and_then(Position::parse)
            .map(|p| p.cursor()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr3t-value";

    fn order_doc(secret: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<cXML payloadID="po-1@buyer.example" timestamp="2026-11-24T09:30:00+00:00"><Header>
<From><Credential domain="DUNS"><Identity>buyer</Identity></Credential></From>
<To><Credential domain="DUNS"><Identity>us</Identity></Credential></To>
<Sender><Credential domain="DUNS"><Identity>buyer</Identity><SharedSecret>{secret}</SharedSecret></Credential><UserAgent>Coupa</UserAgent></Sender>
</Header><Request deploymentMode="production"><OrderRequest><OrderRequestHeader orderID="PO-1" orderDate="2026-11-24T09:30:00+00:00" type="new"><Total><Money currency="USD">1.00</Money></Total></OrderRequestHeader></OrderRequest></Request></cXML>"#
        )
    }

    fn exchange() -> Exchange {
        Exchange {
            org_id: OrgId::from("acme"),
            direction: Direction::In,
            message_type: "OrderRequest".into(),
            payload_id: "po-1@buyer.example".into(),
            order_id: Some("PO-1".into()),
        }
    }

    #[test]
    fn a_logged_document_has_every_shared_secret_masked() {
        let doc = order_doc(SECRET) + &format!("<!-- <SharedSecret>{SECRET}</SharedSecret> -->");
        let logged = exchange().answered(OffsetDateTime::now_utc(), Some(200), "OK", &doc);
        assert!(!logged.document.contains(SECRET), "{}", logged.document);
        assert!(logged.document.contains("<SharedSecret>***</SharedSecret>"));
        assert!(
            logged.document.contains("orderID=\"PO-1\""),
            "the rest is kept"
        );
        assert!(!logged.document.contains(TRUNCATION_MARK));
    }

    #[test]
    fn a_long_document_is_cut_after_masking_and_marked() {
        // A secret straddling the cut: masking first leaves nothing of it.
        let filler = "é".repeat(MAX_DOCUMENT_BYTES / 2 - 10);
        let doc = format!("<cXML>{filler}<SharedSecret>{SECRET}</SharedSecret>{filler}</cXML>");
        let logged = logged_document(&doc);
        assert!(!logged.contains("s3cr"), "no part of the secret");
        let (kept, mark) = logged.split_once(TRUNCATION_MARK).expect("marked as cut");
        assert!(kept.len() <= MAX_DOCUMENT_BYTES);
        assert!(
            kept.len() > MAX_DOCUMENT_BYTES - 4,
            "cut at the cap, on a char boundary"
        );
        let masked_len = cxml::mask_shared_secrets(&doc).len();
        assert_eq!(mark, format!("{masked_len} bytes -->"));
        // At the cap exactly: kept whole.
        let exact = "a".repeat(MAX_DOCUMENT_BYTES);
        assert_eq!(logged_document(&exact), exact);
    }

    #[test]
    fn a_record_expires_thirty_days_after_its_exchange() {
        let at = OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap();
        let logged = exchange().answered(at, Some(200), "OK", "<cXML/>");
        assert_eq!(logged.expires_at, at + Duration::days(30));
        assert_eq!(
            logged.expires_at.unix_timestamp(),
            1_750_000_000 + 30 * 86_400
        );
    }

    #[test]
    fn long_fields_are_capped() {
        let mut long = exchange();
        long.payload_id = "p".repeat(10_000);
        long.order_id = Some("o".repeat(10_000));
        let logged = long.answered(
            OffsetDateTime::now_utc(),
            Some(400),
            &"t".repeat(10_000),
            "",
        );
        assert!(logged.payload_id.chars().count() <= MAX_FIELD_CHARS + 3);
        assert!(logged.order_id.unwrap().chars().count() <= MAX_FIELD_CHARS + 3);
        assert!(logged.status_text.chars().count() <= crate::delivery::MAX_STATUS_TEXT + 3);
    }

    #[test]
    fn positions_sort_by_time_and_round_trip_through_cursors() {
        let message = |seconds: i64, nanos: i64| {
            let at = OffsetDateTime::from_unix_timestamp(1_750_000_000 + seconds).unwrap()
                + Duration::nanoseconds(nanos);
            exchange().answered(at, Some(200), "OK", "")
        };
        let (a, b, c) = (message(0, 5), message(0, 40), message(9, 0));
        let (pa, pb, pc) = (Position::of(&a), Position::of(&b), Position::of(&c));
        assert!(pa < pb && pb < pc, "{pa:?} {pb:?} {pc:?}");
        assert!(pa.as_str().starts_with("2025-06-15T15:06:40.000000005Z#"));
        assert_eq!(Position::from_cursor(&pb.cursor()), Some(pb.clone()));
        for bad in ["", "x", "not base64 !", &URL_SAFE_NO_PAD.encode("2025#zz")] {
            assert_eq!(Position::from_cursor(bad), None, "{bad}");
        }
        // A cursor names a position only, never another organisation's partition.
        assert_eq!(
            Position::from_cursor(&URL_SAFE_NO_PAD.encode(r#"{"PK":"MSGLOG#other"}"#)),
            None
        );
    }

    #[test]
    fn the_answer_to_a_post_is_its_cxml_status_or_why_none_came() {
        let ok = r#"<cXML payloadID="a" timestamp="2026-11-24T09:30:00+00:00"><Response><Status code="201" text="Accepted"/></Response></cXML>"#;
        assert_eq!(
            posted_status(&Ok((200, ok.into()))),
            (Some(201), "Accepted".into())
        );
        let (code, text) = posted_status(&Ok((503, "busy".into())));
        assert_eq!(code, Some(503));
        assert!(text.contains("busy"));
        assert_eq!(
            posted_status(&Err(SendError::Timeout(std::time::Duration::from_secs(3)))),
            (None, "no answer within 3s".into())
        );
    }
}
