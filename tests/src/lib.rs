//! The end-to-end tier: what a procurement system, a buyer's browser and an operator do to
//! the running stack, as reusable pieces for the tests in `tests/stack.rs` and `make demo`.
//!
//! Everything here talks to the real thing: the API over HTTP (`cargo lambda watch`),
//! DynamoDB/SQS through the AWS SDK against moto, sent emails through moto's API.

pub mod admin_tool;
pub mod buyer;
pub mod coupa;
pub mod html;
pub mod procurement_system;
pub mod stack;

pub use buyer::{BuyerEndpoint, BuyerMode, Received};
pub use stack::LocalStack;

/// Errors in the tier are reported, not handled: a test fails with the message.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
