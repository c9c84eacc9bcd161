//! A spent session stays spent: once Request approval has made its quote, pressing it again
//! (a double click, the browser's back and resubmit, a replayed form, two requests at once)
//! answers with what the first one made, and stores nothing more: the same cart again, the
//! same subscription; never a second quote or agreement.

use cxml::OrderType;
use procurement::demo;
use procurement::fakes::FakeWorld;
use procurement::model::{Quote, QuoteStatus};
use support::{Reply, Setup, handle_order, id, open_session, posted_cart, request_approval};

mod support;

/// The reference printed on the page (a cart page and the subscribed page both show one).
fn reference(html: &str) -> String {
    let from = html.find("Reference: <code>").expect("reference") + "Reference: <code>".len();
    let to = html[from..].find('<').unwrap() + from;
    html[from..to].to_string()
}

async fn stored(world: &FakeWorld, quote_id: &str) -> Quote {
    world.deps.quotes.get(&id(quote_id)).await.unwrap().unwrap()
}

fn aux_ids(reply: &Reply) -> Vec<String> {
    posted_cart(&reply.body)
        .poom()
        .items
        .iter()
        .map(|i| i.item_id.supplier_part_auxiliary_id.clone().unwrap())
        .collect()
}

#[tokio::test]
async fn a_replayed_or_double_clicked_request_approval_sends_the_same_cart_and_no_second_quote() {
    let world = FakeWorld::demo_live().await;
    let token = open_session(&world, &Setup::coupa().production()).await;
    let first = request_approval(&world, &token, "prod-saas-upfront").await;
    assert_eq!(first.status, 200, "{}", first.body);
    let quotes = world.store.quote_count();
    for _ in 0..3 {
        let again = request_approval(&world, &token, "prod-saas-upfront").await;
        assert_eq!(again.status, 200, "{}", again.body);
        assert_eq!(
            aux_ids(&again),
            aux_ids(&first),
            "the same cart, the same quote"
        );
        assert_eq!(
            posted_cart(&again.body).poom().buyer_cookie,
            posted_cart(&first.body).poom().buyer_cookie
        );
    }
    assert_eq!(world.store.quote_count(), quotes, "no second quote");
    // Another product of the same session is its own request.
    let other = request_approval(&world, &token, "prod-saas-fps").await;
    assert_eq!(other.status, 200, "{}", other.body);
    assert_ne!(aux_ids(&other), aux_ids(&first));
    assert_eq!(world.store.quote_count(), quotes + 1);

    // Once the purchase order has come, the spent session requests nothing again.
    let quote = stored(&world, &aux_ids(&first)[0]).await;
    let po = support::order_request(
        support::coupa_header(),
        "PO-SPENT-1",
        "p-spent-1",
        OrderType::New,
        &[&quote],
    );
    let ordered = handle_order(&world, &po).await;
    assert_eq!(ordered.status, 200, "{}", ordered.body);
    assert_eq!(
        stored(&world, quote.quote_id.as_str()).await.status,
        QuoteStatus::Ordered
    );
    let replay = request_approval(&world, &token, "prod-saas-upfront").await;
    assert_eq!(replay.status, 409, "{}", replay.body);
    assert!(replay.body.contains("Already requested"), "{}", replay.body);
    assert!(
        replay.body.contains(quote.quote_id.as_str()),
        "{}",
        replay.body
    );
    assert!(!replay.body.contains("<form id=\"cart\""));
    assert_eq!(world.store.quote_count(), quotes + 1);
    let agreements =
        quote_agreement_count(&world, &stored(&world, quote.quote_id.as_str()).await).await;
    assert_eq!(agreements, 1);
}

async fn quote_agreement_count(world: &FakeWorld, quote: &Quote) -> usize {
    match &quote.agreement_id {
        Some(a) => world
            .deps
            .orders
            .get_agreement(a)
            .await
            .unwrap()
            .iter()
            .count(),
        None => 0,
    }
}

