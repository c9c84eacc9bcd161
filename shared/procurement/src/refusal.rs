//! Why a cXML request was not done: the refusal its sender reads (a cXML status and text), or
//! our own storage failing. The web layer turns either into a cXML Response, the storage
//! failure in one place, without its details.

use cxml::Rejection;

use crate::ports::StoreError;

/// The text answered (status 500) when storage failed: nothing of the failure itself.
pub const STORAGE_FAILED_TEXT: &str = "temporary failure on the marketplace side; please retry";

#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The document, its sender or its content is refused with this status and text.
    #[error("{} {}", .0.code, .0.text)]
    Rejected(Rejection),
    /// Storage failed: the sender should retry.
    #[error("storage failed: {0}")]
    Storage(#[from] StoreError),
}

impl From<Rejection> for Refusal {
    fn from(rejection: Rejection) -> Self {
        Self::Rejected(rejection)
    }
}
