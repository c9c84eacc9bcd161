//! Orders: one transaction writes the order (`ORDER#<org>#<orderID>`), its payloadID
//! (`PAYLOAD#<org>#<payloadID>`), quotes, agreements, outbox emails, charges, cancelled charges and
//! confirmations; a duplicate comes back as the earlier record.

use procurement::StoreError;
use procurement::ids::ChargeId;
use procurement::model::{AgreementStatus, InvoiceJob, OrderRecord, Quote, QuoteStatus};
use procurement::model::{Integration, Product};
use procurement::ports::{
    Handover, OrderPlan, OrderPrefetch, OrderReads, OrderSlot, Orders, Recorded,
};
use serde_json::{Value, json};

use super::super::MAX_TRANSACTION_ITEMS;
use super::super::rfc3339;
use super::{
    Table, agreement, assert_consistent_get, at, batch_answer, batch_keys, confirmation, data_of,
    invoice_job, key, key_of, n, order_record, outbox_email, record_item, s, steps, value,
};
use crate::recorded::Answer;

const ORDER: &str = "ORDER#acme#PO-1001";
const PAYLOAD: &str = "PAYLOAD#acme#new.payload@buyer.example";

fn ordered_quote() -> Quote {
    let mut quote = procurement::demo::quotes(at(0)).remove(0);
    quote.quote_id = "q-1".into();
    quote.org_id = "acme".into();
    quote.status = QuoteStatus::Ordered;
    quote.order_id = Some("PO-1001".into());
    quote
}

fn full_plan() -> OrderPlan {
    OrderPlan {
        quotes: vec![(ordered_quote(), QuoteStatus::PendingApproval)],
        agreements: vec![agreement(AgreementStatus::Active)],
        outbox: vec![outbox_email("subscribed#agmt-1")],
        charges: vec![
            invoice_job("agmt-1-1", at(0)),
            invoice_job("agmt-1-2", at(86_400)),
        ],
        cancelled_charges: vec![ChargeId::from("agmt-0-1")],
        confirmations: vec![confirmation("conf-1")],
        ..OrderPlan::record_only(order_record(cxml::OrderType::New))
    }
}

fn new_only(body: &Value) {
    assert_eq!(
        body["ConditionExpression"], "attribute_not_exists(PK)",
        "{body}"
    );
}

#[tokio::test]
async fn an_order_and_everything_it_changes_are_one_transaction() {
    let table = Table::new();
    let plan = full_plan();
    assert_eq!(table.store.place(&plan).await.unwrap(), Recorded::Created);
    let steps = steps(&table.only_call());
    let shape: Vec<(&str, (String, String))> = steps
        .iter()
        .map(|(kind, body)| (kind.as_str(), key_of(body)))
        .collect();
    assert_eq!(
        shape,
        vec![
            ("Put", key(ORDER, "ORDER")),
            ("Put", key(PAYLOAD, "ORDER")),
            ("Put", key("QUOTE#q-1", "QUOTE")),
            ("Put", key("AGREEMENT#agmt-1", "AGREEMENT")),
            ("Put", key("OUTBOX#subscribed#agmt-1", "OUTBOX")),
            ("Put", key("CHARGE#agmt-1-1", "CHARGE")),
            ("Put", key("CHARGE#agmt-1-2", "CHARGE")),
            ("Update", key("CHARGE#agmt-0-1", "CHARGE")),
            ("Put", key("CONFIRMATION#conf-1", "CONFIRMATION")),
        ],
        "order and payload first: their cancellation reasons are steps 0 and 1"
    );
    let body = |i: usize| &steps[i].1;
    for i in [0, 1, 3, 4, 5, 6, 8] {
        new_only(body(i));
    }
    assert_eq!(data_of::<OrderRecord>(&body(0)["Item"]), plan.record);
    assert_eq!(data_of::<OrderRecord>(&body(1)["Item"]), plan.record);

    let quote = body(2);
    assert_eq!(quote["ConditionExpression"], "#status = :expected");
    assert_eq!(value(quote, ":expected"), &s("pending_approval"));
    assert_eq!(
        quote["Item"]["status"],
        s("ordered"),
        "written in its new state"
    );
    assert_eq!(data_of::<Quote>(&quote["Item"]), plan.quotes[0].0);

    let charge = &body(6)["Item"];
    assert_eq!(charge["status"], s("scheduled"));
    assert_eq!(charge["GSI2PK"], s("CHARGE#scheduled"));
    assert_eq!(
        charge["GSI2SK"],
        s(&format!("{}#agmt-1-2", rfc3339(at(86_400))))
    );
    assert_eq!(data_of::<InvoiceJob>(charge), plan.charges[1]);

    let cancel = body(7);
    assert_eq!(
        cancel["UpdateExpression"],
        "SET #status = :cancelled REMOVE GSI2PK, GSI2SK"
    );
    assert_eq!(
        cancel["ConditionExpression"],
        "#status = :scheduled AND (attribute_not_exists(claimed_until) OR claimed_until < :now)",
        "only a scheduled charge no dispatcher holds"
    );
    assert_eq!(value(cancel, ":cancelled"), &s("cancelled"));
    assert_eq!(value(cancel, ":scheduled"), &s("scheduled"));

    assert_eq!(body(8)["Item"]["status"], s("scheduled"));
    assert_eq!(body(8)["Item"]["GSI2PK"], s("CONFIRMATION#scheduled"));
    assert_eq!(body(4)["Item"]["GSI2PK"], s("OUTBOX"));
}

