//! Purchase orders against the in-memory ports: matching, exactly once, expiry, test mode,
//! update/delete, SES failure and invoice jobs. The same flows run end to end in tests/.

use std::sync::atomic::Ordering;

use cxml::{Body, OrderType};
use procurement::demo;
use procurement::fakes::FakeWorld;
use procurement::model::ChargeStatus;
use procurement::model::{AgreementStatus, Quote, QuoteStatus};
use procurement::outbox;
use support::{Reply, handle_order, id};

mod support;
use time::{Duration, OffsetDateTime};

/// Stores the quote Request approval would have made for `product_id` (Coupa demo org).
async fn quote_for(world: &FakeWorld, product_id: &str, quote_id: &str) -> Quote {
    support::quote_for(world, demo::COUPA_ORG, product_id, quote_id).await
}

fn po(order_id: &str, payload_id: &str, kind: OrderType, quotes: &[&Quote]) -> Vec<u8> {
    support::order_request(support::coupa_header(), order_id, payload_id, kind, quotes)
}

fn answer(reply: &Reply) -> (u16, String) {
    let doc = cxml::parse(reply.body.as_bytes()).unwrap();
    let status = doc.response_status().unwrap();
    assert!(matches!(doc.body, Body::Response(_)));
    (status.code, status.text.clone())
}

#[tokio::test]
async fn a_new_order_creates_one_agreement_emails_and_queues_the_upfront_invoice() {
    let world = FakeWorld::demo_live().await;
    let quote = quote_for(&world, "prod-saas-upfront", "q-1").await;
    let reply = handle_order(&world, &po("PO-1", "p-1", OrderType::New, &[&quote])).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let stored = world.deps.quotes.get(&id("q-1")).await.unwrap().unwrap();
    assert_eq!(stored.status, QuoteStatus::Ordered);
    assert_eq!(stored.order_id.as_deref(), Some("PO-1"));
    let agreement = world
        .deps
        .orders
        .get_agreement(stored.agreement_id.as_ref().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(agreement.po_number.as_deref(), Some("PO-1"));
    assert_eq!(agreement.status, AgreementStatus::Active);

    let sent = world.mailer.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "jim.halpert@buyer.example");
    assert!(
        sent[0].text.contains("PO-1") && sent[0].text.contains(agreement.agreement_id.as_str())
    );

    let jobs = world.queue.jobs.lock().unwrap().clone();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].order_id, "PO-1");
    assert_eq!(jobs[0].amount.amount.to_string(), "12000.00");
}

