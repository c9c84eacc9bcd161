//! The DynamoDB adapter against recorded exchanges (no moto): the request each port method
//! sends (table, keys, conditions, indexes, transaction steps) and what each answer becomes
//! (items decoded, missing items, failed conditions, cancelled transactions, pages).
//!
//! Every test runs on a [`Table`], which on drop also checks each request it recorded against
//! what DynamoDB itself refuses (see [`assert_acceptable`]).

mod catalog;
mod charges;
mod confirmations;
mod integrations;
mod message_log;
mod openbuy_tokens;
mod orders;
mod organizations;
mod outbox;
mod quotes;
mod sessions;
mod transactions;

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::AttributeValue;
use cxml::{Currency, Money};
use procurement::ids::{AgreementId, ChargeId, ConfirmationId, OrderId, OrgId, QuoteId};
use procurement::model::{
    Agreement, AgreementStatus, Confirmation, Email, InvoiceJob, OrderRecord, OutboxEmail,
};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{DynamoStore, Item};
use crate::recorded::{Answer, Call, RecordedDynamo};

const TABLE: &str = "procurement";

/// The adapter on a recorded client.
pub(super) struct Table {
    pub recorded: RecordedDynamo,
    pub store: DynamoStore,
}

impl Table {
    pub fn new() -> Self {
        let recorded = RecordedDynamo::new();
        let store = DynamoStore::new(recorded.client(), TABLE);
        Self { recorded, store }
    }

    /// Scripts the answer to the next request not yet answered.
    pub fn then(&self, answer: Answer) -> &Self {
        self.recorded.then(answer);
        self
    }

    pub fn calls(&self) -> Vec<Call> {
        self.recorded.calls()
    }

    /// The one request made so far.
    pub fn only_call(&self) -> Call {
        let calls = self.calls();
        assert_eq!(calls.len(), 1, "one request expected: {calls:#?}");
        calls.into_iter().next().expect("one call")
    }

    pub fn operations(&self) -> Vec<String> {
        self.recorded.operations()
    }

    /// Checks the requests so far, then forgets them.
    pub fn forget(&self) {
        assert_acceptable(&self.calls());
        self.recorded.clear();
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            assert_acceptable(&self.recorded.calls());
        }
    }
}

/// A fixed moment (2025-06-15T15:06:40Z) plus `seconds`, with sub-second nanoseconds, so a
/// version or bound that drops them shows.
pub(super) fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_750_000_000 + seconds).expect("a valid time")
        + time::Duration::nanoseconds(123_456_789)
}

pub(super) fn s(value: &str) -> Value {
    json!({ "S": value })
}

pub(super) fn n(value: impl ToString) -> Value {
    json!({ "N": value.to_string() })
}

/// An adapter-built item in DynamoDB JSON, to answer a read with.
pub(super) fn json_item(item: &Item) -> Value {
    Value::Object(
        item.iter()
            .map(|(name, value)| {
                let value = match value {
                    AttributeValue::S(v) => s(v),
                    AttributeValue::N(v) => json!({ "N": v }),
                    other => panic!("the adapter writes only strings and numbers, not {other:?}"),
                };
                (name.clone(), value)
            })
            .collect(),
    )
}

/// A record as the adapter keeps it: keys, the record as JSON in `data`, and `extra` attributes.
pub(super) fn record_item<T: Serialize>(
    pk: &str,
    sk: &str,
    record: &T,
    extra: &[(&str, Value)],
) -> Value {
    let mut item = json!({
        "PK": s(pk),
        "SK": s(sk),
        "data": s(&serde_json::to_string(record).expect("serializable")),
    });
    for (name, value) in extra {
        item[*name] = value.clone();
    }
    item
}

/// The record kept in an item's `data`.
pub(super) fn data_of<T: serde::de::DeserializeOwned>(item: &Value) -> T {
    let data = item["data"]["S"]
        .as_str()
        .unwrap_or_else(|| panic!("no data in {item}"));
    serde_json::from_str(data).expect("data is the record as JSON")
}

/// The steps of a TransactWriteItems request: (Put, Update, Delete or ConditionCheck, body).
pub(super) fn steps(call: &Call) -> Vec<(String, Value)> {
    assert_eq!(call.operation, "TransactWriteItems");
    call.body["TransactItems"]
        .as_array()
        .expect("TransactItems")
        .iter()
        .map(|step| {
            let (kind, body) = step
                .as_object()
                .and_then(|o| o.iter().next())
                .expect("one action per step");
            (kind.clone(), body.clone())
        })
        .collect()
}

