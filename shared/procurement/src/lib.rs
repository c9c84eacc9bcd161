//! The procurement integration's domain: punchout sessions, the catalog a buyer may see, cart
//! rules, quotes, purchase orders, invoices, the private-offer expiry check and integration
//! settings. It knows nothing of Lambda, HTTP or the AWS SDK: operations return outcomes (a
//! cXML document, an answer, a typed refusal) and reach storage, mail and the queue only
//! through the traits in [`ports`]. The web layer (procurement-web) turns outcomes into
//! answers; the AWS adapters (procurement-aws) implement the ports.

pub mod auth;
pub mod cart;
pub mod catalog;
pub mod config;
pub mod confirmations;
pub mod deadline;
pub mod delivery;
pub mod emails;
pub mod ids;
pub mod integration;
pub mod invoices;
pub mod limits;
pub mod message_log;
pub mod model;
pub mod network;
pub mod offers;
pub mod openbuy;
pub mod orders;
pub mod outbox;
pub mod paths;
pub mod ports;
pub mod punchout;
pub mod quotes;
pub mod refusal;
pub mod settings;
pub mod urls;

/// The demo organisations and catalog (`make run`, fixtures, tests): public secrets, so never
/// in a release binary.
#[cfg(any(test, feature = "test-util"))]
pub mod demo;
/// In-memory implementations of the ports, for tests.
#[cfg(any(test, feature = "test-util"))]
pub mod fakes;

pub use config::Config;
pub use ports::{Deps, InvoiceSender, MailError, Mailer, Queue, Store, StoreError};
pub use refusal::Refusal;
