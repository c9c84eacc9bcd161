//! The procurement integration's domain. Storage, mail and queue are reached only through
//! the small traits in [`ports`]; the Lambda handlers and the AWS adapters live elsewhere.

pub mod admin;
pub mod cart;
pub mod catalog;
pub mod config;
pub mod demo;
pub mod fakes;
pub mod http;
pub mod invoices;
pub mod model;
pub mod notify;
pub mod offers;
pub mod orders;
pub mod pages;
pub mod ports;
pub mod punchout;
pub mod search;
pub mod sender;

pub use config::Config;
pub use ports::{Deps, InvoiceSender, Mailer, Queue, Store, StoreError};
