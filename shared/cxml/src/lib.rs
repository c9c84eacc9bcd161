//! cXML for procurement integrations: safe reading of what Coupa and SAP Ariba send,
//! DTD-valid writing of what we send back, and the status every failure maps to.
//!
//! ```
//! let doc = cxml::parse(br#"<cXML payloadID="1@x" timestamp="2026-01-01T00:00:00+00:00">
//!   <Response><Status code="200" text="OK"/></Response></cXML>"#).unwrap();
//! assert_eq!(doc.message_type(), "Response");
//! ```

pub mod auth;
pub mod build;
pub mod cif;
pub mod datetime;
pub mod dom;
#[cfg(feature = "dtd-check")]
pub mod dtd_check;
pub mod error;
pub mod form;
pub mod inspect;
pub mod mask;
pub mod model;
pub mod money;
pub mod payload;
mod read;
mod write;

pub use auth::{CredentialId, ExpectedSender, SecretDigest, SharedSecret, authenticate};
pub use datetime::{format_timestamp, parse_timestamp};
pub use dom::Limits;
pub use error::Rejection;
pub use form::{FormEncoding, decode_form_body};
pub use mask::mask_shared_secrets;
pub use model::*;
pub use money::{Currency, Money};
pub use payload::new_payload_id;
pub use read::{parse, parse_with};
pub use write::{CXML_VERSION, dtd_for, to_xml};