/// The key a step or request acts on: a Put's item keys, or its Key.
pub(super) fn key_of(body: &Value) -> (String, String) {
    let keys = if body.get("Item").is_some() {
        &body["Item"]
    } else {
        &body["Key"]
    };
    let part = |name: &str| {
        keys[name]["S"]
            .as_str()
            .unwrap_or_else(|| panic!("no string {name} in {body}"))
            .to_string()
    };
    (part("PK"), part("SK"))
}

pub(super) fn key(pk: &str, sk: &str) -> (String, String) {
    (pk.to_string(), sk.to_string())
}

/// The value of an expression placeholder in a request or step.
pub(super) fn value<'a>(body: &'a Value, placeholder: &str) -> &'a Value {
    &body["ExpressionAttributeValues"][placeholder]
}

/// A consistent GetItem of this key, reading the whole item.
pub(super) fn assert_consistent_get(call: &Call, pk: &str, sk: &str) {
    assert_eq!(call.operation, "GetItem");
    assert_eq!(call.body["TableName"], TABLE);
    assert_eq!(call.body["Key"], json!({"PK": s(pk), "SK": s(sk)}));
    assert_eq!(call.body["ConsistentRead"], true, "reads are consistent");
}

// Fixtures.

pub(super) fn usd(cents: i64) -> Money {
    Money::new(Decimal::new(cents, 2), Currency::USD)
}

pub(super) fn order_record(order_type: cxml::OrderType) -> OrderRecord {
    OrderRecord {
        org_id: OrgId::from("acme"),
        order_id: OrderId::from("PO-1001"),
        payload_id: format!("{}.payload@buyer.example", order_type.as_str()),
        order_type,
        test: false,
        lines: 1,
        total: usd(120_000),
        received_at: at(0),
        answer_code: 200,
        answer_text: "OK".into(),
        quote_ids: vec![QuoteId::from("q-1")],
        agreement_ids: vec![AgreementId::from("agmt-1")],
    }
}

pub(super) fn agreement(status: AgreementStatus) -> Agreement {
    Agreement {
        agreement_id: AgreementId::from("agmt-1"),
        org_id: OrgId::from("acme"),
        product_id: "prod-saas-upfront".into(),
        quote_id: QuoteId::from("q-1"),
        po_number: Some(OrderId::from("PO-1001")),
        order_date: Some(at(0)),
        subscriber_email: Some("jim@buyer.example".into()),
        status,
        charge_ids: vec![ChargeId::from("agmt-1-1")],
        created_at: at(0),
    }
}

pub(super) fn invoice_job(charge: &str, due: OffsetDateTime) -> InvoiceJob {
    InvoiceJob {
        org_id: OrgId::from("acme"),
        order_id: OrderId::from("PO-1001"),
        agreement_id: AgreementId::from("agmt-1"),
        charge_id: ChargeId::from(charge),
        description: "Ledgerly Analytics, 12 months".into(),
        amount: usd(120_000),
        due,
        po_line_number: Some(1),
        line: None,
        invoice_number: None,
    }
}

pub(super) fn outbox_email(email_id: &str) -> OutboxEmail {
    OutboxEmail {
        email_id: email_id.into(),
        email: Email {
            to: "jim@buyer.example".into(),
            subject: "Subscribed".into(),
            text: "You are subscribed.".into(),
        },
        created_at: at(0),
    }
}

pub(super) fn confirmation(id: &str) -> Confirmation {
    Confirmation {
        confirmation_id: ConfirmationId::from(id),
        org_id: OrgId::from("acme"),
        order_id: OrderId::from("PO-1001"),
        order_payload_id: "new.payload@buyer.example".into(),
        order_date: at(0),
        buyer_anid: "AN01000000001".into(),
        created_at: at(1),
    }
}

// What DynamoDB refuses, checked on every recorded request.

