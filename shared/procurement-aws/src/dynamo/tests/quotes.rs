//! Quotes: `QUOTE#<quote>` / `QUOTE` with `status`, in GSI2 `QUOTE#pending_offer` only while
//! pending with a private offer, in `QUOTE#awaiting_agreement` while a pre-approved quote waits
//! for the agreement its job writes; created only if new; expired conditionally.

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
async fn a_quote_is_created_only_if_new() {
    let table = Table::new();
    let quote = quote(QuoteStatus::PendingApproval, false);
    table.store.create(&quote).await.unwrap();
    let steps = steps(&table.only_call());
    assert_eq!(steps.len(), 1);
    assert_eq!(key_of(&steps[0].1), key("QUOTE#q-1", "QUOTE"));
    assert_eq!(steps[0].0, "Put");
    assert_eq!(
        steps[0].1["ConditionExpression"],
        "attribute_not_exists(PK)"
    );
    assert_eq!(data_of::<Quote>(&steps[0].1["Item"]), quote);

    table.then(Answer::cancelled(&["ConditionalCheckFailed"]));
    assert!(
        matches!(
            table.store.create(&quote).await,
            Err(StoreError::Conflict(_))
        ),
        "an existing quote ID is a conflict (the caller draws another)"
    );
}

/// A pre-approved quote out of test mode, before its job wrote the agreement.
fn awaiting() -> Quote {
    let mut quote = quote(QuoteStatus::Subscribed, false);
    quote.test = false;
    quote.agreement_id = None;
    quote
}

#[tokio::test]
async fn a_pre_approved_quote_is_in_the_awaiting_index_until_its_agreement_is_recorded() {
    let item = stored(&awaiting());
    assert_eq!(item["GSI2PK"], s("QUOTE#awaiting_agreement"));
    assert_eq!(
        item["GSI2SK"],
        s(&format!("{}#q-1", rfc3339(awaiting().created_at))),
        "by creation"
    );
    let mut test = awaiting();
    test.test = true;
    let mut done = awaiting();
    done.agreement_id = Some("agmt-1".into());
    for other in [test, done] {
        assert!(stored(&other).get("GSI2PK").is_none(), "{other:?}");
    }
}

#[tokio::test]
async fn the_agreement_is_written_with_the_quote_only_while_the_quote_awaits_it() {
    let table = Table::new();
    let quote = awaiting();
    let agreement = agreement(AgreementStatus::Active);
    assert!(table.store.subscribe(&quote, &agreement).await.unwrap());
    let steps = steps(&table.only_call());
    assert_eq!(steps.len(), 2);
    assert_eq!(key_of(&steps[0].1), key("QUOTE#q-1", "QUOTE"));
    assert_eq!(steps[0].1["ConditionExpression"], "GSI2PK = :awaiting");
    assert_eq!(
        value(&steps[0].1, ":awaiting"),
        &s("QUOTE#awaiting_agreement")
    );
    let written = data_of::<Quote>(&steps[0].1["Item"]);
    assert_eq!(written.agreement_id, Some(agreement.agreement_id.clone()));
    assert!(
        steps[0].1["Item"].get("GSI2PK").is_none(),
        "it leaves the index"
    );
    assert_eq!(key_of(&steps[1].1), key("AGREEMENT#agmt-1", "AGREEMENT"));
    assert_eq!(
        steps[1].1["ConditionExpression"],
        "attribute_not_exists(PK)"
    );
    assert_eq!(
        data_of::<procurement::model::Agreement>(&steps[1].1["Item"]),
        agreement
    );

    // A second job: the quote left the index, nothing is written.
    table.forget();
    table.then(Answer::cancelled(&["ConditionalCheckFailed", "None"]));
    assert!(!table.store.subscribe(&quote, &agreement).await.unwrap());
    assert_eq!(table.calls().len(), 1);

    // The agreement exists but the quote still waits: the quote alone is recorded.
    table.forget();
    table.then(Answer::cancelled(&["None", "ConditionalCheckFailed"]));
    assert!(!table.store.subscribe(&quote, &agreement).await.unwrap());
    let calls = table.calls();
    assert_eq!(calls.len(), 2);
    let retried = super::steps(&calls[1]);
    assert_eq!(retried.len(), 1);
    assert_eq!(key_of(&retried[0].1), key("QUOTE#q-1", "QUOTE"));
}

#[tokio::test]
async fn quotes_awaiting_their_agreement_are_listed_older_than_the_given_time() {
    let table = Table::new();
    let quote = awaiting();
    table.then(Answer::page(vec![stored(&quote)], None));
    let page = table
        .store
        .awaiting_agreement(at(600), 25, None)
        .await
        .unwrap();
    assert_eq!(page.items, vec![quote]);
    assert_eq!(page.next, None);
    let call = table.only_call();
    assert_eq!(call.body["IndexName"], "GSI2");
    assert_eq!(
        call.body["KeyConditionExpression"],
        "GSI2PK = :pk AND GSI2SK < :upper"
    );
    assert_eq!(value(&call.body, ":pk"), &s("QUOTE#awaiting_agreement"));
    assert_eq!(value(&call.body, ":upper"), &s(&rfc3339(at(600))));
    assert_eq!(call.body["Limit"], 25);
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
