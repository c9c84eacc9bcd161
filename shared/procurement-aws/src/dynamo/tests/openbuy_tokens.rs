//! Open Buy tokens: `OPENBUY#<token digest>` / `OPENBUY_TOKEN`, with the TTL attribute.

use procurement::StoreError;
use procurement::openbuy::OpenBuyToken;
use procurement::ports::OpenBuyTokens;
use serde_json::json;

use super::{Table, assert_consistent_get, at, record_item, s};
use crate::recorded::Answer;

fn token() -> OpenBuyToken {
    OpenBuyToken {
        token_digest: "cd".repeat(32),
        org_id: "acme".into(),
        expires_at: at(1_800),
    }
}

#[tokio::test]
async fn a_token_is_written_as_its_digest_with_its_ttl() {
    let table = Table::new();
    let token = token();
    OpenBuyTokens::put(&table.store, &token).await.unwrap();
    let call = table.only_call();
    assert_eq!(call.operation, "PutItem");
    let item = &call.body["Item"];
    assert_eq!(
        item["PK"],
        json!({"S": format!("OPENBUY#{}", token.token_digest)})
    );
    assert_eq!(item["SK"], json!({"S": "OPENBUY_TOKEN"}));
    assert_eq!(
        item["ttl"],
        json!({"N": token.expires_at.unix_timestamp().to_string()}),
        "DynamoDB's TTL takes Unix seconds"
    );
    assert_eq!(super::data_of::<OpenBuyToken>(item), token);
}

#[tokio::test]
async fn a_token_is_read_back_by_its_digest() {
    let table = Table::new();
    let token = token();
    let pk = format!("OPENBUY#{}", token.token_digest);
    table.then(Answer::item(record_item(&pk, "OPENBUY_TOKEN", &token, &[])));
    let found = OpenBuyTokens::get(&table.store, &token.token_digest)
        .await
        .unwrap();
    assert_eq!(found, Some(token.clone()));
    assert_consistent_get(&table.only_call(), &pk, "OPENBUY_TOKEN");

    table.forget();
    assert_eq!(OpenBuyTokens::get(&table.store, "ef").await.unwrap(), None);

    table.then(Answer::item(
        json!({"PK": s(&pk), "SK": s("OPENBUY_TOKEN"), "data": s("{}")}),
    ));
    assert!(matches!(
        OpenBuyTokens::get(&table.store, &token.token_digest).await,
        Err(StoreError::Corrupt { key, .. }) if key == pk
    ));
    table.then(Answer::unavailable());
    assert!(matches!(
        OpenBuyTokens::get(&table.store, &token.token_digest).await,
        Err(StoreError::Unavailable(_))
    ));
}
