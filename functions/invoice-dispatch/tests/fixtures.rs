//! The SQS batch fixture: only messages that are not done are reported back, one by one.

use aws_lambda_events::event::sqs::SqsBatchResponse;
use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{Context, LambdaEvent};
use procurement::fakes::FakeWorld;
use procurement::ids::ChargeId;
use procurement::model::{ChargeStatus, InvoiceJob};

fn fixture() -> SqsEvent {
    let raw = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/invoice-dispatch/sqs-batch.json"
    ))
    .unwrap();
    serde_json::from_str(&raw).unwrap()
}

/// Stores the charge the fixture's valid message names as a queued charge, as the order
/// transaction would.
fn add_fixture_charge(world: &FakeWorld, event: &SqsEvent) -> ChargeId {
    let body = event.records[0].body.as_deref().unwrap();
    let message: procurement::delivery::InvoiceMessage = serde_json::from_str(body).unwrap();
    let id = message.charge_id.clone();
    let job = InvoiceJob {
        org_id: procurement::demo::COUPA_ORG.into(),
        order_id: "PO-4711".into(),
        agreement_id: "agr-0001".into(),
        charge_id: id.clone(),
        description: "Ledgerly Analytics, 12 months".into(),
        amount: cxml::Money::new(
            rust_decimal::Decimal::new(1_200_000, 2),
            cxml::Currency::USD,
        ),
        due: time::macros::datetime!(2026-11-24 10:00 UTC),
        po_line_number: Some(1),
        line: None,
        invoice_number: None,
    };
    world
        .store
        .charges
        .lock()
        .unwrap()
        .insert(id.clone(), (job, ChargeStatus::Queued));
    id
}

