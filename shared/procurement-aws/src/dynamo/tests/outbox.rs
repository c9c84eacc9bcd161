//! The outbox: `OUTBOX#<email>` / `OUTBOX`, listed in GSI2 `OUTBOX` by creation time; a
//! sender's claim; deleted once sent.

use procurement::ports::Outbox;
use serde_json::json;

use super::super::outbox::outbox_item;
use super::super::rfc3339;
use super::{Table, at, json_item, n, outbox_email, s, value};
use crate::recorded::Answer;

#[tokio::test]
async fn an_email_is_listed_by_creation_time_until_sent() {
    let email = outbox_email("subscribed#agmt-1");
    let item = json_item(&outbox_item(&email).unwrap());
    assert_eq!(item["PK"], s("OUTBOX#subscribed#agmt-1"));
    assert_eq!(item["SK"], s("OUTBOX"));
    assert_eq!(item["GSI2PK"], s("OUTBOX"));
    assert_eq!(
        item["GSI2SK"],
        s(&format!("{}#subscribed#agmt-1", rfc3339(email.created_at)))
    );
}

#[tokio::test]
async fn pending_emails_are_the_oldest_of_the_outbox_index() {
    let table = Table::new();
    let first = outbox_email("subscribed#agmt-1");
    let second = outbox_email("subscribed#agmt-2");
    table.then(Answer::page(
        vec![
            json_item(&outbox_item(&first).unwrap()),
            json_item(&outbox_item(&second).unwrap()),
        ],
        None,
    ));
    let page = table.store.pending(25, None).await.unwrap();
    assert_eq!(page.items, vec![first.clone(), second.clone()]);
    assert_eq!(page.next, None);
    let call = table.only_call();
    assert_eq!(call.operation, "Query");
    assert_eq!(call.body["IndexName"], "GSI2");
    assert_eq!(call.body["KeyConditionExpression"], "GSI2PK = :pk");
    assert_eq!(value(&call.body, ":pk"), &s("OUTBOX"));
    assert_eq!(call.body["Limit"], 25);
    assert!(call.body.get("ScanIndexForward").is_none(), "oldest first");
    assert!(
        call.body.get("ConsistentRead").is_none(),
        "an index cannot be read consistently"
    );
}

#[tokio::test]
async fn an_unreadable_email_does_not_hold_back_the_others() {
    let table = Table::new();
    let good = outbox_email("subscribed#agmt-2");
    table.then(Answer::page(
        vec![
            json!({"PK": s("OUTBOX#broken"), "SK": s("OUTBOX"), "data": s("{\"email_id\":1}")}),
            json_item(&outbox_item(&good).unwrap()),
        ],
        None,
    ));
    assert_eq!(
        table.store.pending(25, None).await.unwrap().items,
        vec![good],
        "every flush would otherwise fail on the same broken email"
    );
}

#[tokio::test]
async fn a_claim_needs_the_email_still_there_unclaimed_and_not_failed_and_counts_the_attempt() {
    let table = Table::new();
    let (now, until) = (at(0), at(60));
    table.then(Answer::ok(json!({"Attributes": {"attempts": n(3)}})));
    assert_eq!(
        Outbox::claim(&table.store, "subscribed#agmt-1", now, until)
            .await
            .unwrap(),
        Some(3)
    );
    let call = table.only_call();
    assert_eq!(call.operation, "UpdateItem");
    assert_eq!(
        call.body["Key"],
        json!({"PK": s("OUTBOX#subscribed#agmt-1"), "SK": s("OUTBOX")})
    );
    assert_eq!(
        call.body["ConditionExpression"],
        "attribute_exists(PK) AND attribute_not_exists(failed_at) \
         AND (attribute_not_exists(claimed_until) OR claimed_until < :now)",
        "a sent (deleted) email is not brought back as a bare claim, a failed one stays aside"
    );
    assert_eq!(
        call.body["UpdateExpression"],
        "SET claimed_until = :until ADD attempts :one"
    );
    assert_eq!(call.body["ReturnValues"], "UPDATED_NEW");
    assert!(call.body.get("ExpressionAttributeNames").is_none());
    table.then(Answer::condition_failed());
    assert_eq!(
        Outbox::claim(&table.store, "subscribed#agmt-1", now, until)
            .await
            .unwrap(),
        None
    );

    table.forget();
    table.then(Answer::condition_failed());
    Outbox::release(&table.store, "subscribed#agmt-1", until)
        .await
        .unwrap();
    let call = table.only_call();
    assert_eq!(call.body["ConditionExpression"], "claimed_until = :until");
}

#[tokio::test]
async fn a_failed_email_leaves_the_waiting_list_for_the_failed_one() {
    let table = Table::new();
    Outbox::failed(&table.store, "subscribed#agmt-1", "SES refused it", at(5))
        .await
        .unwrap();
    let call = table.only_call();
    assert_eq!(call.operation, "UpdateItem");
    assert_eq!(
        call.body["UpdateExpression"],
        "SET failed_at = :at, failure = :reason, GSI2PK = :index, GSI2SK = :sk \
         REMOVE claimed_until"
    );
    assert_eq!(value(&call.body, ":index"), &s("OUTBOX#failed"));
    assert_eq!(
        value(&call.body, ":sk"),
        &s(&format!("{}#subscribed#agmt-1", rfc3339(at(5))))
    );
    assert_eq!(value(&call.body, ":reason"), &s("SES refused it"));
    assert_eq!(call.body["ConditionExpression"], "attribute_exists(PK)");
    table.forget();
    table.then(Answer::condition_failed());
    Outbox::failed(&table.store, "subscribed#agmt-1", "x", at(5))
        .await
        .expect("an email sent meanwhile has nothing to set aside");
}

#[tokio::test]
async fn a_sent_email_leaves_the_outbox() {
    let table = Table::new();
    table.store.sent("subscribed#agmt-1").await.unwrap();
    let call = table.only_call();
    assert_eq!(call.operation, "DeleteItem");
    assert_eq!(
        call.body["Key"],
        json!({"PK": s("OUTBOX#subscribed#agmt-1"), "SK": s("OUTBOX")})
    );
    assert!(call.body.get("ConditionExpression").is_none());
    table.then(Answer::unavailable());
    assert!(table.store.sent("subscribed#agmt-1").await.is_err());
}
