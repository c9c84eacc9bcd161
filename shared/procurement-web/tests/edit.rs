//! Edit and inspect: a cart we returned comes back in a PunchOutSetupRequest (`operation`
//! edit or inspect, its `ItemOut` lines carrying our quote IDs as SupplierPartAuxiliaryID)
//! and is re-opened from the stored quotes. Sessions are opened with real setup requests and
//! carts read back out of the page, as the procurement system reads them.

mod support;

use procurement::demo;
use procurement::fakes::FakeWorld;
use procurement::model::*;
use rust_decimal_macros::dec;
use support::*;

const REQUEST_BUTTON: &str = "<button type=\"submit\">Request approval</button>";

/// The cart Request approval returned in a fresh `create` session of `setup`'s buyer.
async fn cart_for(world: &FakeWorld, setup: &Setup, product_id: &str) -> PostedCart {
    let token = open_session(world, setup).await;
    let reply = request_approval(world, &token, product_id).await;
    assert_eq!(reply.status, 200, "{product_id}: {}", reply.body);
    posted_cart(&reply.body)
}

/// (SupplierPartID, SupplierPartAuxiliaryID, quantity, unit price) of each line.
fn lines(cart: &PostedCart) -> Vec<(String, String, String, String)> {
    cart.poom()
        .items
        .iter()
        .map(|i| {
            (
                i.item_id.supplier_part_id.clone(),
                i.item_id
                    .supplier_part_auxiliary_id
                    .clone()
                    .unwrap_or_default(),
                i.quantity.to_string(),
                i.detail.unit_price.to_string(),
            )
        })
        .collect()
}

fn aux_ids(cart: &PostedCart) -> Vec<String> {
    let mut ids: Vec<String> = lines(cart).into_iter().map(|l| l.1).collect();
    ids.dedup();
    ids
}

#[tokio::test]
async fn edit_reopens_the_cart_and_an_unchanged_request_keeps_its_auxiliary_id() {
    let world = FakeWorld::demo().await;
    let first = cart_for(&world, &Setup::coupa(), "prod-saas-contract-payg").await;
    let quote_id = aux_ids(&first)[0].clone();
    let stored = world.store.quote_count();

    let token = open_session(&world, &Setup::coupa().reopening("edit", first.poom())).await;
    let page = get(&world, "/punchout/start", &[("token", &token)]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for needle in [
        "<h2 id=\"your-cart-title\">Your cart in Coupa</h2>",
        "Orbit CRM Enterprise",
        &format!("Reference {quote_id}"),
        "6,000.00 USD",
        "10,000.00 USD",
        "Return to Coupa with your cart unchanged",
    ] {
        assert!(
            page.body.contains(needle),
            "{needle:?} missing in {}",
            page.body
        );
    }

    // Nothing changed: the same quote goes back, both lines, and nothing new is stored.
    let reply = request_approval(&world, &token, "prod-saas-contract-payg").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply.body.contains("with the same reference"),
        "{}",
        reply.body
    );
    let again = posted_cart(&reply.body);
    assert_eq!(lines(&again), lines(&first));
    assert_eq!(again.poom().header.total, first.poom().header.total);
    assert_eq!(world.store.quote_count(), stored);
    xmllint(&again.xml).unwrap_or_else(|e| panic!("{e}\n{}", again.xml));
}