#[tokio::test]
async fn a_change_order_is_keyed_by_its_type_and_payload_id() {
    let table = Table::new();
    let mut plan = OrderPlan::record_only(order_record(cxml::OrderType::Delete));
    plan.agreements = vec![agreement(AgreementStatus::Cancelled)];
    table.store.place(&plan).await.unwrap();
    let steps = steps(&table.only_call());
    assert_eq!(
        key_of(&steps[0].1),
        key(ORDER, "CHANGE#delete#delete.payload@buyer.example")
    );
    assert_eq!(
        key_of(&steps[1].1),
        key("PAYLOAD#acme#delete.payload@buyer.example", "ORDER")
    );
    assert!(
        steps[2].1.get("ConditionExpression").is_none(),
        "a cancelled agreement overwrites the active one"
    );
}

#[tokio::test]
async fn a_repeated_order_id_answers_with_the_earlier_order() {
    let table = Table::new();
    let mut earlier = order_record(cxml::OrderType::New);
    earlier.payload_id = "first.payload@buyer.example".into();
    earlier.answer_text = "the first answer".into();
    table
        .then(Answer::cancelled(&[
            "ConditionalCheckFailed",
            "None",
            "None",
        ]))
        .then(Answer::item(record_item(ORDER, "ORDER", &earlier, &[])));
    let mut plan = OrderPlan::record_only(order_record(cxml::OrderType::New));
    plan.quotes = vec![(ordered_quote(), QuoteStatus::PendingApproval)];
    assert_eq!(
        table.store.place(&plan).await.unwrap(),
        Recorded::Existing(earlier)
    );
    let calls = table.calls();
    assert_eq!(table.operations(), ["TransactWriteItems", "GetItem"]);
    assert_consistent_get(&calls[1], ORDER, "ORDER");
}

#[tokio::test]
async fn a_repeated_payload_id_answers_with_the_earlier_order() {
    let table = Table::new();
    let earlier = order_record(cxml::OrderType::New);
    table
        .then(Answer::cancelled(&["None", "ConditionalCheckFailed"]))
        .then(Answer::ok(serde_json::json!({})))
        .then(Answer::item(record_item(PAYLOAD, "ORDER", &earlier, &[])));
    let mut plan = OrderPlan::record_only(order_record(cxml::OrderType::New));
    plan.record.order_id = "PO-1002".into();
    assert_eq!(
        table.store.place(&plan).await.unwrap(),
        Recorded::Existing(earlier)
    );
    let calls = table.calls();
    assert_consistent_get(&calls[1], "ORDER#acme#PO-1002", "ORDER");
    assert_consistent_get(&calls[2], PAYLOAD, "ORDER");
}

