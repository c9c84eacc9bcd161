//! The catalog: `PRODUCT#<id>` / `PRODUCT`, listed through GSI1 `CATALOG` by title.

use procurement::StoreError;
use procurement::model::Product;
use procurement::ports::Catalog;
use serde_json::json;

use super::{Table, assert_consistent_get, at, data_of, s, value};
use crate::recorded::Answer;

fn products() -> Vec<Product> {
    procurement::demo::products(at(0))
}

#[tokio::test]
async fn a_product_is_written_under_its_title_in_the_catalog_index() {
    let table = Table::new();
    let product = products().remove(1);
    table.store.put_product(&product).await.unwrap();
    let call = table.only_call();
    assert_eq!(call.operation, "PutItem");
    let item = &call.body["Item"];
    assert_eq!(item["PK"], s(&format!("PRODUCT#{}", product.id)));
    assert_eq!(item["SK"], s("PRODUCT"));
    assert_eq!(item["GSI1PK"], s("CATALOG"));
    assert_eq!(
        item["GSI1SK"],
        s(&format!("{}#{}", product.title, product.id)),
        "titles as written, non-ASCII too"
    );
    assert_eq!(data_of::<Product>(item), product);

    let item = item.clone();
    table.forget();
    table.then(Answer::item(item));
    assert_eq!(
        table.store.get_product(&product.id).await.unwrap(),
        Some(product.clone())
    );
    assert_consistent_get(
        &table.only_call(),
        &format!("PRODUCT#{}", product.id),
        "PRODUCT",
    );
    assert_eq!(table.store.get_product("gone").await.unwrap(), None);
}

#[tokio::test]
async fn listing_follows_the_catalog_index_to_its_last_page() {
    let table = Table::new();
    let products = products();
    let items: Vec<_> = products
        .iter()
        .map(|p| {
            super::record_item(
                &format!("PRODUCT#{}", p.id),
                "PRODUCT",
                p,
                &[
                    ("GSI1PK", s("CATALOG")),
                    ("GSI1SK", s(&format!("{}#{}", p.title, p.id))),
                ],
            )
        })
        .collect();
    let (first, rest) = items.split_at(2);
    let last_key = json!({
        "PK": first[1]["PK"], "SK": s("PRODUCT"),
        "GSI1PK": s("CATALOG"), "GSI1SK": first[1]["GSI1SK"],
    });
    table
        .then(Answer::page(first.to_vec(), Some(last_key.clone())))
        .then(Answer::page(rest.to_vec(), Some(json!({}))));
    assert_eq!(table.store.list_products().await.unwrap(), products);
    let calls = table.calls();
    assert_eq!(calls.len(), 2, "an empty LastEvaluatedKey ends the listing");
    for call in &calls {
        assert_eq!(call.operation, "Query");
        assert_eq!(call.body["IndexName"], "GSI1");
        assert_eq!(call.body["KeyConditionExpression"], "GSI1PK = :pk");
        assert_eq!(value(&call.body, ":pk"), &s("CATALOG"));
    }
    assert!(calls[0].body.get("ExclusiveStartKey").is_none());
    assert_eq!(calls[1].body["ExclusiveStartKey"], last_key);

    table.forget();
    table
        .then(Answer::page(first.to_vec(), Some(last_key)))
        .then(Answer::unavailable());
    assert!(matches!(
        table.store.list_products().await,
        Err(StoreError::Unavailable(_))
    ));
}

#[tokio::test]
async fn a_private_offer_stored_before_it_named_its_buyers_loads_naming_no_one() {
    let table = Table::new();
    let product = products()
        .into_iter()
        .find(|p| p.id == procurement::demo::PRIVATE_OFFER_PRODUCT)
        .unwrap();
    assert!(
        !product
            .private_offer
            .as_ref()
            .unwrap()
            .extended_to
            .is_empty()
    );
    // The item as an earlier version wrote it: the offer without `extended_to`.
    let mut old = serde_json::to_value(&product).unwrap();
    old["private_offer"]
        .as_object_mut()
        .unwrap()
        .remove("extended_to");
    let item = super::record_item(&format!("PRODUCT#{}", product.id), "PRODUCT", &old, &[]);
    table.then(Answer::item(item));
    let loaded = table.store.get_product(&product.id).await.unwrap().unwrap();
    let offer = loaded.private_offer.as_ref().unwrap();
    assert!(offer.extended_to.is_empty(), "offered to no one");
    assert_eq!(
        offer.offer_id,
        product.private_offer.as_ref().unwrap().offer_id
    );
    assert!(!procurement::catalog::offered_to(
        &loaded,
        &procurement::demo::COUPA_ORG.into(),
        None
    ));
}
