//! Sessions: `SESSION#<token digest>` / `SESSION`, with the TTL attribute.

use procurement::StoreError;
use procurement::model::Session;
use procurement::model::{Integration, Organization, Product};
use procurement::ports::{Sessions, VisitReads, VisitRecords};
use serde_json::json;

use super::{Table, assert_consistent_get, at, batch_answer, batch_keys, key, n, record_item, s};
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

fn visit_reads(products: &[&str]) -> VisitReads {
    VisitReads {
        token_digest: "ab".repeat(32),
        org_id: "acme".into(),
        product_ids: products.iter().map(|p| p.to_string()).collect(),
    }
}

#[tokio::test]
async fn a_visit_is_one_consistent_batch_of_the_session_its_organisation_and_the_products() {
    let table = Table::new();
    let session = session();
    let mut integration: Integration = procurement::demo::coupa_integration(at(0));
    integration.org_id = "acme".into();
    let mut org: Organization = procurement::demo::organizations().remove(0);
    org.org_id = "acme".into();
    let product: Product = procurement::demo::products(at(0)).remove(0);
    let session_pk = format!("SESSION#{}", session.token_digest);
    table.then(batch_answer(
        vec![
            record_item(&session_pk, "SESSION", &session, &[("ttl", n(1))]),
            record_item(
                "ORG#acme",
                "INTEGRATION",
                &integration,
                &[("updated_ns", n(7))],
            ),
            record_item("ORG#acme", "ORG", &org, &[]),
            record_item(&format!("PRODUCT#{}", product.id), "PRODUCT", &product, &[]),
        ],
        None,
    ));
    let reads = visit_reads(&[product.id.as_str(), "prod-gone"]);
    let found = table.store.visit(&reads).await.unwrap();
    assert_eq!(
        batch_keys(&table.only_call()),
        vec![
            key(&session_pk, "SESSION"),
            key("ORG#acme", "INTEGRATION"),
            key("ORG#acme", "ORG"),
            key(&format!("PRODUCT#{}", product.id), "PRODUCT"),
            key("PRODUCT#prod-gone", "PRODUCT"),
        ]
    );
    assert_eq!(
        found,
        VisitRecords {
            session: Some(session),
            integration: Some(integration),
            org: Some(org),
            products: vec![
                (product.id.clone(), Some(product)),
                ("prod-gone".into(), None)
            ],
        }
    );
}

#[tokio::test]
async fn a_visit_reads_what_is_missing_as_none_and_a_broken_item_as_corrupt() {
    let table = Table::new();
    table.then(batch_answer(Vec::new(), None));
    let found = table.store.visit(&visit_reads(&[])).await.unwrap();
    assert_eq!(batch_keys(&table.only_call()).len(), 3, "no product named");
    assert_eq!(found, VisitRecords::default());

    table.forget();
    let pk = format!("SESSION#{}", "ab".repeat(32));
    table.then(batch_answer(
        vec![json!({"PK": s(&pk), "SK": s("SESSION")})],
        None,
    ));
    assert!(
        matches!(
            table.store.visit(&visit_reads(&[])).await,
            Err(StoreError::Corrupt { key, .. }) if key == pk
        ),
        "an item without its record is corrupt, named by its key"
    );
    table.then(Answer::unavailable());
    assert!(matches!(
        table.store.visit(&visit_reads(&["prod-1"])).await,
        Err(StoreError::Unavailable(_))
    ));
}
