//! The message log: `MSGLOG#<org>` / `MSG#<time>#<id>` with the TTL attribute; listed newest
//! first by one Query of the organisation's partition.

use procurement::StoreError;
use procurement::ids::OrgId;
use procurement::message_log::{Direction, Exchange, LoggedMessage, MAX_DOCUMENT_BYTES, Position};
use procurement::ports::MessageLog;
use serde_json::json;

use super::super::message_log::message_item;
use super::{Table, at, json_item, s, value};
use crate::recorded::Answer;

fn message(seconds: i64) -> LoggedMessage {
    Exchange {
        org_id: OrgId::from("acme"),
        direction: Direction::In,
        message_type: "OrderRequest".into(),
        payload_id: format!("po-{seconds}@buyer.example"),
        order_id: Some("PO-1".into()),
    }
    .answered(
        at(seconds),
        Some(200),
        "OK",
        "<cXML><SharedSecret>hunter2</SharedSecret></cXML>",
    )
}

#[tokio::test]
async fn a_message_is_one_item_in_its_organisations_partition_with_its_ttl() {
    let table = Table::new();
    let logged = message(0);
    MessageLog::record(&table.store, &logged).await.unwrap();
    let call = table.only_call();
    assert_eq!(call.operation, "PutItem");
    assert!(
        call.body.get("ConditionExpression").is_none(),
        "a plain put: nothing to wait for"
    );
    let item = &call.body["Item"];
    assert_eq!(item["PK"], s("MSGLOG#acme"));
    assert_eq!(
        item["SK"],
        s(&format!("MSG#2025-06-15T15:06:40.123456789Z#{}", logged.id))
    );
    assert_eq!(
        item["ttl"],
        json!({"N": (1_750_000_000i64 + 30 * 86_400).to_string()}),
        "DynamoDB's TTL takes Unix seconds: 30 days after the exchange"
    );
    let stored: LoggedMessage = super::data_of(item);
    assert_eq!(stored, logged);
    assert!(
        !item.to_string().contains("hunter2"),
        "no secret in the item"
    );
}

#[tokio::test]
async fn a_failed_write_is_reported_after_one_retry_at_most() {
    let table = Table::new();
    table
        .then(Answer::unavailable())
        .then(Answer::unavailable());
    assert!(matches!(
        MessageLog::record(&table.store, &message(0)).await,
        Err(StoreError::Unavailable(_))
    ));
    assert_eq!(table.operations(), ["PutItem", "PutItem"]);
}

#[tokio::test]
async fn the_largest_document_fits_a_dynamodb_item() {
    // Every byte a control character: each becomes a six-byte JSON escape in `data`.
    let document = "\u{1}".repeat(10 * MAX_DOCUMENT_BYTES);
    let mut logged = message(0);
    logged.document = procurement::message_log::logged_document(&document);
    let item = message_item(&logged).unwrap();
    let size: usize = item
        .iter()
        .map(|(name, v)| name.len() + v.as_s().map_or(16, String::len))
        .sum();
    assert!(size < 400 * 1024, "item of {size} bytes");
}

#[tokio::test]
async fn a_listing_is_one_query_of_the_partition_newest_first_within_thirty_days() {
    let table = Table::new();
    let (newer, older) = (message(20), message(10));
    let last_sk = format!("MSG#{}", Position::of(&older).as_str());
    table.then(Answer::page(
        vec![
            json_item(&message_item(&newer).unwrap()),
            json_item(&message_item(&older).unwrap()),
        ],
        Some(json!({"PK": s("MSGLOG#acme"), "SK": s(&last_sk)})),
    ));
    let page = table
        .store
        .list(&OrgId::from("acme"), at(0), 2, None)
        .await
        .unwrap();
    assert_eq!(page.items, vec![newer, older.clone()]);
    assert_eq!(page.next.as_deref(), Some(Position::of(&older).as_str()));
    let call = table.only_call();
    assert_eq!(call.operation, "Query");
    assert_eq!(
        call.body["KeyConditionExpression"],
        "PK = :pk AND SK > :since"
    );
    assert_eq!(value(&call.body, ":pk"), &s("MSGLOG#acme"));
    assert_eq!(
        value(&call.body, ":since"),
        &s("MSG#2025-06-15T15:06:40.123456789Z"),
        "older messages are never listed, also before the TTL sweeps them"
    );
    assert_eq!(call.body["ScanIndexForward"], false, "newest first");
    assert_eq!(call.body["Limit"], 2);
    assert!(call.body.get("IndexName").is_none());
    assert!(call.body.get("ExclusiveStartKey").is_none());

    // The next page starts past the cursor's position, in the caller's partition only.
    table.forget();
    table.then(Answer::page(vec![], None));
    let position = Position::of(&older);
    let page = table
        .store
        .list(&OrgId::from("acme"), at(0), 2, Some(&position))
        .await
        .unwrap();
    assert!(page.items.is_empty());
    assert_eq!(page.next, None);
    assert_eq!(
        table.only_call().body["ExclusiveStartKey"],
        json!({"PK": s("MSGLOG#acme"), "SK": s(&last_sk)})
    );
}

#[tokio::test]
async fn an_unreadable_message_does_not_hide_the_others() {
    let table = Table::new();
    let good = message(5);
    table.then(Answer::page(
        vec![
            json!({"PK": s("MSGLOG#acme"), "SK": s("MSG#x"), "data": s("{}")}),
            json_item(&message_item(&good).unwrap()),
        ],
        None,
    ));
    let page = table
        .store
        .list(&OrgId::from("acme"), at(0), 20, None)
        .await
        .unwrap();
    assert_eq!(page.items, vec![good]);
    table.then(Answer::unavailable());
    assert!(matches!(
        table
            .store
            .list(&OrgId::from("acme"), at(0), 20, None)
            .await,
        Err(StoreError::Unavailable(_))
    ));
}