#[tokio::test]
async fn a_changed_cart_gets_a_replacement_quote_and_keeps_the_rest() {
    let world = FakeWorld::demo().await;
    let first = cart_for(&world, &Setup::coupa(), "prod-saas-upfront").await;
    let upfront = aux_ids(&first)[0].clone();

    // Another product added: the re-opened quote stays, the new one joins it.
    let token = open_session(&world, &Setup::coupa().reopening("edit", first.poom())).await;
    let product = get(
        &world,
        "/catalog/products/prod-saas-payg",
        &[("token", &token)],
    )
    .await;
    assert!(product.body.contains(REQUEST_BUTTON));
    assert!(
        product
            .body
            .contains("The rest of the cart you re-opened goes back with it.")
    );
    let reply = request_approval(&world, &token, "prod-saas-payg").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let both = posted_cart(&reply.body);
    let ids = aux_ids(&both);
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_eq!(ids[0], upfront);
    assert_ne!(ids[1], upfront);
    assert_eq!(both.poom().items[0].line_number, Some(1));
    assert_eq!(both.poom().items[1].line_number, Some(2));
    assert_eq!(both.poom().header.total.amount_text(), "22000.00");
    xmllint(&both.xml).unwrap_or_else(|e| panic!("{e}\n{}", both.xml));

    // The seller changed the price since: Request approval replaces that product's quote.
    let mut changed = world
        .deps
        .catalog
        .get_product("prod-saas-upfront")
        .await
        .unwrap()
        .unwrap();
    changed.pricing = Pricing::Upfront {
        amount: cxml::Money::new(dec!(13000.00), cxml::Currency::USD),
        months: 12,
    };
    world.deps.catalog.put_product(&changed).await.unwrap();
    let token = open_session(&world, &Setup::coupa().reopening("edit", both.poom())).await;
    let reply = request_approval(&world, &token, "prod-saas-upfront").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let replaced = posted_cart(&reply.body);
    let after = lines(&replaced);
    assert_eq!(after.len(), 2, "{after:?}");
    assert_eq!(after[0].1, ids[1], "the usage quote is kept, first");
    assert_eq!(after[1].0, "prod-saas-upfront");
    assert_ne!(after[1].1, upfront, "a replacement quote");
    assert_eq!(after[1].3, "13000.00 USD");
    let replacement = world
        .deps
        .quotes
        .get(&id(&after[1].1))
        .await
        .unwrap()
        .expect("the replacement is stored");
    assert_eq!(replacement.status, QuoteStatus::PendingApproval);
}

#[tokio::test]
async fn leaving_an_edit_session_returns_the_original_cart() {
    let world = FakeWorld::demo().await;
    let first = cart_for(&world, &Setup::coupa(), "prod-saas-contract-payg").await;
    let token = open_session(&world, &Setup::coupa().reopening("edit", first.poom())).await;
    let stored = world.store.quote_count();
    let reply = post(&world, "/catalog/return", &[("token", &token)]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply
            .body
            .contains("Your cart goes back to Coupa as it was")
    );
    let back = posted_cart(&reply.body);
    assert_eq!(
        lines(&back),
        lines(&first),
        "the same items, quantities and aux IDs"
    );
    assert_eq!(back.poom().header.total, first.poom().header.total);
    assert_eq!(
        back.poom().header.operation_allowed,
        cxml::OperationAllowed::Edit
    );
    assert_eq!(back.poom().buyer_cookie, COUPA_COOKIE);
    assert_eq!(back.action, FORM_POST);
    assert_eq!(world.store.quote_count(), stored);
    xmllint(&back.xml).unwrap_or_else(|e| panic!("{e}\n{}", back.xml));
}

