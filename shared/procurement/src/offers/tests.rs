//! The offer expiry check against the in-memory store.

use std::sync::atomic::Ordering;

use time::Duration;

use super::*;
use crate::demo;
use crate::fakes::FakeWorld;
use crate::ids::QuoteId;
use crate::model::{PrivateOffer, Quote};
use crate::outbox;

const PRIVATE: &str = "prod-saas-private";

/// A quote pending approval for the private-offer product, with the offer as given.
async fn pending(world: &FakeWorld, quote_id: &str, offer: PrivateOffer, email: bool) -> Quote {
    pending_for(world, PRIVATE, quote_id, offer, email).await
}

async fn pending_for(
    world: &FakeWorld,
    product_id: &str,
    quote_id: &str,
    offer: PrivateOffer,
    email: bool,
) -> Quote {
    let quote = Quote {
        quote_id: quote_id.into(),
        org_id: demo::COUPA_ORG.into(),
        product_id: product_id.into(),
        product_title: "Sentinel SIEM (private offer)".into(),
        lines: Vec::new(),
        status: QuoteStatus::PendingApproval,
        test: false,
        never_invoiced: false,
        private_offer: Some(offer),
        requester_email: email.then(|| format!("{quote_id}@buyer.example")),
        requester_name: Some("Jim Halpert".into()),
        buyer_cookie: "cookie".into(),
        created_at: OffsetDateTime::now_utc(),
        order_id: None,
        agreement_id: None,
    };
    world.deps.quotes.create(&quote).await.unwrap();
    quote
}

async fn current_offer(world: &FakeWorld) -> PrivateOffer {
    world
        .deps
        .catalog
        .get_product(PRIVATE)
        .await
        .unwrap()
        .unwrap()
        .private_offer
        .unwrap()
}

async fn set_offer_expiry(world: &FakeWorld, expires_at: OffsetDateTime) {
    let mut product = world
        .deps
        .catalog
        .get_product(PRIVATE)
        .await
        .unwrap()
        .unwrap();
    product.private_offer.as_mut().unwrap().expires_at = expires_at;
    world.deps.catalog.put_product(&product).await.unwrap();
}

/// A time limit the tests never reach.
fn no_limit() -> OffsetDateTime {
    OffsetDateTime::now_utc() + Duration::hours(1)
}

async fn quote_status(world: &FakeWorld, quote_id: &str) -> QuoteStatus {
    world
        .deps
        .quotes
        .get(&QuoteId::from(quote_id))
        .await
        .unwrap()
        .unwrap()
        .status
}

