//! Organisations: `ORG#<org>` / `ORG`, and one `ACCOUNT#<id>` / `ACCOUNT` item per AWS account
//! naming its organisation; accounts that left are forgotten, only if still this one's.

use std::collections::BTreeSet;

use procurement::model::Organization;
use procurement::ports::Organizations;
use serde_json::json;

use super::{Table, assert_consistent_get, data_of, key, key_of, record_item, s, steps, value};
use crate::recorded::Answer;

fn org() -> Organization {
    Organization {
        org_id: "acme".into(),
        name: "Acme".into(),
        management_account_id: "111111111111".into(),
        member_account_ids: vec![
            " 222222222222 ".into(),
            "111111111111".into(),
            String::new(),
        ],
        private_marketplace: None,
    }
}

fn stored(org: &Organization) -> serde_json::Value {
    record_item("ORG#acme", "ORG", org, &[])
}

#[tokio::test]
async fn an_organisation_is_written_with_one_item_per_account() {
    let table = Table::new();
    let org = org();
    Organizations::put(&table.store, &org).await.unwrap();
    let calls = table.calls();
    assert_eq!(table.operations(), ["GetItem", "TransactWriteItems"]);
    assert_consistent_get(&calls[0], "ORG#acme", "ORG");
    let steps = steps(&calls[1]);
    assert_eq!(key_of(&steps[0].1), key("ORG#acme", "ORG"));
    assert_eq!(data_of::<Organization>(&steps[0].1["Item"]), org);
    assert_eq!(
        steps[1..]
            .iter()
            .map(|(_, b)| b["Item"].clone())
            .collect::<Vec<_>>(),
        vec![
            json!({"PK": s("ACCOUNT#111111111111"), "SK": s("ACCOUNT"), "org_id": s("acme")}),
            json!({"PK": s("ACCOUNT#222222222222"), "SK": s("ACCOUNT"), "org_id": s("acme")}),
        ],
        "each account once, trimmed; blanks are no account"
    );
}

#[tokio::test]
async fn accounts_that_left_are_forgotten_unless_another_organisation_took_them() {
    let table = Table::new();
    let mut previous = org();
    previous.member_account_ids.push("333333333333".into());
    previous.member_account_ids.push("444444444444".into());
    table
        .then(Answer::item(stored(&previous)))
        .then(Answer::ok(json!({})))
        .then(Answer::condition_failed());
    Organizations::put(&table.store, &org()).await.unwrap();
    let calls = table.calls();
    assert_eq!(
        table.operations(),
        ["GetItem", "TransactWriteItems", "DeleteItem", "DeleteItem"],
        "a lost condition on one account does not stop the others"
    );
    for (call, account) in calls[2..].iter().zip(["333333333333", "444444444444"]) {
        assert_eq!(
            call.body["Key"],
            json!({"PK": s(&format!("ACCOUNT#{account}")), "SK": s("ACCOUNT")})
        );
        assert_eq!(call.body["ConditionExpression"], "org_id = :org");
        assert_eq!(value(&call.body, ":org"), &s("acme"));
    }

    table.forget();
    table
        .then(Answer::item(stored(&previous)))
        .then(Answer::ok(json!({})))
        .then(Answer::unavailable());
    assert!(Organizations::put(&table.store, &org()).await.is_err());
}

#[tokio::test]
async fn a_large_organisation_is_written_in_transactions_of_at_most_100() {
    let table = Table::new();
    let mut org = org();
    org.member_account_ids = (0..150).map(|i| format!("{:012}", 500_000 + i)).collect();
    Organizations::put(&table.store, &org).await.unwrap();
    let calls = table.calls();
    assert_eq!(
        table.operations(),
        ["GetItem", "TransactWriteItems", "TransactWriteItems"]
    );
    let sizes: Vec<usize> = calls[1..].iter().map(|c| steps(c).len()).collect();
    assert_eq!(
        sizes,
        [100, 52],
        "the organisation, its management account, 150 members"
    );
    let written: BTreeSet<_> = calls[1..]
        .iter()
        .flat_map(|c| steps(c).into_iter().map(|(_, b)| key_of(&b).0))
        .collect();
    assert_eq!(written.len(), 152, "every item once");
}

#[tokio::test]
async fn an_account_finds_its_organisation_through_its_account_item() {
    let table = Table::new();
    let org = org();
    table
        .then(Answer::item(json!({"org_id": s("acme")})))
        .then(Answer::item(stored(&org)));
    assert_eq!(
        table.store.find_by_account(" 222222222222 ").await.unwrap(),
        Some(org.clone())
    );
    let calls = table.calls();
    assert_eq!(calls[0].operation, "GetItem");
    assert_eq!(
        calls[0].body["Key"],
        json!({"PK": s("ACCOUNT#222222222222"), "SK": s("ACCOUNT")})
    );
    assert_eq!(calls[0].body["ConsistentRead"], true);
    assert_eq!(
        calls[0].body["ExpressionAttributeNames"],
        json!({"#attribute": "org_id"})
    );
    assert_consistent_get(&calls[1], "ORG#acme", "ORG");

    table.forget();
    assert_eq!(
        table.store.find_by_account("999999999999").await.unwrap(),
        None
    );
    assert_eq!(
        table.calls().len(),
        1,
        "no account item, no organisation read"
    );

    table.forget();
    table
        .then(Answer::item(json!({"org_id": s("acme")})))
        .then(Answer::item(stored(&org)));
    assert_eq!(
        table.store.find_by_account("333333333333").await.unwrap(),
        None,
        "an account item left behind does not make the account a member"
    );
}
