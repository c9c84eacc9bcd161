//! Confirmations: `CONFIRMATION#<id>` / `CONFIRMATION` with `status`, listed in GSI2 until
//! queued; the same lifecycle as charges.

use procurement::StoreError;
use procurement::ids::ConfirmationId;
use procurement::model::{Confirmation, ConfirmationOutcome, ConfirmationStatus};
use procurement::ports::Confirmations;
use serde_json::{Value, json};

use super::super::confirmations::scheduled_confirmation_item;
use super::super::rfc3339;
use super::{Table, assert_consistent_get, at, confirmation, json_item, n, s, value};
use crate::recorded::Answer;

const PK: &str = "CONFIRMATION#conf-1";

fn id() -> ConfirmationId {
    ConfirmationId::from("conf-1")
}

fn stored(c: &Confirmation, status: ConfirmationStatus) -> Value {
    let mut item = json_item(&scheduled_confirmation_item(c).unwrap());
    item["status"] = s(status.as_str());
    item
}

fn outcome(status: ConfirmationStatus) -> ConfirmationOutcome {
    ConfirmationOutcome {
        status,
        payload_id: "conf.payload@marketplace.example".into(),
        code: Some(200),
        text: "OK".into(),
        at: at(90),
    }
}

fn assert_key(body: &Value) {
    assert_eq!(body["Key"], json!({"PK": s(PK), "SK": s("CONFIRMATION")}));
}

#[tokio::test]
async fn a_new_confirmation_is_scheduled_and_listed_by_creation() {
    let c = confirmation("conf-1");
    let item = stored(&c, ConfirmationStatus::Scheduled);
    assert_eq!(item["PK"], s(PK));
    assert_eq!(item["SK"], s("CONFIRMATION"));
    assert_eq!(item["status"], s("scheduled"));
    assert_eq!(item["GSI2PK"], s("CONFIRMATION#scheduled"));
    assert_eq!(
        item["GSI2SK"],
        s(&format!("{}#conf-1", rfc3339(c.created_at)))
    );
}

#[tokio::test]
async fn get_returns_the_confirmation_with_its_status() {
    let table = Table::new();
    let c = confirmation("conf-1");
    table.then(Answer::item(stored(&c, ConfirmationStatus::Queued)));
    assert_eq!(
        Confirmations::get(&table.store, &id()).await.unwrap(),
        Some((c.clone(), ConfirmationStatus::Queued))
    );
    assert_consistent_get(&table.only_call(), PK, "CONFIRMATION");
    assert_eq!(Confirmations::get(&table.store, &id()).await.unwrap(), None);
    let mut unknown = stored(&c, ConfirmationStatus::Queued);
    unknown["status"] = s("sent");
    table.then(Answer::item(unknown));
    assert!(matches!(
        Confirmations::get(&table.store, &id()).await,
        Err(StoreError::Corrupt { key, .. }) if key == PK
    ));
}

#[tokio::test]
async fn a_queued_confirmation_is_listed_by_requeue_time_and_counts_its_queueings() {
    let table = Table::new();
    let requeue_at = at(86_400);
    assert!(table.store.mark_queued(&id(), requeue_at).await.unwrap());
    let call = table.only_call();
    assert_key(&call.body);
    assert_eq!(
        call.body["ConditionExpression"],
        "#status IN (:scheduled, :queued)"
    );
    assert_eq!(
        call.body["UpdateExpression"],
        "SET #status = :queued, GSI2PK = :index, GSI2SK = :sk ADD queueings :one"
    );
    assert_eq!(value(&call.body, ":queued"), &s("queued"));
    assert_eq!(value(&call.body, ":index"), &s("CONFIRMATION#queued"));
    assert_eq!(
        value(&call.body, ":sk"),
        &s(&format!("{}#conf-1", rfc3339(requeue_at)))
    );
    assert_eq!(value(&call.body, ":one"), &n(1));
    table.then(Answer::condition_failed());
    assert!(!table.store.mark_queued(&id(), requeue_at).await.unwrap());
}

#[tokio::test]
async fn stale_queued_confirmations_are_those_whose_requeue_time_came() {
    let table = Table::new();
    let queued = confirmation("conf-1");
    let mut listed = stored(&queued, ConfirmationStatus::Queued);
    listed["queueings"] = n(3);
    table.then(Answer::page(vec![listed], None));
    let page = table.store.stale_queued(at(0), 100, None).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].job, queued);
    assert_eq!(page.items[0].queueings, 3);
    let call = table.only_call();
    assert_eq!(call.body["IndexName"], "GSI2");
    assert_eq!(value(&call.body, ":pk"), &s("CONFIRMATION#queued"));
    assert_eq!(
        value(&call.body, ":upper"),
        &s(&format!("{}$", rfc3339(at(0))))
    );
}

