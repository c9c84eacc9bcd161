//! Sessions: `SESSION#<token digest>` / `SESSION`, with the TTL attribute.

use procurement::StoreError;
use procurement::model::Session;
use procurement::ports::Sessions;
use serde_json::json;

use super::{Table, assert_consistent_get, at, record_item, s};
use crate::recorded::Answer;

fn session() -> Session {
    Session {
        token_digest: "ab".repeat(32),
        org_id: "acme".into(),
        buyer_cookie: "cookie".into(),
        browser_form_post: "https://buyer.example/return".into(),
        requester_email: Some("jim@buyer.example".into()),
        requester_name: None,
        operation: cxml::PunchOutOperation::Create,
        test: false,
        selected_product: Some("prod-saas-upfront".into()),
        earlier_items: vec![("prod-ami-free".into(), Some("q-1".into()))],
        expires_at: at(3_600),
    }
}

#[tokio::test]
async fn a_session_is_written_with_its_ttl() {
    let table = Table::new();
    let session = session();
    Sessions::put(&table.store, &session).await.unwrap();
    let call = table.only_call();
    assert_eq!(call.operation, "PutItem");
    let item = &call.body["Item"];
    assert_eq!(
        item["PK"],
        json!({"S": format!("SESSION#{}", session.token_digest)})
    );
    assert_eq!(item["SK"], json!({"S": "SESSION"}));
    assert_eq!(
        item["ttl"],
        json!({"N": session.expires_at.unix_timestamp().to_string()}),
        "DynamoDB's TTL takes Unix seconds"
    );
    assert!(
        call.body.get("ConditionExpression").is_none(),
        "a session is written unconditionally"
    );
    assert_eq!(super::data_of::<Session>(item), session);
}

#[tokio::test]
async fn a_session_is_read_back_by_its_token_digest() {
    let table = Table::new();
    let session = session();
    let pk = format!("SESSION#{}", session.token_digest);
    table.then(Answer::item(record_item(&pk, "SESSION", &session, &[])));
    let found = Sessions::get(&table.store, &session.token_digest)
        .await
        .unwrap();
    assert_eq!(found, Some(session.clone()));
    assert_consistent_get(&table.only_call(), &pk, "SESSION");

    table.forget();
    assert_eq!(Sessions::get(&table.store, "cd").await.unwrap(), None);

    table.then(Answer::item(json!({"PK": s(&pk), "SK": s("SESSION")})));
    assert!(
        matches!(
            Sessions::get(&table.store, &session.token_digest).await,
            Err(StoreError::Corrupt { key, .. }) if key == pk
        ),
        "an item without its record is corrupt, named by its key"
    );
    table.then(Answer::item(
        json!({"PK": s(&pk), "SK": s("SESSION"), "data": s("{}")}),
    ));
    assert!(matches!(
        Sessions::get(&table.store, &session.token_digest).await,
        Err(StoreError::Corrupt { .. })
    ));
    table.then(Answer::unavailable());
    assert!(matches!(
        Sessions::get(&table.store, &session.token_digest).await,
        Err(StoreError::Unavailable(_))
    ));
}