/// Words DynamoDB reserves that the table's attributes could plausibly be named: an
/// expression must name them through `#placeholders`.
const RESERVED: [&str; 21] = [
    "CATALOG",
    "COUNT",
    "DATA",
    "DATE",
    "DOMAIN",
    "IDENTITY",
    "INDEX",
    "KEY",
    "NAME",
    "ORDER",
    "SESSION",
    "STATE",
    "STATUS",
    "TABLE",
    "TIME",
    "TIMESTAMP",
    "TOKEN",
    "TTL",
    "TYPE",
    "USER",
    "VALUE",
];

const EXPRESSIONS: [&str; 5] = [
    "ConditionExpression",
    "UpdateExpression",
    "KeyConditionExpression",
    "ProjectionExpression",
    "FilterExpression",
];

/// Each `:value` or `#name` placeholder of an expression.
fn placeholders(expression: &str, sigil: char) -> BTreeSet<String> {
    tokens(expression)
        .into_iter()
        .filter_map(|(before, token)| (before == Some(sigil)).then(|| format!("{sigil}{token}")))
        .collect()
}

/// The identifiers of an expression, each with the character just before it.
fn tokens(expression: &str) -> Vec<(Option<char>, String)> {
    let mut out = Vec::new();
    let mut before = None;
    let mut current = String::new();
    let mut current_before = None;
    for c in expression.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            if current.is_empty() {
                current_before = before;
            }
            current.push(c);
        } else {
            if !current.is_empty() {
                out.push((current_before, std::mem::take(&mut current)));
            }
            before = Some(c);
        }
    }
    if !current.is_empty() {
        out.push((current_before, current));
    }
    out
}

