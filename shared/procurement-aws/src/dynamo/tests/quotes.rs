//! Quotes: `QUOTE#<quote>` / `QUOTE` with `status`, in GSI2 `QUOTE#pending_offer` only while
//! pending with a private offer; created with their agreement; expired conditionally.

use procurement::StoreError;
use procurement::model::{AgreementStatus, PrivateOffer, Quote, QuoteStatus};
use procurement::ports::{Page, Quotes};
use serde_json::{Value, json};

use super::super::quotes::quote_item;
use super::super::rfc3339;
use super::{
    Table, agreement, assert_consistent_get, at, data_of, json_item, key, key_of, outbox_email, s,
    steps, value,
};
use crate::recorded::Answer;

fn quote(status: QuoteStatus, offer: bool) -> Quote {
    let mut quote = procurement::demo::quotes(at(0)).remove(0);
    quote.quote_id = "q-1".into();
    quote.status = status;
    quote.private_offer = offer.then(|| PrivateOffer {
        offer_id: "offer-1".into(),
        expires_at: at(7 * 86_400),
        extended_to: Vec::new(),
    });
    quote
}

fn stored(quote: &Quote) -> Value {
    json_item(&quote_item(quote).unwrap())
}

#[tokio::test]
async fn only_a_pending_quote_with_a_private_offer_is_in_the_expiry_list() {
    let pending = stored(&quote(QuoteStatus::PendingApproval, true));
    assert_eq!(pending["PK"], s("QUOTE#q-1"));
    assert_eq!(pending["status"], s("pending_approval"));
    assert_eq!(pending["GSI2PK"], s("QUOTE#pending_offer"));
    assert_eq!(
        pending["GSI2SK"],
        s(&format!("{}#q-1", rfc3339(at(7 * 86_400)))),
        "by offer expiry"
    );
    for other in [
        quote(QuoteStatus::PendingApproval, false),
        quote(QuoteStatus::Ordered, true),
        quote(QuoteStatus::Expired, true),
        quote(QuoteStatus::Cancelled, true),
    ] {
        let item = stored(&other);
        assert!(item.get("GSI2PK").is_none(), "{item}");
        assert_eq!(item["status"], s(other.status.as_str()));
    }
}

#[tokio::test]
async fn a_quote_is_created_with_its_agreement_only_if_both_are_new() {
    let table = Table::new();
    let quote = quote(QuoteStatus::Subscribed, false);
    let agreement = agreement(AgreementStatus::Active);
    table.store.create(&quote, Some(&agreement)).await.unwrap();
    let steps = steps(&table.only_call());
    assert_eq!(steps.len(), 2);
    assert_eq!(key_of(&steps[0].1), key("QUOTE#q-1", "QUOTE"));
    assert_eq!(key_of(&steps[1].1), key("AGREEMENT#agmt-1", "AGREEMENT"));
    for (kind, body) in &steps {
        assert_eq!(kind, "Put");
        assert_eq!(body["ConditionExpression"], "attribute_not_exists(PK)");
    }
    assert_eq!(data_of::<Quote>(&steps[0].1["Item"]), quote);
    assert_eq!(
        data_of::<procurement::model::Agreement>(&steps[1].1["Item"]),
        agreement
    );

    table.forget();
    table.store.create(&quote, None).await.unwrap();
    assert_eq!(super::steps(&table.only_call()).len(), 1);

    table.then(Answer::cancelled(&["ConditionalCheckFailed"]));
    assert!(
        matches!(
            table.store.create(&quote, None).await,
            Err(StoreError::Conflict(_))
        ),
        "an existing quote ID is a conflict (the caller draws another)"
    );
}

#[tokio::test]
async fn a_quote_is_read_by_its_id() {
    let table = Table::new();
    let quote = quote(QuoteStatus::PendingApproval, true);
    table.then(Answer::item(stored(&quote)));
    assert_eq!(
        Quotes::get(&table.store, &"q-1".into()).await.unwrap(),
        Some(quote)
    );
    assert_consistent_get(&table.only_call(), "QUOTE#q-1", "QUOTE");
    assert_eq!(
        Quotes::get(&table.store, &"q-2".into()).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn pending_offer_quotes_are_pages_of_the_expiry_index() {
    let table = Table::new();
    let quote = quote(QuoteStatus::PendingApproval, true);
    let last_key = json!({
        "PK": s("QUOTE#q-1"), "SK": s("QUOTE"),
        "GSI2PK": s("QUOTE#pending_offer"), "GSI2SK": stored(&quote)["GSI2SK"],
    });
    table.then(Answer::page(vec![stored(&quote)], Some(last_key.clone())));
    let page = table.store.pending_offer_quotes(1, None).await.unwrap();
    assert_eq!(page.items, vec![quote]);
    let call = table.only_call();
    assert_eq!(call.body["IndexName"], "GSI2");
    assert_eq!(call.body["KeyConditionExpression"], "GSI2PK = :pk");
    assert_eq!(value(&call.body, ":pk"), &s("QUOTE#pending_offer"));
    assert_eq!(call.body["Limit"], 1);

    table.forget();
    let page = table
        .store
        .pending_offer_quotes(1, page.next)
        .await
        .unwrap();
    assert_eq!(
        page,
        Page {
            items: Vec::new(),
            next: None
        }
    );
    assert_eq!(table.only_call().body["ExclusiveStartKey"], last_key);
}

#[tokio::test]
async fn expiring_writes_the_quote_and_its_notice_only_while_it_is_pending() {
    let table = Table::new();
    let quote = quote(QuoteStatus::PendingApproval, true);
    let notice = outbox_email("expired#q-1");
    assert!(table.store.expire(&quote, Some(&notice)).await.unwrap());
    let steps = steps(&table.only_call());
    assert_eq!(steps.len(), 2);
    let (kind, put) = &steps[0];
    assert_eq!(kind, "Put");
    assert_eq!(key_of(put), key("QUOTE#q-1", "QUOTE"));
    assert_eq!(put["ConditionExpression"], "#status = :pending");
    assert_eq!(
        put["ExpressionAttributeNames"],
        json!({"#status": "status"})
    );
    assert_eq!(value(put, ":pending"), &s("pending_approval"));
    assert_eq!(put["Item"]["status"], s("expired"));
    assert!(
        put["Item"].get("GSI2PK").is_none(),
        "an expired quote leaves the expiry list"
    );
    let mut expired = quote.clone();
    expired.status = QuoteStatus::Expired;
    assert_eq!(data_of::<Quote>(&put["Item"]), expired);
    assert_eq!(key_of(&steps[1].1), key("OUTBOX#expired#q-1", "OUTBOX"));
    assert_eq!(steps[1].1["Item"]["GSI2PK"], s("OUTBOX"));

    table.forget();
    table.store.expire(&quote, None).await.unwrap();
    assert_eq!(
        super::steps(&table.only_call()).len(),
        1,
        "no notice, no step"
    );

    table.then(Answer::cancelled(&["ConditionalCheckFailed", "None"]));
    assert!(
        !table.store.expire(&quote, Some(&notice)).await.unwrap(),
        "ordered or expired meanwhile: nothing written, no second notice"
    );
    table.then(Answer::cancelled(&["None", "ValidationError"]));
    assert!(matches!(
        table.store.expire(&quote, Some(&notice)).await,
        Err(StoreError::Unavailable(_))
    ));
}