#[tokio::test]
async fn a_pre_approved_product_subscribes_once_per_session_and_product() {
    let world = FakeWorld::demo().await;
    world
        .change_integration(demo::ARIBA_ORG, |i| i.settings.test_mode = false)
        .await;
    let token = open_session(&world, &Setup::ariba().production()).await;
    let before = world.store.quote_count();
    for product in ["prod-ami-free", "prod-ami-byol"] {
        let first = request_approval(&world, &token, product).await;
        assert_eq!(first.status, 200, "{}", first.body);
        assert!(
            first.body.contains("you are subscribed now"),
            "{}",
            first.body
        );
        let again = request_approval(&world, &token, product).await;
        assert_eq!(again.status, 200, "{}", again.body);
        assert!(
            again.body.contains("you are subscribed now"),
            "{}",
            again.body
        );
        assert_eq!(reference(&again.body), reference(&first.body));
        // Each Request approval queues the job while the agreement is not written (a lost job
        // is queued again); the jobs write one agreement.
        world.run_subscription_jobs().await;
        let quote = stored(&world, &reference(&first.body)).await;
        assert_eq!(quote.status, QuoteStatus::Subscribed);
        assert_eq!(quote_agreement_count(&world, &quote).await, 1);
        let third = request_approval(&world, &token, product).await;
        assert_eq!(reference(&third.body), reference(&first.body));
        assert!(
            world.queue.subscriptions.lock().unwrap().is_empty(),
            "no job once the agreement is written"
        );
    }
    assert_eq!(
        world.store.quote_count(),
        before + 2,
        "one quote per product"
    );
    // A new session is a new request, and subscribes again (a second seat, say).
    let next = open_session(&world, &Setup::ariba().production()).await;
    let reply = request_approval(&world, &next, "prod-ami-free").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(world.store.quote_count(), before + 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_request_approvals_at_once_make_one_quote_and_one_agreement() {
    let world = FakeWorld::demo().await;
    world
        .change_integration(demo::ARIBA_ORG, |i| i.settings.test_mode = false)
        .await;
    world
        .change_integration(demo::COUPA_ORG, |i| i.settings.test_mode = false)
        .await;
    let ariba = open_session(&world, &Setup::ariba().production()).await;
    let coupa = open_session(&world, &Setup::coupa().production()).await;
    for (token, product, preapproved) in [
        (&ariba, "prod-ami-byol", true),
        (&coupa, "prod-saas-upfront", false),
    ] {
        let before = world.store.quote_count();
        // Two tasks on two worker threads, as two Lambda instances would run them.
        let app = support::setup_app(&world);
        let fire = |app: axum::Router, token: String| {
            tokio::spawn(async move {
                procurement_web::testing::post_form(
                    &app,
                    "/catalog/request-approval",
                    &[("token", token.as_str()), ("product_id", product)],
                )
                .await
            })
        };
        let (a, b) = tokio::join!(
            fire(app.clone(), token.to_string()),
            fire(app.clone(), token.to_string())
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!((a.status, b.status), (200, 200), "{}\n{}", a.body, b.body);
        assert_eq!(reference(&a.body), reference(&b.body), "{product}");
        assert_eq!(
            world.store.quote_count(),
            before + 1,
            "{product}: one quote"
        );
        // Both requests may have queued the job; the jobs write one agreement.
        world.run_subscription_jobs().await;
        let quote = stored(&world, &reference(&a.body)).await;
        if preapproved {
            assert!(
                a.body.contains("you are subscribed now")
                    && b.body.contains("you are subscribed now")
            );
            assert_eq!(
                quote_agreement_count(&world, &quote).await,
                1,
                "one agreement"
            );
        } else {
            assert_eq!(aux_ids(&a), aux_ids(&b));
            assert_eq!(quote.status, QuoteStatus::PendingApproval);
        }
    }
}