#[tokio::test]
async fn unqueued_confirmations_are_pages_of_the_scheduled_index() {
    let table = Table::new();
    let first = confirmation("conf-1");
    let last_key = json!({
        "PK": s(PK), "SK": s("CONFIRMATION"),
        "GSI2PK": s("CONFIRMATION#scheduled"),
        "GSI2SK": stored(&first, ConfirmationStatus::Scheduled)["GSI2SK"],
    });
    table.then(Answer::page(
        vec![
            stored(&first, ConfirmationStatus::Scheduled),
            json!({"PK": s("CONFIRMATION#bad"), "SK": s("CONFIRMATION")}),
        ],
        Some(last_key.clone()),
    ));
    let page = table.store.unqueued(2, None).await.unwrap();
    assert_eq!(page.items, vec![first], "the unreadable one is skipped");
    let call = table.only_call();
    assert_eq!(call.operation, "Query");
    assert_eq!(call.body["IndexName"], "GSI2");
    assert_eq!(call.body["KeyConditionExpression"], "GSI2PK = :pk");
    assert_eq!(value(&call.body, ":pk"), &s("CONFIRMATION#scheduled"));
    assert_eq!(call.body["Limit"], 2);

    table.forget();
    let page = table.store.unqueued(0, page.next).await.unwrap();
    assert_eq!(
        page,
        procurement::ports::Page {
            items: Vec::new(),
            next: None
        }
    );
    let call = table.only_call();
    assert_eq!(call.body["ExclusiveStartKey"], last_key);
    assert_eq!(call.body["Limit"], 1, "DynamoDB refuses a limit of 0");
}

#[tokio::test]
async fn an_outcome_settles_an_unsettled_confirmation_once() {
    let table = Table::new();
    let outcome = outcome(ConfirmationStatus::Confirmed);
    assert!(table.store.record_outcome(&id(), &outcome).await.unwrap());
    let call = table.only_call();
    assert_key(&call.body);
    assert_eq!(
        call.body["ConditionExpression"],
        "#status IN (:scheduled, :queued)"
    );
    assert_eq!(
        call.body["UpdateExpression"],
        "SET #status = :status, outcome = :outcome REMOVE GSI2PK, GSI2SK"
    );
    assert_eq!(value(&call.body, ":status"), &s("confirmed"));
    let written: ConfirmationOutcome =
        serde_json::from_str(value(&call.body, ":outcome")["S"].as_str().unwrap()).unwrap();
    assert_eq!(written, outcome);
    table.then(Answer::condition_failed());
    assert!(!table.store.record_outcome(&id(), &outcome).await.unwrap());

    table.forget();
    table.then(Answer::item(
        json!({"outcome": s(&serde_json::to_string(&outcome).unwrap())}),
    ));
    assert_eq!(table.store.outcome(&id()).await.unwrap(), Some(outcome));
    let call = table.only_call();
    assert_eq!(call.body["ProjectionExpression"], "#attribute");
    assert_eq!(
        call.body["ExpressionAttributeNames"],
        json!({"#attribute": "outcome"})
    );
    assert_eq!(table.store.outcome(&id()).await.unwrap(), None);
}

#[tokio::test]
async fn a_claim_and_its_release_are_conditional() {
    let table = Table::new();
    let (now, until) = (at(0), at(120));
    table.then(Answer::condition_failed());
    assert!(
        !Confirmations::claim(&table.store, &id(), now, until)
            .await
            .unwrap()
    );
    assert!(
        Confirmations::claim(&table.store, &id(), now, until)
            .await
            .unwrap()
    );
    Confirmations::release(&table.store, &id(), until)
        .await
        .unwrap();
    let calls = table.calls();
    assert_key(&calls[1].body);
    assert_eq!(
        calls[1].body["ConditionExpression"],
        "#status IN (:scheduled, :queued) AND (attribute_not_exists(claimed_until) OR claimed_until < :now)"
    );
    let millis = n(until.unix_timestamp_nanos() / 1_000_000);
    assert_eq!(value(&calls[1].body, ":until"), &millis);
    assert_key(&calls[2].body);
    assert_eq!(
        calls[2].body["ConditionExpression"],
        "claimed_until = :until"
    );
    assert_eq!(value(&calls[2].body, ":until"), &millis);
}

#[tokio::test]
async fn a_hand_over_the_queue_refused_is_undone_only_while_it_is_the_one_queueing() {
    let table = Table::new();
    let c = confirmation("conf-1");
    assert!(table.store.hand_back(&c).await.unwrap());
    let call = table.only_call();
    assert_key(&call.body);
    assert_eq!(
        call.body["ConditionExpression"],
        "#status = :queued AND queueings = :one"
    );
    assert_eq!(
        call.body["UpdateExpression"],
        "SET #status = :scheduled, GSI2PK = :index, GSI2SK = :sk REMOVE queueings"
    );
    assert_eq!(value(&call.body, ":index"), &s("CONFIRMATION#scheduled"));
    assert_eq!(
        value(&call.body, ":sk"),
        &stored(&c, ConfirmationStatus::Scheduled)["GSI2SK"],
        "listed among the unqueued again, as when it was new"
    );
    table.then(Answer::condition_failed());
    assert!(!table.store.hand_back(&c).await.unwrap());
}
