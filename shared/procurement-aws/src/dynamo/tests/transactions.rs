//! What every transaction shares: steps that overlapped another transaction, or were
//! throttled, are tried again a few times with a new request token; a failed condition is an
//! answer at once; anything else is the service failing. (The backoff sleeps for real, a few
//! hundred milliseconds in all; nothing here depends on how long.)

use procurement::StoreError;
use procurement::ports::{IntegrationWrite, Integrations, OrderPlan, Orders, Quotes, Recorded};

use super::{Table, at, order_record, record_item, steps};
use crate::recorded::Answer;

/// The adapter's attempts at one transaction.
const ATTEMPTS: usize = 6;

fn quote() -> procurement::model::Quote {
    procurement::demo::quotes(at(0)).remove(0)
}

fn plan() -> OrderPlan {
    OrderPlan::record_only(order_record(cxml::OrderType::New))
}

fn in_progress() -> Answer {
    Answer::error(
        "TransactionInProgressException",
        "Transaction is ongoing for the idempotency token",
    )
}

#[tokio::test]
async fn a_conflicting_transaction_is_tried_again_until_it_commits() {
    let table = Table::new();
    table
        .then(Answer::cancelled(&["TransactionConflict"]))
        .then(in_progress());
    table.store.create(&quote()).await.unwrap();
    let calls = table.calls();
    assert_eq!(calls.len(), 3);
    assert!(
        calls.iter().all(|c| steps(c) == steps(&calls[0])),
        "the same steps each time"
    );
    let tokens: std::collections::BTreeSet<_> = calls
        .iter()
        .map(|c| c.body["ClientRequestToken"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        tokens.len(),
        3,
        "each attempt is a new request, not a replay of the cancelled one"
    );
}

#[tokio::test]
async fn a_transaction_that_keeps_conflicting_gives_up_after_a_few_attempts() {
    let table = Table::new();
    for _ in 0..=ATTEMPTS {
        table.then(Answer::cancelled(&["TransactionConflict", "None", "None"]));
    }
    let integration = procurement::demo::ariba_integration(at(0));
    assert_eq!(
        table.store.replace(&integration, None).await.unwrap(),
        IntegrationWrite::Stale,
        "another write kept winning: read again and retry"
    );
    assert_eq!(table.calls().len(), ATTEMPTS);
    assert_eq!(table.recorded.unanswered(), 1);
}

#[tokio::test]
async fn a_throttled_transaction_is_tried_again() {
    let table = Table::new();
    table
        .then(Answer::cancelled(&["None", "ThrottlingError"]))
        .then(Answer::cancelled(&[
            "ProvisionedThroughputExceeded",
            "None",
        ]));
    assert_eq!(table.store.place(&plan()).await.unwrap(), Recorded::Created);
    assert_eq!(table.operations(), ["TransactWriteItems"; 3]);
}

#[tokio::test]
async fn an_order_throttled_on_every_attempt_is_unavailable_not_a_conflict() {
    // A conflict refuses the buyer's order for good (cXML 409); a throttled table is
    // temporary, and the buyer's retry must be able to record it.
    let table = Table::new();
    for _ in 0..ATTEMPTS {
        table.then(Answer::cancelled(&["None", "ThrottlingError"]));
    }
    assert!(matches!(
        table.store.place(&plan()).await,
        Err(StoreError::Unavailable(_))
    ));
    assert_eq!(
        table.operations(),
        ["TransactWriteItems"; ATTEMPTS],
        "no duplicate lookup: nothing says the order exists"
    );
}

#[tokio::test]
async fn a_quote_throttled_on_every_attempt_is_unavailable_not_a_taken_id() {
    let table = Table::new();
    for _ in 0..ATTEMPTS {
        table.then(Answer::cancelled(&["ProvisionedThroughputExceeded"]));
    }
    assert!(matches!(
        table.store.create(&quote()).await,
        Err(StoreError::Unavailable(_))
    ));
    assert_eq!(table.calls().len(), ATTEMPTS);
}

#[tokio::test]
async fn a_failed_condition_is_an_answer_at_once_even_when_throttled_too() {
    let table = Table::new();
    let earlier = order_record(cxml::OrderType::New);
    table
        .then(Answer::cancelled(&[
            "ConditionalCheckFailed",
            "ThrottlingError",
        ]))
        .then(Answer::item(record_item(
            "ORDER#acme#PO-1001",
            "ORDER",
            &earlier,
            &[],
        )));
    assert_eq!(
        table.store.place(&plan()).await.unwrap(),
        Recorded::Existing(earlier)
    );
    assert_eq!(table.operations(), ["TransactWriteItems", "GetItem"]);
}

#[tokio::test]
async fn a_failing_service_is_unavailable() {
    let table = Table::new();
    table.then(Answer::unavailable());
    assert!(matches!(
        table.store.place(&plan()).await,
        Err(StoreError::Unavailable(_))
    ));
    table.then(Answer::error(
        "ValidationException",
        "One or more parameter values were invalid",
    ));
    assert!(matches!(
        table.store.create(&quote()).await,
        Err(StoreError::Unavailable(_))
    ));
    assert_eq!(
        table.calls().len(),
        2,
        "the SDK retries what is worth it; the adapter adds nothing"
    );
}