#[tokio::test]
async fn lapsed_and_changed_offers_are_expired_and_each_requester_emailed_once() {
    let world = FakeWorld::demo().await;
    let now = OffsetDateTime::now_utc();
    let offer = current_offer(&world).await; // valid for 14 more days
    // Sent for approval with the offer as it stands: still valid.
    pending(&world, "q-valid", offer.clone(), true).await;
    // Sent with an expiry the seller has since changed.
    let mut changed = offer.clone();
    changed.expires_at -= Duration::days(3);
    pending(&world, "q-changed", changed, true).await;
    // Another product whose offer simply ran out.
    let mut other = world
        .deps
        .catalog
        .get_product(PRIVATE)
        .await
        .unwrap()
        .unwrap();
    other.id = "prod-other-private".into();
    let past = now - Duration::days(1);
    other.private_offer.as_mut().unwrap().expires_at = past;
    world.deps.catalog.put_product(&other).await.unwrap();
    pending_for(
        &world,
        &other.id,
        "q-ran-out",
        other.private_offer.clone().unwrap(),
        true,
    )
    .await;
    // No requester email: expired all the same, nobody to tell.
    let mut silent = offer.clone();
    silent.expires_at = past;
    pending(&world, "q-silent", silent, false).await;

    let run = expire_lapsed_offers(&world.deps, now, no_limit())
        .await
        .unwrap();
    assert_eq!(
        run,
        ExpiryRun {
            checked: 4,
            expired: 3,
            errors: 0,
            unfinished: false
        }
    );
    // The notices wait in the outbox for the flush that ends the scheduled run.
    assert!(world.mailer.sent.lock().unwrap().is_empty());
    assert_eq!(
        outbox::flush_outbox(&world.deps, no_limit())
            .await
            .unwrap()
            .sent,
        2
    );
    assert_eq!(
        quote_status(&world, "q-valid").await,
        QuoteStatus::PendingApproval
    );
    for id in ["q-changed", "q-ran-out", "q-silent"] {
        assert_eq!(quote_status(&world, id).await, QuoteStatus::Expired, "{id}");
    }
    let sent = world.mailer.sent.lock().unwrap().clone();
    let mut to: Vec<&str> = sent.iter().map(|e| e.to.as_str()).collect();
    to.sort();
    assert_eq!(to, ["q-changed@buyer.example", "q-ran-out@buyer.example"]);
    assert!(sent.iter().all(|e| e.text.contains("Request approval")));
    assert!(
        world
            .deps
            .outbox
            .pending(10, None)
            .await
            .unwrap()
            .items
            .is_empty()
    );

    // A second run the same day changes nothing and sends nothing.
    let again = expire_lapsed_offers(&world.deps, now + Duration::hours(1), no_limit())
        .await
        .unwrap();
    assert_eq!(
        outbox::flush_outbox(&world.deps, no_limit())
            .await
            .unwrap()
            .sent,
        0
    );
    assert_eq!(
        again,
        ExpiryRun {
            checked: 1,
            ..ExpiryRun::default()
        }
    );
    assert_eq!(world.mailer.sent.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn an_offer_no_longer_extended_to_the_organisation_expires_its_quote() {
    let world = FakeWorld::demo().await;
    let now = OffsetDateTime::now_utc();
    let offer = current_offer(&world).await;
    assert!(offer.is_extended_to(&demo::COUPA_ORG.into()));
    pending(&world, "q-withdrawn", offer.clone(), true).await;
    let run = expire_lapsed_offers(&world.deps, now, no_limit())
        .await
        .unwrap();
    assert_eq!(run.expired, 0, "extended to the organisation: it stands");
    // The seller withdraws the offer from this organisation only; the terms are unchanged.
    let mut product = world
        .deps
        .catalog
        .get_product(PRIVATE)
        .await
        .unwrap()
        .unwrap();
    product
        .private_offer
        .as_mut()
        .unwrap()
        .extended_to
        .retain(|id| id != demo::COUPA_ORG);
    world.deps.catalog.put_product(&product).await.unwrap();
    let quote = world
        .deps
        .quotes
        .get(&"q-withdrawn".into())
        .await
        .unwrap()
        .unwrap();
    assert!(offer_lapsed(&quote, Some(&product), now));
    let run = expire_lapsed_offers(&world.deps, now, no_limit())
        .await
        .unwrap();
    assert_eq!(run.expired, 1, "{run:?}");
    assert_eq!(
        quote_status(&world, "q-withdrawn").await,
        QuoteStatus::Expired
    );
    // The notice reads as for any lapsed offer: nothing says who else holds it.
    outbox::flush_outbox(&world.deps, no_limit()).await.unwrap();
    let sent = world.mailer.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert!(!sent[0].text.contains(demo::ARIBA_ORG), "{}", sent[0].text);
}

#[tokio::test]
async fn thousands_of_pending_quotes_are_paged_through_in_one_run() {
    let world = FakeWorld::demo().await;
    let now = OffsetDateTime::now_utc();
    let offer = current_offer(&world).await;
    for n in 0..1050 {
        pending(&world, &format!("q-{n:05}"), offer.clone(), true).await;
    }
    // The seller moves the expiry: every one of them must be resent.
    set_offer_expiry(&world, offer.expires_at + Duration::days(30)).await;
    let run = expire_lapsed_offers(&world.deps, now, no_limit())
        .await
        .unwrap();
    assert!(run.checked > PAGE_SIZE);
    assert_eq!((run.checked, run.expired, run.errors), (1050, 1050, 0));
    assert_eq!(
        outbox::flush_outbox(&world.deps, no_limit())
            .await
            .unwrap()
            .sent,
        1050
    );
    let again = expire_lapsed_offers(&world.deps, now, no_limit())
        .await
        .unwrap();
    assert_eq!(again, ExpiryRun::default());
}

#[tokio::test]
async fn a_run_out_of_time_stops_and_the_next_run_goes_on() {
    let world = FakeWorld::demo().await;
    let now = OffsetDateTime::now_utc();
    let offer = current_offer(&world).await;
    pending(&world, "q-late", offer.clone(), true).await;
    set_offer_expiry(&world, offer.expires_at + Duration::days(1)).await;
    let out_of_time = OffsetDateTime::now_utc() - Duration::seconds(1);
    let run = expire_lapsed_offers(&world.deps, now, out_of_time)
        .await
        .unwrap();
    assert_eq!(
        run,
        ExpiryRun {
            unfinished: true,
            ..ExpiryRun::default()
        }
    );
    assert_eq!(
        outbox::flush_outbox(&world.deps, out_of_time)
            .await
            .unwrap()
            .sent,
        0
    );
    let next = expire_lapsed_offers(&world.deps, now, no_limit())
        .await
        .unwrap();
    assert_eq!((next.expired, next.unfinished), (1, false));
}

#[tokio::test]
async fn a_quote_ordered_meanwhile_is_left_alone() {
    let world = FakeWorld::demo().await;
    let mut offer = current_offer(&world).await;
    offer.expires_at -= Duration::days(1); // differs from the product's: lapsed
    let mut quote = pending(&world, "q-raced", offer, true).await;
    // The purchase order wins the race after the page was read.
    quote.status = QuoteStatus::Ordered;
    let plan = crate::ports::OrderPlan {
        slot: crate::ports::OrderSlot::Original,
        record: crate::model::OrderRecord {
            org_id: demo::COUPA_ORG.into(),
            order_id: "PO-1".into(),
            payload_id: "p-1".into(),
            order_type: cxml::OrderType::New,
            test: false,
            lines: 0,
            total: cxml::Money::zero(cxml::Currency::USD),
            received_at: OffsetDateTime::now_utc(),
            answer_code: 200,
            answer_text: String::new(),
            quote_ids: vec!["q-raced".into()],
            agreement_ids: Vec::new(),
        },
        quotes: vec![(quote.clone(), QuoteStatus::PendingApproval)],
        agreements: Vec::new(),
        outbox: Vec::new(),
        charges: Vec::new(),
        cancelled_charges: Vec::new(),
        confirmations: Vec::new(),
        sender: None,
        handover: None,
    };
    world.deps.orders.place(&plan).await.unwrap();
    let mut stale = quote.clone();
    stale.status = QuoteStatus::Expired;
    let email = crate::emails::offer_expired(&stale, &world.deps.config);
    assert!(
        !world
            .deps
            .quotes
            .expire(&stale, email.as_ref())
            .await
            .unwrap()
    );
    assert_eq!(quote_status(&world, "q-raced").await, QuoteStatus::Ordered);
    assert!(
        world
            .deps
            .outbox
            .pending(10, None)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let run = expire_lapsed_offers(&world.deps, OffsetDateTime::now_utc(), no_limit())
        .await
        .unwrap();
    assert_eq!(run, ExpiryRun::default());
}

#[tokio::test]
async fn an_ses_outage_keeps_the_notice_for_the_next_flush() {
    let world = FakeWorld::demo().await;
    let now = OffsetDateTime::now_utc();
    let mut offer = current_offer(&world).await;
    offer.expires_at = now - Duration::minutes(5);
    set_offer_expiry(&world, offer.expires_at).await;
    pending(&world, "q-1", offer, true).await;
    world.mailer.failing.store(true, Ordering::SeqCst);
    let run = expire_lapsed_offers(&world.deps, now, no_limit())
        .await
        .unwrap();
    assert_eq!(run.expired, 1);
    assert_eq!(
        outbox::flush_outbox(&world.deps, no_limit())
            .await
            .unwrap()
            .sent,
        0
    );
    assert_eq!(
        world
            .deps
            .outbox
            .pending(10, None)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    world.mailer.failing.store(false, Ordering::SeqCst);
    assert_eq!(
        outbox::flush_outbox(&world.deps, no_limit())
            .await
            .unwrap()
            .sent,
        1
    );
    // Expired once, told once: the next run has nothing to do.
    let again = expire_lapsed_offers(&world.deps, now, no_limit())
        .await
        .unwrap();
    assert_eq!(again, ExpiryRun::default());
    assert_eq!(world.mailer.sent.lock().unwrap().len(), 1);
}