async fn run(world: &FakeWorld, event: SqsEvent) -> Vec<String> {
    let response: SqsBatchResponse =
        invoice_dispatch::handle(&world.deps, LambdaEvent::new(event, Context::default()))
            .await
            .unwrap();
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

#[tokio::test]
async fn a_valid_job_is_invoiced_and_only_the_malformed_one_is_reported() {
    let world = FakeWorld::demo().await;
    world
        .change_integration(procurement::demo::COUPA_ORG, |i| {
            i.settings.test_mode = false
        })
        .await;
    let event = fixture();
    let charge = add_fixture_charge(&world, &event);

    assert_eq!(run(&world, event).await, ["msg-malformed-2"]);
    assert_eq!(
        world.deps.charges.status(&charge).await.unwrap(),
        Some(ChargeStatus::Invoiced)
    );
    assert_eq!(world.invoice_sender.posts().len(), 1);

    // The same batch again (redelivery): nothing is sent twice.
    run(&world, fixture()).await;
    assert_eq!(world.invoice_sender.posts().len(), 1);
}

#[tokio::test]
async fn in_test_mode_the_job_is_acknowledged_and_the_charge_waits() {
    let world = FakeWorld::demo().await; // the demo Coupa integration is in test mode
    let event = fixture();
    let charge = add_fixture_charge(&world, &event);
    assert_eq!(run(&world, event).await, ["msg-malformed-2"]);
    assert_eq!(
        world.deps.charges.status(&charge).await.unwrap(),
        Some(ChargeStatus::Scheduled),
        "back among the scheduled charges, never skipped"
    );
    assert!(world.invoice_sender.posts().is_empty());
}

#[tokio::test]
async fn a_job_for_an_unknown_charge_stays_on_the_queue() {
    let world = FakeWorld::demo().await;
    let event = fixture();
    let ids: Vec<String> = event
        .records
        .iter()
        .filter_map(|r| r.message_id.clone())
        .collect();
    // No charge in the table: the job is not ours to send; SQS dead-letters it in the end.
    assert_eq!(run(&world, event).await, ids);
}

/// A batch of `charge_ids`, one message each, built from the fixture's valid message.
fn batch_of(world: &FakeWorld, charge_ids: &[&str]) -> SqsEvent {
    let template = fixture().records[0].clone();
    let mut event = fixture();
    event.records = charge_ids
        .iter()
        .map(|id| {
            let mut record = template.clone();
            record.message_id = Some(format!("msg-{id}"));
            record.body = Some(format!("{{\"charge_id\": \"{id}\"}}"));
            let mut job = world
                .store
                .charges
                .lock()
                .unwrap()
                .values()
                .next()
                .map(|(job, _)| job.clone())
                .expect("a fixture charge to copy");
            job.charge_id = (*id).into();
            world
                .store
                .charges
                .lock()
                .unwrap()
                .insert(job.charge_id.clone(), (job, ChargeStatus::Queued));
            record
        })
        .collect();
    event
}

/// A buyer endpoint that hangs on the invoices of one charge until another invoice arrives
/// (or its own timeout passes), and answers 200 to every other: it records whether the other
/// invoice arrived while it hung.
struct HangingBuyer {
    hangs_on: &'static str,
    arrived: tokio::sync::Notify,
    others_arrived_during_hang: std::sync::atomic::AtomicBool,
    posts: std::sync::Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl procurement::InvoiceSender for HangingBuyer {
    async fn post(
        &self,
        _url: &str,
        body: String,
        timeout: std::time::Duration,
    ) -> Result<(u16, String), procurement::ports::SendError> {
        let hangs = body.contains(self.hangs_on);
        self.posts.lock().unwrap().push(body);
        if !hangs {
            self.arrived.notify_one();
            return Ok(procurement::fakes::ScriptedInvoiceSender::cxml_answer(
                200, 200, "OK",
            ));
        }
        if tokio::time::timeout(timeout, self.arrived.notified())
            .await
            .is_ok()
        {
            self.others_arrived_during_hang
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        Err(procurement::ports::SendError::Timeout(timeout))
    }
}

#[tokio::test]
async fn a_hanging_buyer_delays_no_other_job_of_the_batch() {
    let world = FakeWorld::demo_live().await;
    add_fixture_charge(&world, &fixture());
    let event = batch_of(&world, &["agr-hang-1", "agr-fine-2", "agr-fine-3"]);
    let buyer = std::sync::Arc::new(HangingBuyer {
        hangs_on: "agr-hang-1",
        arrived: tokio::sync::Notify::new(),
        others_arrived_during_hang: false.into(),
        posts: Default::default(),
    });
    let mut deps = world.deps.clone();
    deps.invoice_sender = buyer.clone();
    // Long enough that, processed one after another, the hang would end before the others start.
    deps.config.invoice_timeout = std::time::Duration::from_secs(5);
    let response = invoice_dispatch::handle(&deps, LambdaEvent::new(event, Context::default()))
        .await
        .unwrap();
    let failed: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(
        failed,
        ["msg-agr-hang-1"],
        "only the hanging buyer's job is retried"
    );
    assert!(
        buyer
            .others_arrived_during_hang
            .load(std::sync::atomic::Ordering::SeqCst),
        "the other invoices went out while the first buyer hung"
    );
    for id in ["agr-fine-2", "agr-fine-3"] {
        assert_eq!(
            world.deps.charges.status(&id.into()).await.unwrap(),
            Some(ChargeStatus::Invoiced),
            "{id}"
        );
    }
}

#[tokio::test]
async fn jobs_without_time_for_a_whole_delivery_are_reported_untried() {
    let world = FakeWorld::demo_live().await;
    add_fixture_charge(&world, &fixture());
    let event = batch_of(&world, &["agr-late-1", "agr-late-2"]);
    // 30 s left of the invocation: less than one POST timeout and the record after it.
    let mut context = Context::default();
    let deadline = std::time::SystemTime::now() + std::time::Duration::from_secs(30);
    context.deadline = deadline
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let response = invoice_dispatch::handle(&world.deps, LambdaEvent::new(event, context))
        .await
        .unwrap();
    assert_eq!(response.batch_item_failures.len(), 2);
    assert!(world.invoice_sender.posts().is_empty(), "nothing half-sent");
    for id in ["agr-late-1", "agr-late-2"] {
        assert_eq!(
            world.deps.charges.status(&id.into()).await.unwrap(),
            Some(ChargeStatus::Queued),
            "left for the redelivery: {id}"
        );
    }
}

#[tokio::test]
async fn a_subscription_job_writes_the_pre_approved_quotes_agreement_once() {
    let raw = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/invoice-dispatch/sqs-subscription-job.json"
    ))
    .unwrap();
    let event: SqsEvent = serde_json::from_str(&raw).unwrap();
    let body = event.records[0].body.as_deref().unwrap();
    let message: procurement::delivery::SubscriptionMessage = serde_json::from_str(body).unwrap();
    // The quote as the catalog stores a pre-approved Free product out of test mode.
    let world = FakeWorld::demo().await;
    let mut quote = procurement::demo::quotes(time::OffsetDateTime::now_utc()).remove(0);
    quote.quote_id = message.subscription_quote_id.clone();
    quote.status = procurement::model::QuoteStatus::Subscribed;
    quote.test = false;
    quote.agreement_id = None;
    world.deps.quotes.create(&quote).await.unwrap();

    assert!(run(&world, event.clone()).await.is_empty());
    let stored = world
        .deps
        .quotes
        .get(&quote.quote_id)
        .await
        .unwrap()
        .unwrap();
    let agreement_id = stored.agreement_id.expect("recorded on the quote");
    let agreement = world
        .deps
        .orders
        .get_agreement(&agreement_id)
        .await
        .unwrap()
        .expect("written");
    assert_eq!(agreement.quote_id, quote.quote_id);
    assert_eq!(agreement.po_number, None);
    // Delivered again: done, nothing more written.
    assert!(run(&world, event).await.is_empty());
    assert_eq!(world.store.agreement_count(), 1);
}
