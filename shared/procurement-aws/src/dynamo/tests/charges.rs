//! Charges: `CHARGE#<charge>` / `CHARGE` with `status`; transitions conditional on the status
//! before; listed in GSI2 while scheduled (by due date) and once failed; one dispatcher's claim.

use procurement::StoreError;
use procurement::ids::ChargeId;
use procurement::model::{ChargeOutcome, ChargeStatus, InvoiceJob};
use procurement::ports::Charges;
use serde_json::{Value, json};

use super::super::charges::scheduled_charge_item;
use super::super::rfc3339;
use super::{Table, assert_consistent_get, at, invoice_job, json_item, n, s, value};
use crate::recorded::Answer;

const UNSETTLED: &str = "#status IN (:scheduled, :queued)";

fn charge() -> ChargeId {
    ChargeId::from("agmt-1-1")
}

fn stored(job: &InvoiceJob, status: ChargeStatus) -> Value {
    let mut item = json_item(&scheduled_charge_item(job).unwrap());
    item["status"] = s(status.as_str());
    item
}

fn assert_update_of_charge(body: &Value) {
    assert_eq!(
        body["Key"],
        json!({"PK": s("CHARGE#agmt-1-1"), "SK": s("CHARGE")})
    );
}

fn outcome(status: ChargeStatus) -> ChargeOutcome {
    ChargeOutcome {
        status,
        invoice_id: Some("INV-agmt-1-1".into()),
        payload_id: Some("inv.payload@marketplace.example".into()),
        code: Some(400),
        text: "Bad Request".into(),
        at: at(60),
    }
}

#[tokio::test]
async fn a_new_charge_is_scheduled_and_indexed_by_its_due_date() {
    let job = invoice_job("agmt-1-1", at(86_400));
    let item = stored(&job, ChargeStatus::Scheduled);
    assert_eq!(item["PK"], s("CHARGE#agmt-1-1"));
    assert_eq!(item["SK"], s("CHARGE"));
    assert_eq!(item["status"], s("scheduled"));
    assert_eq!(item["GSI2PK"], s("CHARGE#scheduled"));
    assert_eq!(
        item["GSI2SK"],
        s(&format!("{}#agmt-1-1", rfc3339(job.due))),
        "sorted by due date, then charge"
    );
    assert_eq!(super::data_of::<InvoiceJob>(&item), job);
}

#[tokio::test]
async fn a_queued_charge_is_listed_by_requeue_time_and_counts_its_queueings() {
    let table = Table::new();
    let requeue_at = at(86_400);
    assert!(
        table
            .store
            .mark_queued(&charge(), requeue_at)
            .await
            .unwrap()
    );
    table.then(Answer::condition_failed());
    assert!(
        !table
            .store
            .mark_queued(&charge(), requeue_at)
            .await
            .unwrap(),
        "a failed condition is an answer, not an error"
    );
    let call = &table.calls()[1];
    assert_eq!(call.operation, "UpdateItem");
    assert_update_of_charge(&call.body);
    assert_eq!(
        call.body["ConditionExpression"], "#status IN (:scheduled, :queued)",
        "scheduled, or queued before and handed over again"
    );
    assert_eq!(value(&call.body, ":scheduled"), &s("scheduled"));
    assert_eq!(value(&call.body, ":queued"), &s("queued"));
    assert_eq!(
        call.body["UpdateExpression"],
        "SET #status = :queued, GSI2PK = :index, GSI2SK = :sk ADD queueings :one",
        "a queued charge leaves the due list for the queued one"
    );
    assert_eq!(value(&call.body, ":index"), &s("CHARGE#queued"));
    assert_eq!(
        value(&call.body, ":sk"),
        &s(&format!("{}#agmt-1-1", rfc3339(requeue_at)))
    );
    assert_eq!(value(&call.body, ":one"), &n(1));
    table.then(Answer::unavailable());
    assert!(matches!(
        table.store.mark_queued(&charge(), requeue_at).await,
        Err(StoreError::Unavailable(_))
    ));
}

