//! Building the documents a supplier sends: envelopes with fresh payloadIDs and timestamps.

use time::OffsetDateTime;

use crate::error::Rejection;
use crate::model::*;
use crate::payload::new_payload_id;
use crate::write::CXML_VERSION;

impl Cxml {
    /// A Response document carrying `status` (and an optional payload).
    pub fn response(host: &str, status: Status, payload: Option<ResponsePayload>) -> Self {
        Self {
            payload_id: new_payload_id(host),
            timestamp: OffsetDateTime::now_utc(),
            version: Some(CXML_VERSION.into()),
            lang: Some("en-US".into()),
            header: None,
            body: Body::Response(Response {
                id: None,
                status,
                payload,
            }),
        }
    }

    /// The Response that reports a rejection, in a form the sender can act on.
    pub fn rejection(host: &str, rejection: &Rejection) -> Self {
        let status = Status {
            code: rejection.code,
            text: rejection.text.clone(),
            message: String::new(),
            lang: Some("en-US".into()),
        };
        Self::response(host, status, None)
    }

    /// A Request document from `header` with a fresh payloadID.
    pub fn request(
        host: &str,
        header: Header,
        mode: DeploymentMode,
        payload: RequestPayload,
    ) -> Self {
        Self {
            payload_id: new_payload_id(host),
            timestamp: OffsetDateTime::now_utc(),
            version: Some(CXML_VERSION.into()),
            lang: Some("en-US".into()),
            header: Some(header),
            body: Body::Request(Request {
                deployment_mode: mode,
                id: None,
                payload,
            }),
        }
    }

    /// A Message document from `header` with a fresh payloadID.
    pub fn message(
        host: &str,
        header: Header,
        mode: DeploymentMode,
        payload: MessagePayload,
    ) -> Self {
        Self {
            payload_id: new_payload_id(host),
            timestamp: OffsetDateTime::now_utc(),
            version: Some(CXML_VERSION.into()),
            lang: Some("en-US".into()),
            header: Some(header),
            body: Body::Message(Message {
                deployment_mode: mode,
                in_reply_to: None,
                id: None,
                status: None,
                payload,
            }),
        }
    }

    /// The status of a Response document, if this is one.
    pub fn response_status(&self) -> Option<&Status> {
        match &self.body {
            Body::Response(r) => Some(&r.status),
            _ => None,
        }
    }
}
