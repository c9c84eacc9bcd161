//! Integrations: `ORG#<org>` / `INTEGRATION` versioned by `updated_ns`, and one credential
//! item `BUYER#<domain lowercased>#<identity>` / `CREDENTIAL` per buyer credential, holding its
//! organisation (`org_id`) and a copy of the integration, written in the same transaction.

use procurement::StoreError;
use procurement::demo;
use procurement::model::{Integration, SystemSettings};
use procurement::ports::{IntegrationWrite, Integrations};
use serde_json::Value;

use super::{Table, assert_consistent_get, at, data_of, key, key_of, n, s, steps, value};
use crate::recorded::Answer;

const ARIBA: &str = "BUYER#networkid#AN01000000001";
const ARIBA_TEST: &str = "BUYER#networkid#AN01000000001-T";

fn ariba() -> Integration {
    demo::ariba_integration(at(0))
}

/// A Coupa integration whose buyer credential is written as some buyers send it.
fn coupa() -> Integration {
    let mut integration = demo::coupa_integration(at(0));
    let credentials = integration.settings.coupa_credentials_mut().unwrap();
    credentials.buyer_domain = " DUNS ".into();
    credentials.buyer_identity = " Buyer-1 ".into();
    integration
}

fn without_test_account(mut integration: Integration) -> Integration {
    if let SystemSettings::Ariba(a) = &mut integration.settings.system {
        a.ariba_test_network_id = None;
    }
    integration
}

fn nanos(t: time::OffsetDateTime) -> Value {
    n(t.unix_timestamp_nanos())
}

#[tokio::test]
async fn saving_writes_the_integration_and_each_credential_in_one_transaction() {
    let table = Table::new();
    let integration = ariba();
    Integrations::put(&table.store, &integration).await.unwrap();
    let steps = steps(&table.only_call());
    let keys: Vec<_> = steps.iter().map(|(_, body)| key_of(body)).collect();
    assert_eq!(
        keys,
        vec![
            key("ORG#demo-ariba-org", "INTEGRATION"),
            key(ARIBA, "CREDENTIAL"),
            key(ARIBA_TEST, "CREDENTIAL"),
        ],
        "the production and the test ANID, domain lowercased"
    );
    for (kind, body) in &steps {
        assert_eq!(kind, "Put");
        assert!(
            body.get("ConditionExpression").is_none(),
            "put is unconditional"
        );
        assert_eq!(data_of::<Integration>(&body["Item"]), integration);
    }
    assert_eq!(
        steps[0].1["Item"]["updated_ns"],
        nanos(integration.updated_at)
    );
    for (_, credential) in &steps[1..] {
        assert_eq!(credential["Item"]["org_id"], s("demo-ariba-org"));
    }

    table.then(Answer::cancelled(&["None", "ValidationError", "None"]));
    assert!(matches!(
        Integrations::put(&table.store, &integration).await,
        Err(StoreError::Unavailable(_))
    ));
}

#[tokio::test]
async fn a_credential_key_lowercases_the_domain_and_trims_both_parts() {
    let table = Table::new();
    Integrations::put(&table.store, &coupa()).await.unwrap();
    let steps = steps(&table.only_call());
    assert_eq!(steps.len(), 2);
    assert_eq!(
        key_of(&steps[1].1),
        key("BUYER#duns#Buyer-1", "CREDENTIAL"),
        "identities keep their case"
    );
}

#[tokio::test]
async fn finding_by_buyer_is_one_consistent_read_of_the_credential_item() {
    let table = Table::new();
    let integration = coupa();
    Integrations::put(&table.store, &integration).await.unwrap();
    let credential = steps(&table.calls()[0])[1].1["Item"].clone();
    table.forget();

    table.then(Answer::item(credential));
    let found = table.store.find_by_buyer("Duns", "Buyer-1 ").await.unwrap();
    assert_eq!(found, Some(integration));
    let call = table.only_call();
    assert_consistent_get(&call, "BUYER#duns#Buyer-1", "CREDENTIAL");
    assert!(
        call.body.get("ProjectionExpression").is_none(),
        "the whole copy is read"
    );

    table.forget();
    assert_eq!(
        table.store.find_by_buyer("DUNS", "buyer-1").await.unwrap(),
        None
    );
    assert_consistent_get(&table.only_call(), "BUYER#duns#buyer-1", "CREDENTIAL");
}