#[tokio::test]
async fn stale_queued_charges_are_those_whose_requeue_time_came() {
    let table = Table::new();
    let job = invoice_job("agmt-1-1", at(-60));
    let mut listed = stored(&job, ChargeStatus::Queued);
    listed["queueings"] = n(2);
    table.then(Answer::page(vec![listed], None));
    let page = table.store.stale_queued(at(0), 100, None).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].job, job);
    assert_eq!(page.items[0].queueings, 2);
    let call = table.only_call();
    assert_eq!(call.operation, "Query");
    assert_eq!(call.body["IndexName"], "GSI2");
    assert_eq!(
        call.body["KeyConditionExpression"],
        "GSI2PK = :pk AND GSI2SK < :upper"
    );
    assert_eq!(value(&call.body, ":pk"), &s("CHARGE#queued"));
    assert_eq!(
        value(&call.body, ":upper"),
        &s(&format!("{}$", rfc3339(at(0))))
    );
}

#[tokio::test]
async fn a_status_is_one_consistent_attribute_read() {
    let table = Table::new();
    table.then(Answer::item(json!({"status": s("queued")})));
    assert_eq!(
        table.store.status(&charge()).await.unwrap(),
        Some(ChargeStatus::Queued)
    );
    let call = table.only_call();
    assert_consistent_get_projected(&call, "status");

    table.forget();
    assert_eq!(table.store.status(&charge()).await.unwrap(), None);
    table.then(Answer::item(json!({"status": s("lost")})));
    assert!(matches!(
        table.store.status(&charge()).await,
        Err(StoreError::Corrupt { key, .. }) if key == "CHARGE#agmt-1-1"
    ));
}

fn assert_consistent_get_projected(call: &crate::recorded::Call, attribute: &str) {
    assert_eq!(call.operation, "GetItem");
    assert_eq!(
        call.body["Key"],
        json!({"PK": s("CHARGE#agmt-1-1"), "SK": s("CHARGE")})
    );
    assert_eq!(call.body["ConsistentRead"], true);
    assert_eq!(call.body["ProjectionExpression"], "#attribute");
    assert_eq!(
        call.body["ExpressionAttributeNames"],
        json!({"#attribute": attribute})
    );
}

#[tokio::test]
async fn get_returns_the_stored_charge_with_its_status() {
    let table = Table::new();
    let job = invoice_job("agmt-1-1", at(0));
    table.then(Answer::item(stored(&job, ChargeStatus::Queued)));
    assert_eq!(
        Charges::get(&table.store, &charge()).await.unwrap(),
        Some((job.clone(), ChargeStatus::Queued))
    );
    assert_consistent_get(&table.only_call(), "CHARGE#agmt-1-1", "CHARGE");

    assert_eq!(Charges::get(&table.store, &charge()).await.unwrap(), None);

    let mut no_status = stored(&job, ChargeStatus::Queued);
    no_status.as_object_mut().unwrap().remove("status");
    table.then(Answer::item(no_status));
    assert!(matches!(
        Charges::get(&table.store, &charge()).await,
        Err(StoreError::Corrupt { .. })
    ));
}

#[tokio::test]
async fn rescheduling_puts_an_unsettled_charge_back_in_the_due_list() {
    let table = Table::new();
    let job = invoice_job("agmt-1-1", at(86_400));
    assert!(table.store.reschedule(&job).await.unwrap());
    let call = table.only_call();
    assert_update_of_charge(&call.body);
    assert_eq!(call.body["ConditionExpression"], UNSETTLED);
    assert_eq!(
        call.body["UpdateExpression"],
        "SET #status = :scheduled, GSI2PK = :index, GSI2SK = :sk"
    );
    assert_eq!(value(&call.body, ":index"), &s("CHARGE#scheduled"));
    assert_eq!(
        value(&call.body, ":sk"),
        &stored(&job, ChargeStatus::Scheduled)["GSI2SK"],
        "the same sort key as a new charge due then"
    );
    table.then(Answer::condition_failed());
    assert!(
        !table.store.reschedule(&job).await.unwrap(),
        "settled meanwhile"
    );
}