#[tokio::test]
async fn the_same_order_again_gets_the_same_answer_and_no_second_agreement() {
    let world = FakeWorld::demo_live().await;
    let quote = quote_for(&world, "prod-saas-upfront", "q-2").await;
    let first = handle_order(&world, &po("PO-2", "p-2", OrderType::New, &[&quote])).await;
    // Same payloadID, and a resend with a new payloadID but the same orderID.
    let again = handle_order(&world, &po("PO-2", "p-2", OrderType::New, &[&quote])).await;
    let resent = handle_order(&world, &po("PO-2", "p-2b", OrderType::New, &[&quote])).await;
    assert_eq!(answer(&first), answer(&again));
    assert_eq!(answer(&first), answer(&resent));
    assert_eq!(world.mailer.sent.lock().unwrap().len(), 1);
    assert_eq!(world.queue.jobs.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn mismatched_lines_are_refused_naming_the_line_and_field() {
    let world = FakeWorld::demo_live().await;
    let mut quote = quote_for(&world, "prod-saas-upfront", "q-3").await;
    quote.lines[0].unit_price.amount = rust_decimal::Decimal::new(100, 0);
    let reply = handle_order(&world, &po("PO-3", "p-3", OrderType::New, &[&quote])).await;
    let (code, text) = answer(&reply);
    assert_eq!(code, 400);
    assert!(
        text.contains("line 1") && text.contains("unit price"),
        "{text}"
    );

    let mut wrong_product = quote_for(&world, "prod-saas-upfront", "q-3b").await;
    wrong_product.product_id = "prod-saas-payg".into();
    let (code, text) = answer(
        &handle_order(
            &world,
            &po("PO-3b", "p-3b", OrderType::New, &[&wrong_product]),
        )
        .await,
    );
    assert_eq!(code, 400);
    assert!(text.contains("SupplierPartID"), "{text}");

    let mut unknown = quote.clone();
    unknown.quote_id = "q-nope".into();
    let (code, text) =
        answer(&handle_order(&world, &po("PO-3c", "p-3c", OrderType::New, &[&unknown])).await);
    assert_eq!(code, 400);
    assert!(text.contains("SupplierPartAuxiliaryID q-nope"), "{text}");
    // Nothing was subscribed by any of these.
    assert!(world.mailer.sent.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_expired_private_offer_makes_no_agreement_and_tells_the_requester() {
    let world = FakeWorld::demo_live().await;
    let mut quote = quote_for(&world, "prod-saas-private", "q-4").await;
    // The offer expired while approval was pending.
    let mut product = world
        .deps
        .catalog
        .get_product("prod-saas-private")
        .await
        .unwrap()
        .unwrap();
    let past = OffsetDateTime::now_utc() - Duration::days(1);
    product.private_offer.as_mut().unwrap().expires_at = past;
    world.deps.catalog.put_product(&product).await.unwrap();
    quote.private_offer.as_mut().unwrap().expires_at = past;

    let (code, text) =
        answer(&handle_order(&world, &po("PO-4", "p-4", OrderType::New, &[&quote])).await);
    assert_eq!(code, 409);
    assert!(
        text.contains("Offer expired") && text.contains("Resend"),
        "{text}"
    );
    assert_eq!(
        world
            .deps
            .quotes
            .get(&id("q-4"))
            .await
            .unwrap()
            .unwrap()
            .status,
        QuoteStatus::Expired
    );
    let sent = world.mailer.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].subject.contains("expired"));
    assert!(world.queue.jobs.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_order_on_a_private_offer_no_longer_extended_is_refused_as_a_withdrawn_offer() {
    let world = FakeWorld::demo_live().await;
    // Approved while the offer was extended to the organisation; then the seller withdraws
    // it from this organisation (still extended to the other demo buyer, terms unchanged).
    let withdrawn = quote_for(&world, demo::PRIVATE_OFFER_PRODUCT, "q-withdrawn").await;
    support::withdraw_private_offer(&world, demo::COUPA_ORG).await;
    let (code, text) =
        answer(&handle_order(&world, &po("PO-W", "p-w", OrderType::New, &[&withdrawn])).await);
    assert_eq!(code, 409, "{text}");
    // The answer of an offer the seller withdrew altogether: nothing tells that another
    // organisation still has it.
    let mut gone = world
        .deps
        .catalog
        .get_product(demo::PRIVATE_OFFER_PRODUCT)
        .await
        .unwrap()
        .unwrap();
    gone.id = "prod-private-gone".into();
    world.deps.catalog.put_product(&gone).await.unwrap();
    let removed = quote_for(&world, &gone.id, "q-gone").await;
    gone.private_offer = None;
    world.deps.catalog.put_product(&gone).await.unwrap();
    let (gone_code, gone_text) =
        answer(&handle_order(&world, &po("PO-G", "p-g", OrderType::New, &[&removed])).await);
    assert_eq!((code, text.clone()), (gone_code, gone_text));
    assert!(
        text.contains("Offer expired") && text.contains("Resend"),
        "{text}"
    );
    assert!(!text.contains(demo::ARIBA_ORG), "{text}");
    assert_eq!(
        world
            .deps
            .quotes
            .get(&id("q-withdrawn"))
            .await
            .unwrap()
            .unwrap()
            .status,
        QuoteStatus::Expired
    );
    assert!(
        world.queue.jobs.lock().unwrap().is_empty(),
        "nothing invoiced"
    );
}

#[tokio::test]
async fn a_seller_change_to_the_offer_expiry_counts_as_expired() {
    let world = FakeWorld::demo_live().await;
    let quote = quote_for(&world, "prod-saas-private", "q-5").await;
    let mut product = world
        .deps
        .catalog
        .get_product("prod-saas-private")
        .await
        .unwrap()
        .unwrap();
    product.private_offer.as_mut().unwrap().expires_at += Duration::days(30);
    world.deps.catalog.put_product(&product).await.unwrap();
    let (code, _) =
        answer(&handle_order(&world, &po("PO-5", "p-5", OrderType::New, &[&quote])).await);
    assert_eq!(code, 409);
}

#[tokio::test]
async fn test_mode_answers_200_and_creates_nothing() {
    let world = FakeWorld::demo().await; // the demo Coupa integration is in test mode
    let quote = quote_for(&world, "prod-saas-upfront", "q-6").await;
    let (code, text) =
        answer(&handle_order(&world, &po("PO-6", "p-6", OrderType::New, &[&quote])).await);
    assert_eq!(code, 200);
    assert!(text.contains("test"), "{text}");
    let stored = world.deps.quotes.get(&id("q-6")).await.unwrap().unwrap();
    assert_eq!(stored.agreement_id, None);
    assert!(world.queue.jobs.lock().unwrap().is_empty());
    assert!(world.mailer.sent.lock().unwrap().is_empty());
}

#[tokio::test]
async fn ses_failure_keeps_the_order_and_the_email_is_sent_by_the_next_run() {
    let world = FakeWorld::demo_live().await;
    world.mailer.failing.store(true, Ordering::SeqCst);
    let quote = quote_for(&world, "prod-saas-upfront", "q-7").await;
    let (code, _) =
        answer(&handle_order(&world, &po("PO-7", "p-7", OrderType::New, &[&quote])).await);
    assert_eq!(code, 200);
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
        outbox::flush_outbox(&world.deps, in_an_hour())
            .await
            .unwrap()
            .sent,
        1
    );
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
    assert_eq!(world.mailer.sent.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn an_email_claimed_by_another_sender_is_left_to_it_until_the_claim_lapses() {
    let world = FakeWorld::demo_live().await;
    world.mailer.failing.store(true, Ordering::SeqCst);
    let quote = quote_for(&world, "prod-saas-upfront", "q-7c").await;
    handle_order(&world, &po("PO-7c", "p-7c", OrderType::New, &[&quote])).await;
    world.mailer.failing.store(false, Ordering::SeqCst);
    let email_id = world.deps.outbox.pending(10, None).await.unwrap().items[0]
        .email_id
        .clone();

    // Another sender (the order's own request, say) holds it: the flush must not send it too.
    let now = time::OffsetDateTime::now_utc();
    let until = now + time::Duration::milliseconds(200);
    assert_eq!(
        world
            .deps
            .outbox
            .claim(&email_id, now, until)
            .await
            .unwrap(),
        Some(2),
        "the second attempt: the order's own request made the first"
    );
    assert_eq!(
        world
            .deps
            .outbox
            .claim(&email_id, now, until)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        outbox::flush_outbox(&world.deps, in_an_hour())
            .await
            .unwrap()
            .sent,
        0
    );
    assert!(world.mailer.sent.lock().unwrap().is_empty());

    // That sender died: once its claim lapses the next run sends the email, once.
    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    assert_eq!(
        outbox::flush_outbox(&world.deps, in_an_hour())
            .await
            .unwrap()
            .sent,
        1
    );
    assert_eq!(
        outbox::flush_outbox(&world.deps, in_an_hour())
            .await
            .unwrap()
            .sent,
        0
    );
    assert_eq!(world.mailer.sent.lock().unwrap().len(), 1);
    let later = time::OffsetDateTime::now_utc();
    assert_eq!(
        world
            .deps
            .outbox
            .claim(&email_id, later, later)
            .await
            .unwrap(),
        None,
        "a sent email cannot be claimed"
    );
}

#[tokio::test]
async fn payment_schedule_installments_are_scheduled_on_their_dates_and_payg_is_not_invoiced() {
    let world = FakeWorld::demo_live().await;
    let fps = quote_for(&world, "prod-saas-fps", "q-8").await;
    let payg = quote_for(&world, "prod-saas-payg", "q-9").await;
    handle_order(&world, &po("PO-8", "p-8", OrderType::New, &[&fps])).await;
    handle_order(&world, &po("PO-9", "p-9", OrderType::New, &[&payg])).await;
    let charges = world.store.charges.lock().unwrap().clone();
    let mut fps_charges: Vec<_> = charges
        .values()
        .filter(|(job, _)| job.order_id == "PO-8")
        .collect();
    fps_charges.sort_by_key(|(job, _)| job.due);
    assert_eq!(fps_charges.len(), 2);
    assert_eq!(
        fps_charges[0].1,
        ChargeStatus::Queued,
        "the first installment is due now"
    );
    assert_eq!(
        fps_charges[1].1,
        ChargeStatus::Scheduled,
        "the second waits for its date"
    );
    assert!(charges.values().all(|(job, _)| job.order_id != "PO-9"));
    assert_eq!(world.queue.jobs.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn delete_cancels_what_has_not_started_and_refuses_what_has() {
    let world = FakeWorld::demo_live().await;
    // Pay-as-you-go: no charge queued yet, so a delete cancels it.
    let payg = quote_for(&world, "prod-saas-payg", "q-10").await;
    handle_order(&world, &po("PO-10", "p-10", OrderType::New, &[&payg])).await;
    let (code, text) =
        answer(&handle_order(&world, &po("PO-10", "p-10d", OrderType::Delete, &[&payg])).await);
    assert_eq!(code, 200, "{text}");
    let stored = world.deps.quotes.get(&id("q-10")).await.unwrap().unwrap();
    assert_eq!(stored.status, QuoteStatus::Cancelled);
    let agreement = world
        .deps
        .orders
        .get_agreement(stored.agreement_id.as_ref().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(agreement.status, AgreementStatus::Cancelled);

    // Upfront: the invoice is queued at once, so the agreement has started.
    let upfront = quote_for(&world, "prod-saas-upfront", "q-11").await;
    handle_order(&world, &po("PO-11", "p-11", OrderType::New, &[&upfront])).await;
    let (code, text) = answer(
        &handle_order(
            &world,
            &po("PO-11", "p-11d", OrderType::Delete, &[&upfront]),
        )
        .await,
    );
    assert_eq!(code, 409, "{text}");
    assert!(text.contains("has started"), "{text}");
}

/// A dispatcher that holds a charge's claim may be posting its invoice: a delete must not
/// cancel the charge under it (issue: cancellation vs claim).
#[tokio::test]
async fn delete_never_cancels_a_charge_a_dispatcher_is_posting() {
    let world = FakeWorld::demo_live().await;
    // SQS down: the upfront charge stays scheduled, for the scheduled run to queue.
    world.queue.failing.store(true, Ordering::SeqCst);
    let upfront = quote_for(&world, "prod-saas-upfront", "q-claimed").await;
    let (code, text) =
        answer(&handle_order(&world, &po("PO-CL", "p-cl", OrderType::New, &[&upfront])).await);
    assert_eq!(code, 200, "{text}");
    world.queue.failing.store(false, Ordering::SeqCst);
    let charge_id = world
        .deps
        .orders
        .get_agreement(
            world
                .deps
                .quotes
                .get(&id("q-claimed"))
                .await
                .unwrap()
                .unwrap()
                .agreement_id
                .as_ref()
                .unwrap(),
        )
        .await
        .unwrap()
        .unwrap()
        .charge_ids[0]
        .clone();
    assert_eq!(
        world.deps.charges.status(&charge_id).await.unwrap(),
        Some(ChargeStatus::Scheduled)
    );
    let now = time::OffsetDateTime::now_utc();
    let until = now + time::Duration::minutes(2);
    assert!(
        world
            .deps
            .charges
            .claim(&charge_id, now, until)
            .await
            .unwrap()
    );

    let (code, text) = answer(
        &handle_order(
            &world,
            &po("PO-CL", "p-cl-d1", OrderType::Delete, &[&upfront]),
        )
        .await,
    );
    assert_eq!(code, 409, "{text}");
    assert!(text.contains("being sent"), "{text}");
    assert_eq!(
        world.deps.charges.status(&charge_id).await.unwrap(),
        Some(ChargeStatus::Scheduled),
        "the charge under the claim is untouched"
    );

    // The dispatcher gave up (a failed post): now the delete cancels it.
    world.deps.charges.release(&charge_id, until).await.unwrap();
    let (code, text) = answer(
        &handle_order(
            &world,
            &po("PO-CL", "p-cl-d2", OrderType::Delete, &[&upfront]),
        )
        .await,
    );
    assert_eq!(code, 200, "{text}");
    assert_eq!(
        world.deps.charges.status(&charge_id).await.unwrap(),
        Some(ChargeStatus::Cancelled)
    );
}

#[tokio::test]
async fn update_keeps_approved_terms_and_refuses_changed_ones() {
    let world = FakeWorld::demo_live().await;
    let quote = quote_for(&world, "prod-saas-payg", "q-12").await;
    handle_order(&world, &po("PO-12", "p-12", OrderType::New, &[&quote])).await;
    let (code, _) =
        answer(&handle_order(&world, &po("PO-12", "p-12u", OrderType::Update, &[&quote])).await);
    assert_eq!(code, 200);
    let mut changed = quote.clone();
    changed.lines[0].quantity = rust_decimal::Decimal::TWO;
    let (code, text) = answer(
        &handle_order(
            &world,
            &po("PO-12", "p-12v", OrderType::Update, &[&changed]),
        )
        .await,
    );
    assert_eq!(code, 409, "{text}");
    assert!(text.contains("quantity"), "{text}");

    // An update of a PO never received is taken as that order: this quote is PO-12's.
    let (code, text) =
        answer(&handle_order(&world, &po("PO-404", "p-404", OrderType::Update, &[&quote])).await);
    assert_eq!(code, 409, "{text}");
    assert!(text.contains("already ordered under PO PO-12"), "{text}");
}

#[tokio::test]
async fn a_currency_change_on_a_two_line_quote_is_named_as_such() {
    let world = FakeWorld::demo_live().await;
    let mut quote = quote_for(&world, "prod-saas-contract-payg", "q-13").await;
    assert_eq!(quote.lines.len(), 2);
    for line in &mut quote.lines {
        line.unit_price.currency = cxml::Currency::EUR;
    }
    let (code, text) =
        answer(&handle_order(&world, &po("PO-13", "p-13", OrderType::New, &[&quote])).await);
    assert_eq!(code, 400);
    assert!(
        text.contains("line 1") && text.contains("currency EUR"),
        "{text}"
    );
}

/// A time limit for outbox flushes that the tests never reach.
fn in_an_hour() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc() + time::Duration::hours(1)
}

#[tokio::test]
async fn an_offer_expired_by_the_check_while_the_order_is_planned_is_answered_expired() {
    let world = FakeWorld::demo_live().await;
    let quote = quote_for(&world, "prod-saas-private", "q-race-exp").await;
    // The hourly check expires the quote after the order read it, before it committed.
    let mut expired = quote.clone();
    expired.status = QuoteStatus::Expired;
    *world.store.quote_written_before_next_place.lock().unwrap() = Some(expired);
    let (code, text) = answer(
        &handle_order(
            &world,
            &po("PO-RACE-1", "p-race-1", OrderType::New, &[&quote]),
        )
        .await,
    );
    assert_eq!(code, 409);
    assert!(
        text.contains("Offer expired") && text.contains("Resend"),
        "{text}"
    );
    let stored = world
        .deps
        .quotes
        .get(&id("q-race-exp"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, QuoteStatus::Expired);
    assert!(stored.agreement_id.is_none(), "no agreement");
    assert!(world.queue.jobs.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_quote_taken_by_another_po_while_the_order_is_planned_names_that_po() {
    let world = FakeWorld::demo_live().await;
    let quote = quote_for(&world, "prod-saas-upfront", "q-race-po").await;
    let mut taken = quote.clone();
    taken.status = QuoteStatus::Ordered;
    taken.order_id = Some("PO-FIRST".into());
    *world.store.quote_written_before_next_place.lock().unwrap() = Some(taken);
    let (code, text) = answer(
        &handle_order(
            &world,
            &po("PO-SECOND", "p-race-2", OrderType::New, &[&quote]),
        )
        .await,
    );
    assert_eq!(code, 409);
    assert!(text.contains("already ordered under PO PO-FIRST"), "{text}");
    assert!(world.mailer.sent.lock().unwrap().is_empty());
    assert!(world.queue.jobs.lock().unwrap().is_empty());
}

/// The same PO sent from the buyer's test instance (`deploymentMode="test"`).
fn test_po(order_id: &str, payload_id: &str, kind: OrderType, quotes: &[&Quote]) -> Vec<u8> {
    let body = String::from_utf8(po(order_id, payload_id, kind, quotes)).unwrap();
    assert!(body.contains("deploymentMode=\"production\""), "{body}");
    body.replace("deploymentMode=\"production\"", "deploymentMode=\"test\"")
        .into_bytes()
}

/// How many agreements exist for these quotes (each quote makes at most one).
async fn agreements_of(world: &FakeWorld, quote_ids: &[&str]) -> usize {
    let mut n = 0;
    for q in quote_ids {
        let quote = world.deps.quotes.get(&id(q)).await.unwrap().unwrap();
        if let Some(a) = quote.agreement_id {
            assert!(world.deps.orders.get_agreement(&a).await.unwrap().is_some());
            n += 1;
        }
    }
    n
}

#[tokio::test]
async fn a_refused_po_corrected_and_resent_as_an_update_or_as_new_is_accepted_once() {
    let world = FakeWorld::demo_live().await;
    for (n, resend_as) in [(1, OrderType::Update), (2, OrderType::New)] {
        let order_id = format!("PO-FIX-{n}");
        let quote = quote_for(&world, "prod-saas-upfront", &format!("q-fix-{n}")).await;
        let mut wrong = quote.clone();
        wrong.lines[0].quantity = rust_decimal::Decimal::TWO;
        let refused = handle_order(
            &world,
            &po(&order_id, &format!("p-fix-{n}a"), OrderType::New, &[&wrong]),
        )
        .await;
        let (code, text) = answer(&refused);
        assert_eq!(code, 400, "{text}");
        assert!(text.contains("quantity"), "{text}");
        // The identical payloadID again: the same refusal.
        let again = handle_order(
            &world,
            &po(&order_id, &format!("p-fix-{n}a"), OrderType::New, &[&wrong]),
        )
        .await;
        assert_eq!(answer(&again), (code, text));

        let corrected = po(&order_id, &format!("p-fix-{n}b"), resend_as, &[&quote]);
        let (code, text) = answer(&handle_order(&world, &corrected).await);
        assert_eq!(code, 200, "{text}");
        assert!(text.contains("accepted"), "{text}");
        // Its duplicate, and another resend of the same orderID: the first answer, nothing new.
        assert_eq!(
            answer(&handle_order(&world, &corrected).await),
            (200, text.clone())
        );
        let (code, again) = answer(
            &handle_order(
                &world,
                &po(&order_id, &format!("p-fix-{n}c"), OrderType::New, &[&quote]),
            )
            .await,
        );
        assert_eq!((code, again), (200, text));
        assert_eq!(agreements_of(&world, &[&format!("q-fix-{n}")]).await, 1);
        let stored = world
            .deps
            .quotes
            .get(&id(format!("q-fix-{n}")))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.order_id.as_deref(), Some(order_id.as_str()));
    }
    assert_eq!(
        world.queue.jobs.lock().unwrap().len(),
        2,
        "one invoice per order"
    );
    assert_eq!(world.mailer.sent.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn an_expired_offer_is_refused_until_a_new_quote_is_ordered_under_the_same_po() {
    let world = FakeWorld::demo_live().await;
    let quote = quote_for(&world, "prod-saas-private", "q-exp-1").await;
    let mut product = world
        .deps
        .catalog
        .get_product("prod-saas-private")
        .await
        .unwrap()
        .unwrap();
    let expires_at = product.private_offer.as_ref().unwrap().expires_at;
    product.private_offer.as_mut().unwrap().expires_at =
        OffsetDateTime::now_utc() - Duration::days(1);
    world.deps.catalog.put_product(&product).await.unwrap();
    let first = po("PO-EXP", "p-exp-1", OrderType::New, &[&quote]);
    let (code, refusal) = answer(&handle_order(&world, &first).await);
    assert_eq!(code, 409, "{refusal}");
    // The same document again hears the same; the same quote resent stays refused.
    assert_eq!(answer(&handle_order(&world, &first).await), (409, refusal));
    let (code, text) = answer(
        &handle_order(
            &world,
            &po("PO-EXP", "p-exp-2", OrderType::Update, &[&quote]),
        )
        .await,
    );
    assert_eq!(code, 409, "{text}");
    assert!(text.contains("Resend the request for approval"), "{text}");

    // The seller renews the offer and the buyer requests approval again: a new quote.
    product.private_offer.as_mut().unwrap().expires_at = expires_at;
    world.deps.catalog.put_product(&product).await.unwrap();
    let renewed = quote_for(&world, "prod-saas-private", "q-exp-2").await;
    let resend = po("PO-EXP", "p-exp-3", OrderType::Update, &[&renewed]);
    let (code, text) = answer(&handle_order(&world, &resend).await);
    assert_eq!(code, 200, "{text}");
    assert!(
        text.contains("refused") && text.contains("taken as the order"),
        "{text}"
    );
    assert_eq!(agreements_of(&world, &["q-exp-1", "q-exp-2"]).await, 1);
    // Now accepted, the PO is the original: a later update is a change of it.
    let (code, text) = answer(
        &handle_order(
            &world,
            &po("PO-EXP", "p-exp-4", OrderType::Update, &[&renewed]),
        )
        .await,
    );
    assert_eq!(code, 200, "{text}");
    assert!(text.contains("terms are unchanged"), "{text}");
    assert_eq!(agreements_of(&world, &["q-exp-1", "q-exp-2"]).await, 1);
}

#[tokio::test]
async fn an_update_of_a_test_order_is_handled_as_the_order_it_now_is() {
    let world = FakeWorld::demo_live().await;
    let quote = quote_for(&world, "prod-saas-upfront", "q-t-1").await;
    let (code, text) =
        answer(&handle_order(&world, &test_po("PO-T1", "p-t1", OrderType::New, &[&quote])).await);
    assert_eq!(code, 200);
    assert!(text.contains("test"), "{text}");
    assert_eq!(agreements_of(&world, &["q-t-1"]).await, 0);

    // A test update is checked like an order, and creates nothing.
    let mut wrong = quote.clone();
    wrong.lines[0].unit_price.amount = rust_decimal::Decimal::ONE;
    let (code, text) = answer(
        &handle_order(
            &world,
            &test_po("PO-T1", "p-t2", OrderType::Update, &[&wrong]),
        )
        .await,
    );
    assert_eq!(code, 400, "{text}");
    assert!(text.contains("unit price"), "{text}");
    let (code, text) = answer(
        &handle_order(
            &world,
            &test_po("PO-T1", "p-t3", OrderType::Update, &[&quote]),
        )
        .await,
    );
    assert_eq!(code, 200, "{text}");
    assert!(text.contains("test mode creates no subscription"), "{text}");
    assert_eq!(agreements_of(&world, &["q-t-1"]).await, 0);

    // A production update (or new order) of it is the order: one agreement, invoiced once.
    let (code, text) =
        answer(&handle_order(&world, &po("PO-T1", "p-t4", OrderType::Update, &[&quote])).await);
    assert_eq!(code, 200, "{text}");
    assert!(
        text.contains("agreement") && text.contains("test order"),
        "{text}"
    );
    let (code, _) =
        answer(&handle_order(&world, &po("PO-T1", "p-t5", OrderType::New, &[&quote])).await);
    assert_eq!(code, 200);
    assert_eq!(agreements_of(&world, &["q-t-1"]).await, 1);
    assert_eq!(world.queue.jobs.lock().unwrap().len(), 1);

    // A production new order after a test one of the same PO number is the order too.
    let other = quote_for(&world, "prod-saas-upfront", "q-t-2").await;
    handle_order(&world, &test_po("PO-T2", "p-t6", OrderType::New, &[&other])).await;
    let (code, text) =
        answer(&handle_order(&world, &po("PO-T2", "p-t7", OrderType::New, &[&other])).await);
    assert_eq!(code, 200, "{text}");
    assert_eq!(agreements_of(&world, &["q-t-2"]).await, 1);
}

#[tokio::test]
async fn a_po_missing_a_line_of_its_quote_is_refused_naming_the_line() {
    let world = FakeWorld::demo_live().await;
    let quote = quote_for(&world, "prod-saas-contract-payg", "q-two").await;
    assert_eq!(quote.lines.len(), 2);
    let mut first_line_only = quote.clone();
    let dropped = first_line_only.lines.pop().unwrap();
    let (code, text) = answer(
        &handle_order(
            &world,
            &po("PO-PART", "p-part-1", OrderType::New, &[&first_line_only]),
        )
        .await,
    );
    assert_eq!(code, 400, "{text}");
    assert!(
        text.contains(&format!("quote q-two line {}", dropped.line_number))
            && text.contains(&dropped.description),
        "{text}"
    );
    assert_eq!(agreements_of(&world, &["q-two"]).await, 0);
    assert!(world.queue.jobs.lock().unwrap().is_empty());
    // The same PO with both lines, resent as an update, is the order.
    let (code, text) = answer(
        &handle_order(
            &world,
            &po("PO-PART", "p-part-2", OrderType::Update, &[&quote]),
        )
        .await,
    );
    assert_eq!(code, 200, "{text}");
    assert_eq!(agreements_of(&world, &["q-two"]).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_copies_of_a_corrected_resend_make_one_agreement() {
    let world = std::sync::Arc::new(FakeWorld::demo_live().await);
    let quote = quote_for(&world, "prod-saas-upfront", "q-race-fix").await;
    // Recorded as a test order first, so every copy plans to take its place.
    handle_order(
        &world,
        &test_po("PO-RF", "p-rf-0", OrderType::New, &[&quote]),
    )
    .await;
    let mut copies = tokio::task::JoinSet::new();
    for i in 0..20 {
        let world = world.clone();
        // Half the copies of one document, half as many documents resending the PO.
        let payload = if i % 2 == 0 {
            "p-rf-1".to_string()
        } else {
            format!("p-rf-{i}")
        };
        let kind = if i % 4 < 2 {
            OrderType::Update
        } else {
            OrderType::New
        };
        let body = po("PO-RF", &payload, kind, &[&quote]);
        copies.spawn(async move { answer(&handle_order(&world, &body).await) });
    }
    let answers = copies.join_all().await;
    assert!(answers.iter().all(|(code, _)| *code == 200), "{answers:?}");
    assert_eq!(agreements_of(&world, &["q-race-fix"]).await, 1);
    assert_eq!(world.queue.jobs.lock().unwrap().len(), 1);
    assert_eq!(world.mailer.sent.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn another_organisations_payload_id_is_a_new_order_not_its_stored_answer() {
    // payloadIDs are the sender's choice: the Ariba organisation reusing the one the Coupa
    // organisation sent hears nothing of that order and has its own recorded.
    let world = FakeWorld::demo_live().await;
    world
        .change_integration(demo::ARIBA_ORG, |i| i.settings.test_mode = false)
        .await;
    let coupa_quote = quote_for(&world, "prod-saas-upfront", "q-coupa").await;
    let ariba_quote =
        support::quote_for(&world, demo::ARIBA_ORG, "prod-saas-upfront", "q-ariba").await;
    let coupa = handle_order(
        &world,
        &po(
            "PO-COUPA-1",
            "shared-payload@x",
            OrderType::New,
            &[&coupa_quote],
        ),
    )
    .await;
    assert_eq!(coupa.status, 200, "{}", coupa.body);
    let ariba = handle_order(
        &world,
        &support::order_request(
            support::network_header(demo::ARIBA_IDENTITY, demo::ARIBA_NETWORK_SECRET),
            "PO-ARIBA-1",
            "shared-payload@x",
            OrderType::New,
            &[&ariba_quote],
        ),
    )
    .await;
    assert_eq!(ariba.status, 200, "{}", ariba.body);
    assert!(!ariba.body.contains("PO-COUPA-1"), "{}", ariba.body);
    let stored = world
        .deps
        .quotes
        .get(&id("q-ariba"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.status,
        QuoteStatus::Ordered,
        "the Ariba order is recorded"
    );
    assert_eq!(stored.order_id.as_deref(), Some("PO-ARIBA-1"));
    for (org, order) in [
        (demo::COUPA_ORG, "PO-COUPA-1"),
        (demo::ARIBA_ORG, "PO-ARIBA-1"),
    ] {
        let record = world
            .deps
            .orders
            .find_by_payload(&id(org), "shared-payload@x")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(record.order_id.as_str(), order);
    }
}

/// The order's transaction records the hand-over of the charge due now (queued once); when SQS
/// refuses the job, the charge is handed back: scheduled, its queueing uncounted, so the next
/// scheduled run queues it at once and it counts one queueing, not two.
#[tokio::test]
async fn a_due_charge_the_queue_refuses_is_handed_back_to_the_next_run_uncounted() {
    let world = FakeWorld::demo_live().await;
    world.queue.failing.store(true, Ordering::SeqCst);
    let quote = quote_for(&world, "prod-saas-upfront", "q-hb").await;
    let (code, text) =
        answer(&handle_order(&world, &po("PO-HB", "p-hb", OrderType::New, &[&quote])).await);
    assert_eq!(code, 200, "{text}");
    let charges: Vec<_> = world
        .store
        .charges
        .lock()
        .unwrap()
        .values()
        .cloned()
        .collect();
    assert_eq!(charges.len(), 1);
    let (job, status) = &charges[0];
    assert_eq!(*status, ChargeStatus::Scheduled, "handed back");
    assert!(
        !world
            .store
            .charge_queueings
            .lock()
            .unwrap()
            .contains_key(&job.charge_id)
    );
    world.queue.failing.store(false, Ordering::SeqCst);
    let now = OffsetDateTime::now_utc();
    let run =
        procurement::invoices::queue_due_charges(&world.deps, now, now + Duration::minutes(4))
            .await
            .unwrap();
    assert_eq!(run.queued, 1);
    assert_eq!(world.queue.jobs.lock().unwrap().len(), 1);
    assert_eq!(
        world.store.charge_queueings.lock().unwrap()[&job.charge_id].1,
        1,
        "one queueing: the one that happened"
    );
}

/// A duplicate is answered from the order's first read (the sender's credential and what it
/// sent under the payloadID), and a resend under a new payloadID by the transaction's check of
/// the orderID: neither creates anything.
#[tokio::test]
async fn duplicates_are_answered_from_the_first_read_or_by_the_orders_key() {
    let world = FakeWorld::demo_live().await;
    let quote = quote_for(&world, "prod-saas-upfront", "q-dup").await;
    let first = answer(&handle_order(&world, &po("PO-D", "p-d", OrderType::New, &[&quote])).await);
    assert_eq!(first.0, 200, "{}", first.1);
    for payload_id in ["p-d", "p-d-again"] {
        let again =
            answer(&handle_order(&world, &po("PO-D", payload_id, OrderType::New, &[&quote])).await);
        assert_eq!(again, first, "{payload_id}");
    }
    assert_eq!(world.store.charges.lock().unwrap().len(), 1);
    assert_eq!(world.queue.jobs.lock().unwrap().len(), 1);
    assert_eq!(world.mailer.sent.lock().unwrap().len(), 1);
}