#[tokio::test]
async fn a_quote_no_longer_in_its_expected_status_is_a_conflict() {
    let table = Table::new();
    table.then(Answer::cancelled(&[
        "None",
        "None",
        "ConditionalCheckFailed",
        "None",
    ]));
    let mut plan = OrderPlan::record_only(order_record(cxml::OrderType::New));
    plan.quotes = vec![(ordered_quote(), QuoteStatus::PendingApproval)];
    plan.agreements = vec![agreement(AgreementStatus::Active)];
    assert!(matches!(
        table.store.place(&plan).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        table.operations(),
        ["TransactWriteItems", "GetItem", "GetItem"],
        "no duplicate found under either key"
    );
}

#[tokio::test]
async fn an_order_larger_than_one_transaction_is_refused_before_any_write() {
    let table = Table::new();
    let mut plan = OrderPlan::record_only(order_record(cxml::OrderType::New));
    // Order and payload, plus charges up to the limit: one transaction still holds it.
    plan.charges = (1..=MAX_TRANSACTION_ITEMS - 2)
        .map(|i| invoice_job(&format!("agmt-1-{i}"), at(0)))
        .collect();
    assert_eq!(table.store.place(&plan).await.unwrap(), Recorded::Created);
    assert_eq!(steps(&table.only_call()).len(), MAX_TRANSACTION_ITEMS);

    table.forget();
    plan.cancelled_charges = vec![ChargeId::from("agmt-0-1")];
    assert!(matches!(
        table.store.place(&plan).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        table.calls().is_empty(),
        "nothing written, nothing half-written"
    );
}

#[tokio::test]
async fn orders_and_agreements_are_read_by_their_keys() {
    let table = Table::new();
    let record = order_record(cxml::OrderType::New);
    let agreement = agreement(AgreementStatus::Active);
    table
        .then(Answer::item(record_item(ORDER, "ORDER", &record, &[])))
        .then(Answer::item(record_item(PAYLOAD, "ORDER", &record, &[])))
        .then(Answer::item(record_item(
            "AGREEMENT#agmt-1",
            "AGREEMENT",
            &agreement,
            &[],
        )));
    assert_eq!(
        table
            .store
            .find(&"acme".into(), &"PO-1001".into())
            .await
            .unwrap(),
        Some(record.clone())
    );
    assert_eq!(
        table
            .store
            .find_by_payload(&"acme".into(), "new.payload@buyer.example")
            .await
            .unwrap(),
        Some(record)
    );
    assert_eq!(
        table.store.get_agreement(&"agmt-1".into()).await.unwrap(),
        Some(agreement)
    );
    let calls = table.calls();
    assert_consistent_get(&calls[0], ORDER, "ORDER");
    assert_consistent_get(&calls[1], PAYLOAD, "ORDER");
    assert_consistent_get(&calls[2], "AGREEMENT#agmt-1", "AGREEMENT");

    assert_eq!(
        table
            .store
            .find(&"acme".into(), &"PO-9".into())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        table
            .store
            .find_by_payload(&"acme".into(), "p")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        table.store.get_agreement(&"agmt-9".into()).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn a_resend_takes_the_place_of_the_refused_original_it_read_and_no_other() {
    let table = Table::new();
    let mut refused = order_record(cxml::OrderType::New);
    refused.payload_id = "refused \"1\"@buyer.example".into();
    refused.answer_code = 409;
    let mut plan = OrderPlan::record_only(order_record(cxml::OrderType::Update));
    plan.slot = OrderSlot::Replacing(refused.payload_id.clone());
    assert_eq!(table.store.place(&plan).await.unwrap(), Recorded::Created);
    let steps = steps(&table.only_call());
    assert_eq!(
        key_of(&steps[0].1),
        key(ORDER, "ORDER"),
        "an update standing for the order is the original"
    );
    let order = &steps[0].1;
    assert_eq!(order["ConditionExpression"], "contains(#data, :replaced)");
    let needle = value(order, ":replaced")["S"].as_str().unwrap().to_owned();
    // The condition holds exactly for the stored record of that payloadID.
    let stored = serde_json::to_string(&refused).unwrap();
    assert!(stored.contains(&needle), "{needle} in {stored}");
    let other = serde_json::to_string(&order_record(cxml::OrderType::New)).unwrap();
    assert!(!other.contains(&needle), "{needle} in {other}");
    new_only(&steps[1].1);

    // Cancelled while the slot still holds the refused original: not a duplicate of it.
    table.forget();
    table
        .then(Answer::cancelled(&[
            "None",
            "None",
            "ConditionalCheckFailed",
        ]))
        .then(Answer::item(record_item(ORDER, "ORDER", &refused, &[])))
        .then(Answer::ok(serde_json::json!({})));
    plan.quotes = vec![(ordered_quote(), QuoteStatus::PendingApproval)];
    assert!(matches!(
        table.store.place(&plan).await,
        Err(StoreError::Conflict(_))
    ));

    // Cancelled because another resend took the place first: answered as that one.
    table.forget();
    let mut winner = order_record(cxml::OrderType::New);
    winner.payload_id = "winner@buyer.example".into();
    table
        .then(Answer::cancelled(&[
            "ConditionalCheckFailed",
            "None",
            "None",
        ]))
        .then(Answer::item(record_item(ORDER, "ORDER", &winner, &[])));
    assert_eq!(
        table.store.place(&plan).await.unwrap(),
        Recorded::Existing(winner)
    );
}

#[tokio::test]
async fn a_payload_id_is_kept_per_organisation() {
    // Two organisations sending the same payloadID write and read two records: one cannot
    // hear the other's stored answer, nor keep the other's order from being recorded.
    let table = Table::new();
    let acme = order_record(cxml::OrderType::New);
    let mut other = acme.clone();
    other.org_id = "other-org".into();
    for record in [&acme, &other] {
        let plan = OrderPlan::record_only(record.clone());
        assert_eq!(table.store.place(&plan).await.unwrap(), Recorded::Created);
    }
    let written: Vec<(String, String)> = table
        .calls()
        .iter()
        .map(|call| key_of(&steps(call)[1].1))
        .collect();
    assert_eq!(
        written,
        vec![
            key(PAYLOAD, "ORDER"),
            key("PAYLOAD#other-org#new.payload@buyer.example", "ORDER"),
        ]
    );
    table.then(Answer::item(record_item(
        "PAYLOAD#other-org#new.payload@buyer.example",
        "ORDER",
        &other,
        &[],
    )));
    let found = table
        .store
        .find_by_payload(&"other-org".into(), "new.payload@buyer.example")
        .await
        .unwrap();
    assert_eq!(found.map(|o| o.org_id), Some("other-org".into()));
    assert_consistent_get(
        &table.calls()[2],
        "PAYLOAD#other-org#new.payload@buyer.example",
        "ORDER",
    );
}

fn handover() -> Handover {
    Handover {
        now: at(0),
        requeue_at: at(86_400),
        claimed_until: at(120),
    }
}

#[tokio::test]
async fn what_the_placing_request_hands_over_is_written_handed_over_with_the_order() {
    let table = Table::new();
    let mut plan = full_plan();
    plan.handover = Some(handover());
    plan.sender = Some(cxml::CredentialId::new(" DUNS ", "buyer-1"));
    assert_eq!(table.store.place(&plan).await.unwrap(), Recorded::Created);
    let steps = steps(&table.only_call());
    let at_key = |pk: &str, sk: &str| {
        &steps
            .iter()
            .find(|(_, body)| key_of(body) == key(pk, sk))
            .unwrap_or_else(|| panic!("no step for {pk} / {sk}"))
            .1["Item"]
    };
    let email = at_key("OUTBOX#subscribed#agmt-1", "OUTBOX");
    assert_eq!(email["GSI2PK"], s("OUTBOX"), "still listed for a flush");
    assert_eq!(
        email["claimed_until"],
        n(at(120).unix_timestamp_nanos() / 1_000_000)
    );
    assert_eq!(
        email["attempts"],
        n(1),
        "the request's send is the first attempt"
    );

    let due_now = at_key("CHARGE#agmt-1-1", "CHARGE");
    assert_eq!(due_now["status"], s("queued"));
    assert_eq!(due_now["GSI2PK"], s("CHARGE#queued"));
    assert_eq!(
        due_now["GSI2SK"],
        s(&format!("{}#agmt-1-1", rfc3339(at(86_400))))
    );
    assert_eq!(due_now["queueings"], n(1));
    let later = at_key("CHARGE#agmt-1-2", "CHARGE");
    assert_eq!(
        later["status"],
        s("scheduled"),
        "due tomorrow: the scheduled run's"
    );
    assert!(later.get("queueings").is_none());

    let confirmation = at_key("CONFIRMATION#conf-1", "CONFIRMATION");
    assert_eq!(confirmation["status"], s("queued"));
    assert_eq!(confirmation["GSI2PK"], s("CONFIRMATION#queued"));
    assert_eq!(confirmation["queueings"], n(1));

    let (kind, sent) = steps.last().expect("steps");
    assert_eq!(kind, "Put");
    assert_eq!(
        key_of(sent),
        key("BUYER#duns#buyer-1", "PAYLOAD#new.payload@buyer.example"),
        "next to the credential's item, as the credential item's key is made"
    );
    assert!(
        sent.get("ConditionExpression").is_none(),
        "overwritten: the payloadID's own key keeps the order once per organisation"
    );
    assert_eq!(data_of::<OrderRecord>(&sent["Item"]), plan.record);
}

fn reads(quotes: usize, products: usize) -> OrderReads {
    OrderReads {
        credentials: vec![cxml::CredentialId::new("DUNS", "buyer-1")],
        payload_id: "new.payload@buyer.example".into(),
        quote_ids: (0..quotes).map(|i| format!("q-{i}").into()).collect(),
        product_ids: (0..products).map(|i| format!("prod-{i}")).collect(),
    }
}

#[tokio::test]
async fn the_first_read_of_an_order_is_one_consistent_batch_of_what_its_document_names() {
    let table = Table::new();
    let integration: Integration = procurement::demo::coupa_integration(at(0));
    let earlier = order_record(cxml::OrderType::New);
    let quote = ordered_quote();
    table.then(batch_answer(
        vec![
            record_item(
                "BUYER#duns#buyer-1",
                "CREDENTIAL",
                &integration,
                &[("org_id", s("acme"))],
            ),
            record_item(
                "BUYER#duns#buyer-1",
                "PAYLOAD#new.payload@buyer.example",
                &earlier,
                &[],
            ),
            record_item("QUOTE#q-0", "QUOTE", &quote, &[("status", s("ordered"))]),
        ],
        None,
    ));
    let found = table.store.prefetch(&reads(1, 1)).await.unwrap();
    assert_eq!(
        batch_keys(&table.only_call()),
        vec![
            key("BUYER#duns#buyer-1", "CREDENTIAL"),
            key("BUYER#duns#buyer-1", "PAYLOAD#new.payload@buyer.example"),
            key("QUOTE#q-0", "QUOTE"),
            key("PRODUCT#prod-0", "PRODUCT"),
        ]
    );
    let credential = cxml::CredentialId::new("DUNS", "buyer-1");
    assert_eq!(
        found,
        OrderPrefetch {
            buyers: vec![(credential.clone(), Some(integration))],
            sent: vec![(credential, earlier)],
            quotes: vec![("q-0".into(), Some(quote))],
            products: vec![("prod-0".into(), None::<Product>)],
        },
        "every key asked for answered, a missing one as None"
    );
}

#[tokio::test]
async fn keys_dynamodb_left_unprocessed_are_asked_for_again_and_only_they() {
    let table = Table::new();
    let quote = ordered_quote();
    let unprocessed = json!({"PK": s("QUOTE#q-0"), "SK": s("QUOTE")});
    table
        .then(batch_answer(Vec::new(), Some(vec![unprocessed])))
        .then(batch_answer(
            vec![record_item("QUOTE#q-0", "QUOTE", &quote, &[])],
            None,
        ));
    let found = table.store.prefetch(&reads(1, 0)).await.unwrap();
    let calls = table.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(batch_keys(&calls[0]).len(), 3);
    assert_eq!(batch_keys(&calls[1]), vec![key("QUOTE#q-0", "QUOTE")]);
    assert_eq!(found.quotes, vec![("q-0".into(), Some(quote))]);
    assert_eq!(
        found.buyers[0].1, None,
        "answered in the first round as not there"
    );
}

#[tokio::test]
async fn keys_left_unprocessed_on_every_attempt_make_the_read_unavailable() {
    let table = Table::new();
    let unprocessed = json!({"PK": s("QUOTE#q-0"), "SK": s("QUOTE")});
    for _ in 0..super::super::BATCH_ATTEMPTS {
        table.then(batch_answer(Vec::new(), Some(vec![unprocessed.clone()])));
    }
    let result = table.store.prefetch(&reads(1, 0)).await;
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
    assert_eq!(table.calls().len() as u64, super::super::BATCH_ATTEMPTS);
}

#[tokio::test]
async fn a_read_of_more_than_100_keys_is_split_and_names_each_key_once() {
    let table = Table::new();
    let mut wanted = reads(70, 60);
    // A document naming one quote on every line: each key is read once.
    wanted.quote_ids.push("q-0".into());
    wanted
        .credentials
        .push(cxml::CredentialId::new("duns", "buyer-1"));
    table
        .then(batch_answer(Vec::new(), None))
        .then(batch_answer(Vec::new(), None));
    let found = table.store.prefetch(&wanted).await.unwrap();
    let calls = table.calls();
    let sizes: Vec<usize> = calls.iter().map(|c| batch_keys(c).len()).collect();
    assert_eq!(
        sizes,
        vec![100, 32],
        "2 credential keys, 70 quotes, 60 products"
    );
    assert_eq!(found.quotes.len(), 71, "each quote asked for is answered");
}