#[tokio::test]
async fn another_organisations_or_unknown_quotes_are_never_reopened() {
    let world = FakeWorld::demo().await;
    change_integration(&world, demo::ARIBA_ORG, |i| {
        i.settings.preapprove_free = false
    })
    .await;
    let ariba = cart_for(&world, &Setup::ariba(), "prod-saas-upfront").await;
    let foreign = aux_ids(&ariba)[0].clone();
    let foreign_quote = world.deps.quotes.get(&id(&foreign)).await.unwrap().unwrap();

    // Coupa's buyer sends the Ariba buyer's quote ID (guessed or leaked), an unknown one,
    // and a line without any.
    let setup = Setup::coupa()
        .operation("edit")
        .item("prod-saas-upfront", Some(&foreign))
        .item(
            "prod-saas-upfront",
            Some("q-00000000000000000000000000000000"),
        )
        .item("prod-saas-payg", None);
    let token = open_session(&world, &setup).await;
    let page = get(&world, "/punchout/start", &[("token", &token)]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        page.body
            .matches("An item this marketplace cannot find")
            .count(),
        3,
        "{}",
        page.body
    );
    assert!(
        !page.body.contains(&foreign),
        "the foreign quote ID is not echoed"
    );
    assert!(
        !page
            .body
            .contains(&foreign_quote.requester_email.clone().unwrap())
    );
    assert!(!page.body.contains("Reference "));

    let reply = post(&world, "/catalog/return", &[("token", &token)]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let back = posted_cart(&reply.body);
    assert!(back.poom().items.is_empty(), "{}", back.xml);
    xmllint(&back.xml).unwrap_or_else(|e| panic!("{e}\n{}", back.xml));

    // Request approval in that session adds only its own new quote.
    let reply = request_approval(&world, &token, "prod-saas-upfront").await;
    let cart = posted_cart(&reply.body);
    let ids = aux_ids(&cart);
    assert_eq!(ids.len(), 1);
    assert_ne!(ids[0], foreign);
}

#[tokio::test]
async fn an_expired_private_offer_does_not_come_back_as_valid() {
    let world = FakeWorld::demo().await;
    let first = cart_for(&world, &Setup::coupa(), "prod-saas-private").await;
    let private = aux_ids(&first)[0].clone();
    let plain = cart_for(&world, &Setup::coupa(), "prod-saas-upfront").await;
    let mut items = first.poom().clone();
    items.items.extend(plain.poom().items.iter().cloned());

    // The seller changed the offer's expiry since the cart was sent.
    let mut product = world
        .deps
        .catalog
        .get_product("prod-saas-private")
        .await
        .unwrap()
        .unwrap();
    product.private_offer.as_mut().unwrap().expires_at += time::Duration::days(30);
    world.deps.catalog.put_product(&product).await.unwrap();

    let token = open_session(&world, &Setup::coupa().reopening("edit", &items)).await;
    let page = get(&world, "/punchout/start", &[("token", &token)]).await;
    assert!(
        page.body
            .contains("has expired or was changed by the seller"),
        "{}",
        page.body
    );
    assert!(page.body.contains("It does not go back with your cart."));

    let reply = post(&world, "/catalog/return", &[("token", &token)]).await;
    let back = posted_cart(&reply.body);
    assert_eq!(
        aux_ids(&back),
        aux_ids(&plain),
        "only the offer that still stands"
    );

    // Requested again: a new quote on the current offer.
    let reply = request_approval(&world, &token, "prod-saas-private").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let renewed = posted_cart(&reply.body);
    let ids = aux_ids(&renewed);
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_eq!(ids[0], aux_ids(&plain)[0]);
    assert_ne!(ids[1], private);
    let quote = world.deps.quotes.get(&id(&ids[1])).await.unwrap().unwrap();
    assert_eq!(quote.private_offer, product.private_offer);

    // A quote the scheduled check already expired is not re-opened either.
    let stale = world.deps.quotes.get(&id(&private)).await.unwrap().unwrap();
    assert!(world.deps.quotes.expire(&stale, None).await.unwrap());
    let token = open_session(&world, &Setup::coupa().reopening("edit", first.poom())).await;
    let reply = post(&world, "/catalog/return", &[("token", &token)]).await;
    assert!(posted_cart(&reply.body).poom().items.is_empty());
}

#[tokio::test]
async fn inspect_shows_the_cart_read_only_and_refuses_a_forged_request() {
    let world = FakeWorld::demo().await;
    let first = cart_for(&world, &Setup::coupa(), "prod-saas-upfront").await;
    let quote_id = aux_ids(&first)[0].clone();
    let token = open_session(&world, &Setup::coupa().reopening("inspect", first.poom())).await;
    let page = get(&world, "/punchout/start", &[("token", &token)]).await;
    assert_eq!(page.status, 200);
    for needle in [
        "Your cart in Coupa",
        &format!("Reference {quote_id}"),
        "Nothing can be changed or requested in this session.",
        ">Return to Coupa</button>",
    ] {
        assert!(
            page.body.contains(needle),
            "{needle:?} missing in {}",
            page.body
        );
    }
    assert!(!page.body.contains("with your cart unchanged"));
    let detail = get(
        &world,
        "/catalog/products/prod-saas-upfront",
        &[("token", &token)],
    )
    .await;
    assert!(!detail.body.contains(REQUEST_BUTTON));

    // The button is not there; a POST made anyway is refused by the server and stores nothing.
    let stored = world.store.quote_count();
    for product in ["prod-saas-upfront", "prod-saas-payg"] {
        let reply = request_approval(&world, &token, product).await;
        assert_eq!(reply.status, 400, "{}", reply.body);
        assert!(reply.body.contains("Inspection only"));
        assert!(!reply.body.contains("<form id=\"cart\""));
    }
    assert_eq!(world.store.quote_count(), stored);

    // Leaving an inspection sends no items: the cart in Coupa stays as it is.
    let reply = post(&world, "/catalog/return", &[("token", &token)]).await;
    let back = posted_cart(&reply.body);
    assert!(back.poom().items.is_empty());
    xmllint(&back.xml).unwrap_or_else(|e| panic!("{e}\n{}", back.xml));
}