#[tokio::test]
async fn due_charges_are_one_page_of_the_scheduled_index_up_to_now() {
    let table = Table::new();
    let now = at(0);
    let first = invoice_job("agmt-1-1", at(-86_400));
    let second = invoice_job("agmt-2-1", at(-1));
    let last_key = json!({
        "PK": s("CHARGE#agmt-2-1"), "SK": s("CHARGE"),
        "GSI2PK": s("CHARGE#scheduled"), "GSI2SK": stored(&second, ChargeStatus::Scheduled)["GSI2SK"],
    });
    table.then(Answer::page(
        vec![
            stored(&first, ChargeStatus::Scheduled),
            stored(&second, ChargeStatus::Scheduled),
        ],
        Some(last_key.clone()),
    ));
    let page = table.store.due(now, 2, None).await.unwrap();
    assert_eq!(page.items, vec![first, second]);
    let cursor = page.next.expect("more may follow");
    let call = table.only_call();
    assert_eq!(call.operation, "Query");
    assert_eq!(call.body["IndexName"], "GSI2");
    assert_eq!(
        call.body["KeyConditionExpression"],
        "GSI2PK = :pk AND GSI2SK < :upper"
    );
    assert_eq!(value(&call.body, ":pk"), &s("CHARGE#scheduled"));
    assert_eq!(call.body["Limit"], 2);
    assert!(
        call.body.get("ScanIndexForward").is_none() || call.body["ScanIndexForward"] == true,
        "oldest due first"
    );
    assert!(call.body.get("ExclusiveStartKey").is_none());

    // The bound takes every charge due up to this second, and none due after it.
    let upper = value(&call.body, ":upper")["S"]
        .as_str()
        .unwrap()
        .to_string();
    let sort_key = |due| {
        stored(&invoice_job("agmt-9-1", due), ChargeStatus::Scheduled)["GSI2SK"]["S"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(sort_key(now) < upper);
    assert!(sort_key(now - time::Duration::days(400)) < upper);
    assert!(sort_key(now + time::Duration::seconds(1)) > upper);

    table.forget();
    table.then(Answer::page(Vec::new(), None));
    let page = table.store.due(now, 2, Some(cursor)).await.unwrap();
    assert_eq!(page.next, None, "the last page has no cursor");
    assert_eq!(
        table.only_call().body["ExclusiveStartKey"],
        last_key,
        "the cursor resumes where the last page ended"
    );
}

#[tokio::test]
async fn an_unreadable_charge_does_not_stall_the_due_list() {
    let table = Table::new();
    let good = invoice_job("agmt-2-1", at(-1));
    table.then(Answer::page(
        vec![
            json!({"PK": s("CHARGE#bad"), "SK": s("CHARGE"), "data": s("not json")}),
            stored(&good, ChargeStatus::Scheduled),
        ],
        None,
    ));
    let page = table.store.due(at(0), 10, None).await.unwrap();
    assert_eq!(page.items, vec![good]);
}

#[tokio::test]
async fn a_cursor_that_is_not_ours_is_refused_before_any_request() {
    let table = Table::new();
    assert!(matches!(
        table.store.due(at(0), 10, Some("page 2".into())).await,
        Err(StoreError::Corrupt { .. })
    ));
    assert!(table.calls().is_empty());
}

#[tokio::test]
async fn a_failed_invoice_is_recorded_and_listed_as_failed() {
    let table = Table::new();
    let outcome = outcome(ChargeStatus::Failed);
    assert!(
        table
            .store
            .record_outcome(&charge(), &outcome)
            .await
            .unwrap()
    );
    let call = table.only_call();
    assert_update_of_charge(&call.body);
    assert_eq!(call.body["ConditionExpression"], UNSETTLED);
    assert_eq!(
        call.body["UpdateExpression"],
        "SET #status = :status, outcome = :outcome, GSI2PK = :index, GSI2SK = :sk"
    );
    assert_eq!(value(&call.body, ":status"), &s("failed"));
    assert_eq!(value(&call.body, ":index"), &s("CHARGE#failed"));
    assert_eq!(
        value(&call.body, ":sk"),
        &s(&format!("{}#agmt-1-1", rfc3339(outcome.at)))
    );
    let recorded: ChargeOutcome =
        serde_json::from_str(value(&call.body, ":outcome")["S"].as_str().unwrap()).unwrap();
    assert_eq!(recorded, outcome);
}

#[tokio::test]
async fn a_settled_invoice_leaves_every_list_and_is_recorded_once() {
    let table = Table::new();
    for status in [ChargeStatus::Invoiced, ChargeStatus::Skipped] {
        assert!(
            table
                .store
                .record_outcome(&charge(), &outcome(status))
                .await
                .unwrap()
        );
        let calls = table.calls();
        let body = &calls.last().unwrap().body;
        assert_eq!(
            body["UpdateExpression"],
            "SET #status = :status, outcome = :outcome REMOVE GSI2PK, GSI2SK"
        );
        assert_eq!(value(body, ":status"), &s(status.as_str()));
        assert_eq!(body["ConditionExpression"], UNSETTLED);
    }
    table.then(Answer::condition_failed());
    assert!(
        !table
            .store
            .record_outcome(&charge(), &outcome(ChargeStatus::Invoiced))
            .await
            .unwrap(),
        "already settled: nothing written"
    );
}

#[tokio::test]
async fn an_outcome_is_read_from_its_attribute() {
    let table = Table::new();
    let outcome = outcome(ChargeStatus::Invoiced);
    table.then(Answer::item(
        json!({"outcome": s(&serde_json::to_string(&outcome).unwrap())}),
    ));
    assert_eq!(table.store.outcome(&charge()).await.unwrap(), Some(outcome));
    assert_consistent_get_projected(&table.only_call(), "outcome");
    assert_eq!(table.store.outcome(&charge()).await.unwrap(), None);
    table.then(Answer::item(json!({"outcome": s("{")})));
    assert!(matches!(
        table.store.outcome(&charge()).await,
        Err(StoreError::Corrupt { .. })
    ));
}

#[tokio::test]
async fn a_claim_holds_an_unsettled_charge_for_one_dispatcher() {
    let table = Table::new();
    let (now, until) = (at(0), at(300));
    assert!(
        Charges::claim(&table.store, &charge(), now, until)
            .await
            .unwrap()
    );
    let call = table.only_call();
    assert_eq!(call.operation, "UpdateItem");
    assert_update_of_charge(&call.body);
    assert_eq!(call.body["UpdateExpression"], "SET claimed_until = :until");
    assert_eq!(
        call.body["ConditionExpression"],
        "#status IN (:scheduled, :queued) AND (attribute_not_exists(claimed_until) OR claimed_until < :now)"
    );
    let millis = |t: time::OffsetDateTime| n(t.unix_timestamp_nanos() / 1_000_000);
    assert_eq!(value(&call.body, ":now"), &millis(now));
    assert_eq!(value(&call.body, ":until"), &millis(until));
    assert_eq!(value(&call.body, ":scheduled"), &s("scheduled"));
    assert_eq!(value(&call.body, ":queued"), &s("queued"));

    table.then(Answer::condition_failed());
    assert!(
        !Charges::claim(&table.store, &charge(), now, until)
            .await
            .unwrap(),
        "held by another, or settled"
    );
    table.then(Answer::unavailable());
    assert!(
        Charges::claim(&table.store, &charge(), now, until)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_release_gives_back_only_our_own_claim() {
    let table = Table::new();
    let until = at(300);
    Charges::release(&table.store, &charge(), until)
        .await
        .unwrap();
    let call = table.only_call();
    assert_update_of_charge(&call.body);
    assert_eq!(call.body["UpdateExpression"], "REMOVE claimed_until");
    assert_eq!(call.body["ConditionExpression"], "claimed_until = :until");
    assert_eq!(
        value(&call.body, ":until"),
        &n(until.unix_timestamp_nanos() / 1_000_000)
    );
    table.then(Answer::condition_failed());
    Charges::release(&table.store, &charge(), until)
        .await
        .expect("a claim that is no longer ours is nothing to give back");
    table.then(Answer::unavailable());
    assert!(
        Charges::release(&table.store, &charge(), until)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_hand_over_the_queue_refused_is_undone_only_while_it_is_the_one_queueing() {
    let table = Table::new();
    let job = invoice_job("agmt-1-1", at(0));
    assert!(table.store.hand_back(&job).await.unwrap());
    let call = table.only_call();
    assert_update_of_charge(&call.body);
    assert_eq!(
        call.body["ConditionExpression"], "#status = :queued AND queueings = :one",
        "queued once, by the order's transaction, and not settled since"
    );
    assert_eq!(
        call.body["UpdateExpression"],
        "SET #status = :scheduled, GSI2PK = :index, GSI2SK = :sk REMOVE queueings",
        "the queueing that did not happen is not counted"
    );
    assert_eq!(value(&call.body, ":one"), &n(1));
    assert_eq!(value(&call.body, ":index"), &s("CHARGE#scheduled"));
    assert_eq!(
        value(&call.body, ":sk"),
        &stored(&job, ChargeStatus::Scheduled)["GSI2SK"],
        "due again at once for the scheduled run"
    );
    table.then(Answer::condition_failed());
    assert!(
        !table.store.hand_back(&job).await.unwrap(),
        "settled or queued again meanwhile"
    );
}