fn names(map: &Value) -> BTreeSet<String> {
    map.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// One request or transaction step: every placeholder its expressions use is defined and every
/// one defined is used (DynamoDB refuses both), no reserved word is named bare, key attributes
/// are never updated, and items carry non-empty string keys and whole index keys.
fn assert_acceptable_body(what: &str, body: &Value) {
    assert_eq!(body["TableName"], TABLE, "{what} names the table: {body}");
    let expressions: Vec<&str> = EXPRESSIONS
        .iter()
        .filter_map(|e| body.get(*e).and_then(Value::as_str))
        .collect();
    for (sigil, map) in [
        (':', "ExpressionAttributeValues"),
        ('#', "ExpressionAttributeNames"),
    ] {
        let used: BTreeSet<String> = expressions
            .iter()
            .flat_map(|e| placeholders(e, sigil))
            .collect();
        assert_eq!(
            used,
            names(&body[map]),
            "{what}: {map} used vs defined in {body}"
        );
    }
    for expression in &expressions {
        for (before, token) in tokens(expression) {
            if before != Some(':') && before != Some('#') {
                assert!(
                    !RESERVED.contains(&token.to_ascii_uppercase().as_str()),
                    "{what} names the reserved word {token} bare: {expression}"
                );
            }
        }
    }
    if let Some(update) = body.get("UpdateExpression").and_then(Value::as_str) {
        assert!(
            tokens(update)
                .iter()
                .all(|(before, t)| before.is_some_and(|b| b == ':' || b == '#')
                    || (t != "PK" && t != "SK")),
            "{what} updates a key attribute: {update}"
        );
    }
    if let Some(item) = body.get("Item") {
        for key in ["PK", "SK"] {
            assert!(
                item[key]["S"].as_str().is_some_and(|k| !k.is_empty()),
                "{what}: item without a string {key}: {item}"
            );
        }
        for index in ["GSI1", "GSI2"] {
            let pk = item.get(format!("{index}PK"));
            let sk = item.get(format!("{index}SK"));
            assert_eq!(
                pk.is_some(),
                sk.is_some(),
                "{what}: half an {index} key: {item}"
            );
            for part in [pk, sk].into_iter().flatten() {
                assert!(
                    part["S"].as_str().is_some_and(|k| !k.is_empty()),
                    "{what}: {index} key parts are non-empty strings: {item}"
                );
            }
        }
    }
    if let Some(key) = body.get("Key") {
        assert_eq!(
            names(key),
            BTreeSet::from(["PK".to_string(), "SK".to_string()]),
            "{what}: a key is PK and SK: {key}"
        );
    }
}

/// Every request recorded: each as [`assert_acceptable_body`]; transactions of at most 100
/// steps, each item named once, with a request token.
pub(super) fn assert_acceptable(calls: &[Call]) {
    for call in calls {
        if call.operation == "TransactWriteItems" {
            let steps = steps(call);
            assert!(
                !steps.is_empty() && steps.len() <= super::MAX_TRANSACTION_ITEMS,
                "a transaction has 1 to 100 steps, not {}",
                steps.len()
            );
            let mut keys = BTreeSet::new();
            for (i, (kind, body)) in steps.iter().enumerate() {
                assert_acceptable_body(&format!("step {i} ({kind})"), body);
                assert!(
                    keys.insert(key_of(body)),
                    "a transaction names {:?} twice",
                    key_of(body)
                );
            }
            assert!(
                call.body["ClientRequestToken"]
                    .as_str()
                    .is_some_and(|t| !t.is_empty()),
                "a transaction carries its request token"
            );
        } else if call.operation == "BatchGetItem" {
            assert_acceptable_batch_get(&call.body);
        } else {
            assert_acceptable_body(&call.operation, &call.body);
        }
    }
}

/// The keys a BatchGetItem asked for, in order.
pub(super) fn batch_keys(call: &crate::recorded::Call) -> Vec<(String, String)> {
    assert_eq!(call.operation, "BatchGetItem");
    call.body["RequestItems"][TABLE]["Keys"]
        .as_array()
        .expect("Keys")
        .iter()
        .map(|k| key_of(&json!({ "Key": k })))
        .collect()
}

pub(super) fn batch_answer(items: Vec<Value>, unprocessed: Option<Vec<Value>>) -> Answer {
    let mut body = json!({ "Responses": { TABLE: items } });
    if let Some(keys) = unprocessed {
        body["UnprocessedKeys"] = json!({ TABLE: { "Keys": keys, "ConsistentRead": true } });
    }
    Answer::ok(body)
}

/// A BatchGetItem: of this table only, 1 to 100 keys (PK and SK, non-empty strings), none
/// twice (DynamoDB refuses a request that names one twice), read consistently.
fn assert_acceptable_batch_get(body: &Value) {
    let tables = names(&body["RequestItems"]);
    assert_eq!(tables, BTreeSet::from([TABLE.to_string()]), "{body}");
    let request = &body["RequestItems"][TABLE];
    let keys = request["Keys"].as_array().expect("Keys");
    assert!(
        !keys.is_empty() && keys.len() <= super::MAX_BATCH_KEYS,
        "a BatchGetItem reads 1 to 100 keys, not {}",
        keys.len()
    );
    let mut seen = BTreeSet::new();
    for k in keys {
        assert_eq!(
            names(k),
            BTreeSet::from(["PK".to_string(), "SK".to_string()]),
            "a key is PK and SK: {k}"
        );
        let key = key_of(&json!({ "Key": k }));
        assert!(
            !key.0.is_empty() && !key.1.is_empty(),
            "empty key part: {k}"
        );
        assert!(seen.insert(key.clone()), "BatchGetItem names {key:?} twice");
    }
    assert_eq!(request["ConsistentRead"], true, "reads are consistent");
}

#[test]
fn the_request_checks_catch_what_dynamodb_refuses() {
    let fine = json!({
        "TableName": TABLE,
        "Key": {"PK": s("A"), "SK": s("B")},
        "UpdateExpression": "SET #status = :s REMOVE GSI2PK",
        "ConditionExpression": "attribute_exists(PK) AND #status IN (:a, :b)",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {":s": s("x"), ":a": s("a"), ":b": s("b")},
    });
    assert_acceptable_body("fine", &fine);
    let refused = |change: &dyn Fn(&mut Value)| {
        let mut body = fine.clone();
        change(&mut body);
        std::panic::catch_unwind(|| assert_acceptable_body("changed", &body)).is_err()
    };
    assert!(refused(
        &|b| b["ExpressionAttributeValues"][":unused"] = s("u")
    ));
    assert!(refused(&|b| {
        b["ExpressionAttributeNames"]
            .as_object_mut()
            .unwrap()
            .remove("#status");
    }));
    assert!(refused(
        &|b| b["ConditionExpression"] = json!("status = :a OR #status = :b")
    ));
    assert!(refused(
        &|b| b["UpdateExpression"] = json!("SET #status = :s, SK = :a, PK = :b")
    ));
    assert!(refused(&|b| b["TableName"] = json!("other")));
    assert!(refused(&|b| {
        b["Key"]["GSI2PK"] = s("x");
    }));
}
