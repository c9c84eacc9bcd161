//! The DynamoDB adapter against recorded exchanges (no moto): the shape of each request and
//! what each conditional failure becomes.

use procurement::ids::ChargeId;
use procurement::model::Session;
use procurement::ports::{Charges, Sessions};
use serde_json::json;
use time::OffsetDateTime;

use super::DynamoStore;
use crate::recorded::{Answer, RecordedDynamo};

fn store(recorded: &RecordedDynamo) -> DynamoStore {
    DynamoStore::new(recorded.client(), "procurement")
}

fn session() -> Session {
    Session {
        token_digest: "ab".repeat(32),
        org_id: "acme".into(),
        buyer_cookie: "cookie".into(),
        browser_form_post: "https://buyer.example/return".into(),
        requester_email: None,
        requester_name: None,
        operation: cxml::PunchOutOperation::Create,
        test: false,
        selected_product: None,
        earlier_items: Vec::new(),
        expires_at: OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000),
    }
}

#[tokio::test]
async fn a_session_is_written_with_its_ttl() {
    let recorded = RecordedDynamo::new();
    let session = session();
    Sessions::put(&store(&recorded), &session).await.unwrap();
    let calls = recorded.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].operation, "PutItem");
    let item = &calls[0].body["Item"];
    assert_eq!(calls[0].body["TableName"], "procurement");
    assert_eq!(
        item["PK"],
        json!({"S": format!("SESSION#{}", session.token_digest)})
    );
    assert_eq!(item["SK"], json!({"S": "SESSION"}));
    assert_eq!(
        item["ttl"],
        json!({"N": session.expires_at.unix_timestamp().to_string()})
    );
}

#[tokio::test]
async fn marking_a_charge_queued_is_conditional_on_it_being_scheduled() {
    let recorded = RecordedDynamo::new();
    let store = store(&recorded);
    let charge = ChargeId::from("agmt-1-1");
    assert!(store.mark_queued(&charge).await.unwrap());
    recorded.then(Answer::condition_failed());
    assert!(
        !store.mark_queued(&charge).await.unwrap(),
        "a failed condition is an answer, not an error"
    );
    let call = &recorded.calls()[1];
    assert_eq!(call.operation, "UpdateItem");
    assert_eq!(call.body["ConditionExpression"], "#status = :scheduled");
    assert_eq!(
        call.body["ExpressionAttributeValues"][":scheduled"],
        json!({"S": "scheduled"})
    );
    recorded.then(Answer::unavailable());
    assert!(store.mark_queued(&charge).await.is_err());
}