#[tokio::test]
async fn an_integration_is_read_by_its_organisation() {
    let table = Table::new();
    let integration = ariba();
    Integrations::put(&table.store, &integration).await.unwrap();
    let item = steps(&table.calls()[0])[0].1["Item"].clone();
    table.forget();
    table.then(Answer::item(item));
    assert_eq!(
        Integrations::get(&table.store, &integration.org_id)
            .await
            .unwrap(),
        Some(integration.clone())
    );
    assert_consistent_get(&table.only_call(), "ORG#demo-ariba-org", "INTEGRATION");
    assert_eq!(
        Integrations::get(&table.store, &"nobody".into())
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn a_first_write_requires_a_new_integration_and_free_credentials() {
    let table = Table::new();
    let integration = ariba();
    assert_eq!(
        table.store.replace(&integration, None).await.unwrap(),
        IntegrationWrite::Written
    );
    let steps = steps(&table.only_call());
    assert_eq!(steps.len(), 3, "no credential to give up");
    assert_eq!(
        steps[0].1["ConditionExpression"],
        "attribute_not_exists(PK)"
    );
    assert_eq!(
        steps[0].1["Item"]["updated_ns"],
        nanos(integration.updated_at)
    );
    for (kind, claim) in &steps[1..] {
        assert_eq!(kind, "Put");
        assert_eq!(
            claim["ConditionExpression"],
            "attribute_not_exists(PK) OR org_id = :org"
        );
        assert_eq!(value(claim, ":org"), &s("demo-ariba-org"));
        assert_eq!(claim["Item"]["org_id"], s("demo-ariba-org"));
        assert_eq!(data_of::<Integration>(&claim["Item"]), integration);
    }
}

#[tokio::test]
async fn a_change_is_conditional_on_the_version_it_was_made_from() {
    let table = Table::new();
    let previous = ariba();
    let mut changed = previous.clone();
    changed.settings.test_mode = false;
    // One nanosecond later: versions tell writes in the same millisecond apart.
    changed.updated_at = previous.updated_at + time::Duration::nanoseconds(1);
    assert_eq!(
        table
            .store
            .replace(&changed, Some(&previous))
            .await
            .unwrap(),
        IntegrationWrite::Written
    );
    let steps = steps(&table.only_call());
    let put = &steps[0].1;
    assert_eq!(
        put["ConditionExpression"],
        "updated_ns = :previous OR attribute_not_exists(updated_ns)"
    );
    assert_eq!(value(put, ":previous"), &nanos(previous.updated_at));
    assert_eq!(put["Item"]["updated_ns"], nanos(changed.updated_at));
    assert_ne!(value(put, ":previous"), &put["Item"]["updated_ns"]);
}

#[tokio::test]
async fn credentials_the_previous_version_held_are_given_up_in_the_same_write() {
    let table = Table::new();
    let previous = ariba();
    let changed = without_test_account(previous.clone());
    table
        .store
        .replace(&changed, Some(&previous))
        .await
        .unwrap();
    let steps = steps(&table.only_call());
    let kinds: Vec<&str> = steps.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["Put", "Put", "Delete"]);
    assert_eq!(
        key_of(&steps[1].1),
        key(ARIBA, "CREDENTIAL"),
        "kept, with the new copy"
    );
    assert_eq!(
        data_of::<Integration>(&steps[1].1["Item"]),
        changed,
        "the kept credential's copy is the new version"
    );
    let give_up = &steps[2].1;
    assert_eq!(key_of(give_up), key(ARIBA_TEST, "CREDENTIAL"));
    assert_eq!(
        give_up["ConditionExpression"], "attribute_not_exists(PK) OR org_id = :org",
        "never another organisation's"
    );
    assert_eq!(value(give_up, ":org"), &s("demo-ariba-org"));
}

#[tokio::test]
async fn a_cancelled_replace_says_which_condition_failed() {
    let table = Table::new();
    let previous = ariba();
    let changed = without_test_account(previous.clone());
    // Steps: 0 the integration, 1 the kept credential, 2 giving up the test ANID.
    let cases: [(&[&str], Option<IntegrationWrite>); 5] = [
        (
            &["ConditionalCheckFailed", "None", "None"],
            Some(IntegrationWrite::Stale),
        ),
        (
            &["None", "ConditionalCheckFailed", "None"],
            Some(IntegrationWrite::CredentialTaken),
        ),
        (
            &["ConditionalCheckFailed", "ConditionalCheckFailed", "None"],
            Some(IntegrationWrite::CredentialTaken),
        ),
        // The credential given up is another organisation's now: not ours to delete.
        (&["None", "None", "ConditionalCheckFailed"], None),
        (&["None", "ValidationError", "None"], None),
    ];
    for (reasons, expected) in cases {
        table.then(Answer::cancelled(reasons));
        let written = table.store.replace(&changed, Some(&previous)).await;
        match expected {
            Some(expected) => assert_eq!(written.unwrap(), expected, "{reasons:?}"),
            None => assert!(
                matches!(written, Err(StoreError::Conflict(_))),
                "{reasons:?}: {written:?}"
            ),
        }
    }
    assert_eq!(table.calls().len(), 5, "a failed condition is not retried");
}

#[tokio::test]
async fn a_second_ariba_credential_claimed_elsewhere_is_taken() {
    let table = Table::new();
    // Steps: 0 the integration, 1 the production ANID, 2 the test ANID.
    table.then(Answer::cancelled(&[
        "None",
        "None",
        "ConditionalCheckFailed",
    ]));
    assert_eq!(
        table.store.replace(&ariba(), None).await.unwrap(),
        IntegrationWrite::CredentialTaken
    );
}

#[tokio::test]
async fn a_coupa_test_instance_claims_its_own_credential_and_gives_it_up_when_removed() {
    let table = Table::new();
    let previous = coupa();
    let mut with_test = previous.clone();
    if let SystemSettings::Coupa(c) = &mut with_test.settings.system {
        let mut credentials = c.credentials.clone();
        credentials.buyer_identity = "Buyer-1-test".into();
        c.test_instance = Some(procurement::model::CoupaInstance {
            credentials,
            invoice_url: None,
        });
    }
    with_test.test_secret_digest = Some("cd".repeat(32));
    with_test.updated_at = previous.updated_at + time::Duration::nanoseconds(1);
    table
        .store
        .replace(&with_test, Some(&previous))
        .await
        .unwrap();
    let steps_made = steps(&table.only_call());
    let keys: Vec<_> = steps_made.iter().map(|(_, body)| key_of(body)).collect();
    assert_eq!(
        keys,
        vec![
            key("ORG#demo-coupa-org", "INTEGRATION"),
            key("BUYER#duns#Buyer-1", "CREDENTIAL"),
            key("BUYER#duns#Buyer-1-test", "CREDENTIAL"),
        ]
    );
    assert_eq!(
        steps_made[2].1["ConditionExpression"],
        "attribute_not_exists(PK) OR org_id = :org"
    );
    assert_eq!(data_of::<Integration>(&steps_made[2].1["Item"]), with_test);

    table.forget();
    let mut removed = previous.clone();
    removed.updated_at = with_test.updated_at + time::Duration::nanoseconds(1);
    table
        .store
        .replace(&removed, Some(&with_test))
        .await
        .unwrap();
    let steps_made = steps(&table.only_call());
    let kinds: Vec<&str> = steps_made.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["Put", "Put", "Delete"]);
    assert_eq!(
        key_of(&steps_made[2].1),
        key("BUYER#duns#Buyer-1-test", "CREDENTIAL")
    );
}
