//! End-to-end tests against the local stack (`make e2e` starts it): the functions run under
//! `cargo lambda watch`, DynamoDB, SQS and SES are moto, and every check reads real state.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use cxml::Body;
use e2e::procurement_system::{self as buyer, Party, Punchout, PurchaseOrder};
use e2e::{BuyerEndpoint, LocalStack};
use procurement_web::testing;
use serde_json::json;

async fn stack() -> LocalStack {
    LocalStack::connect().await.expect("local stack")
}

/// The punchout-setup function's app on the product's own adapters (moto): one more instance
/// beside those `cargo lambda watch` runs, driven with Lambda events in-process.
/// The admin-api function's router on one more instance of the product's adapters on moto.
async fn admin_api_app(stack: &LocalStack) -> axum::Router {
    procurement_web::admin_api(std::sync::Arc::new(stack.new_instance().await))
}

async fn order_request_app(stack: &LocalStack) -> axum::Router {
    procurement_web::order_request(std::sync::Arc::new(stack.new_instance().await))
}

/// Sends a purchase order as the buyer's Coupa would; the cXML status of the answer.
async fn send_order(stack: &LocalStack, party: &Party, po: &PurchaseOrder) -> (u16, String) {
    let reply = stack.post_cxml("/order", &po.to_xml(party)).await.unwrap();
    status_of(&reply.body)
}

fn status_of(body: &str) -> (u16, String) {
    let doc = cxml::parse(body.as_bytes()).expect("the answer is cXML");
    let status = doc.response_status().expect("a cXML Response").clone();
    (status.code, status.text)
}

/// Opens a punchout as the demo Coupa buyer and returns the StartPage URL.
async fn punch_out(stack: &LocalStack, party: &Party, punchout: &Punchout) -> String {
    let reply = stack
        .post_cxml("/punchout/setup", &buyer::setup_request(party, punchout))
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let doc = cxml::parse(reply.body.as_bytes()).unwrap();
    match doc.body {
        cxml::Body::Response(cxml::Response {
            payload: Some(cxml::ResponsePayload::PunchOutSetup(setup)),
            ..
        }) => setup.start_page_url,
        other => panic!("no StartPage in {other:?}"),
    }
}

#[tokio::test]
async fn profile_request_lists_the_transactions_and_their_urls() {
    let stack = stack().await;
    let reply = stack
        .post_cxml(
            "/punchout/setup",
            &buyer::profile_request(&Party::coupa_demo()),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.content_type.starts_with("text/xml"));
    assert!(
        reply
            .body
            .contains(&format!("{}/punchout/setup", stack.api))
    );
    assert!(reply.body.contains(&format!("{}/order", stack.api)));
}

#[tokio::test]
async fn setup_request_opens_a_session_whose_start_page_serves_the_catalog() {
    let stack = stack().await;
    let start = punch_out(
        &stack,
        &Party::coupa_demo(),
        &Punchout::new("cookie-e2e-1", "http://127.0.0.1:1/cart"),
    )
    .await;
    assert!(start.starts_with(&format!("{}/punchout/start?token=", stack.api)));
    let page = stack.get(&start).await.unwrap();
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.content_type.starts_with("text/html"));
    assert!(page.body.contains("Ledgerly Analytics"), "{}", page.body);

    // A token is a session of its own: a made-up one is refused.
    let forged = stack
        .get(&format!("/punchout/start?token={}", "0".repeat(64)))
        .await
        .unwrap();
    assert_eq!(forged.status, 403);
}

#[tokio::test]
async fn wrong_shared_secret_gets_401_and_an_unknown_buyer_too() {
    let stack = stack().await;
    let punchout = Punchout::new("cookie-e2e-2", "http://127.0.0.1:1/cart");
    let wrong = Party::coupa_demo().with_secret("not-the-secret");
    let reply = stack
        .post_cxml("/punchout/setup", &buyer::setup_request(&wrong, &punchout))
        .await
        .unwrap();
    assert_eq!(reply.status, 401);
    let (code, text) = status_of(&reply.body);
    assert_eq!(code, 401);
    assert!(!reply.body.contains("not-the-secret"));
    assert!(!text.is_empty());

    let mut stranger = Party::coupa_demo();
    stranger.identity = "somebody-else".into();
    let reply = stack
        .post_cxml(
            "/punchout/setup",
            &buyer::setup_request(&stranger, &punchout),
        )
        .await
        .unwrap();
    assert_eq!(status_of(&reply.body).0, 401);
}

#[tokio::test]
async fn malformed_and_hostile_documents_get_cxml_400() {
    let stack = stack().await;
    let laughs = r#"<?xml version="1.0"?><!DOCTYPE cXML [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><cXML payloadID="x" timestamp="2026-11-24T10:00:00+00:00">&b;</cXML>"#;
    for body in ["<cXML", laughs, ""] {
        let reply = stack.post_cxml("/punchout/setup", body).await.unwrap();
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
        assert_eq!(status_of(&reply.body).0, 400);
    }
}

#[tokio::test]
async fn an_order_sent_twice_is_recorded_once_and_answered_alike() {
    let stack = stack().await;
    let party = Party::coupa_demo();
    // The seeded quote-0001 (events/order-request uses it too); the demo buyer is in test mode.
    let order_id = format!(
        "PO-E2E-{}",
        time::OffsetDateTime::now_utc().unix_timestamp_nanos()
    );
    let mut po = PurchaseOrder {
        payload_id: buyer::payload_id("dup"),
        order_id: order_id.clone(),
        order_type: "new".into(),
        lines: Vec::new(),
        test: true,
        reference: None,
    };
    po.lines.push(buyer::OrderLine {
        supplier_part_id: "prod-saas-upfront".into(),
        auxiliary_id: Some("quote-0001".into()),
        quantity: "1".into(),
        unit_price: "12000.00".into(),
        currency: "USD".into(),
        description: "Ledgerly Analytics".into(),
        unspsc: Some("81162000".into()),
    });
    let xml = po.to_xml(&party);
    let first = stack.post_cxml("/order", &xml).await.unwrap();
    let again = stack.post_cxml("/order", &xml).await.unwrap();
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(status_of(&first.body), status_of(&again.body));

    // One order record in the table, under the organisation's key.
    let out = stack
        .dynamodb()
        .query()
        .table_name(&stack.config.table_name)
        .key_condition_expression("PK = :pk")
        .expression_attribute_values(
            ":pk",
            AttributeValue::S(format!("ORDER#demo-coupa-org#{order_id}")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(out.count(), 1);
}

#[tokio::test]
async fn a_job_the_dispatcher_cannot_read_ends_in_the_dead_letter_queue() {
    let stack = stack().await;
    let sqs = stack.sqs();
    let queue = &stack.config.invoice_queue_url;
    let dlq = stack
        .env
        .get("INVOICE_DLQ_URL")
        .expect("INVOICE_DLQ_URL in stack.env");
    let marker = format!("not-a-job-{}", std::process::id());
    sqs.send_message()
        .queue_url(queue)
        .message_body(&marker)
        .send()
        .await
        .unwrap();
    // The poller hands it to invoice-dispatch, which reports it failed each time; after the
    // template's maxReceiveCount SQS moves it to the dead-letter queue. Nothing is lost.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let out = sqs
            .receive_message()
            .queue_url(dlq)
            .max_number_of_messages(10)
            .wait_time_seconds(2)
            .send()
            .await
            .unwrap();
        if out
            .messages()
            .iter()
            .any(|m| m.body() == Some(marker.as_str()))
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the bad job never reached the dead-letter queue"
        );
    }
}

#[tokio::test]
async fn the_expiry_check_runs_on_a_scheduled_event() {
    let stack = stack().await;
    let event = json!({
        "version": "0", "id": "e2e", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2026-11-24T10:00:00Z", "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/offer-expiry"], "detail": {}
    });
    stack
        .invoke("offer-expiry-check", &event)
        .await
        .expect("offer-expiry-check answers");
}

#[tokio::test]
async fn buyer_endpoint_records_what_arrives() {
    // The stand-in for the procurement system's endpoints, checked on its own.
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    let stack = stack().await;
    let reply = stack
        .post_form(
            &endpoint.url("/cart"),
            &[("cxml-urlencoded".into(), "<cXML/>".into())],
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 200);
    let got = endpoint.wait_for(1, Duration::from_secs(60)).await;
    assert_eq!(got[0].path, "/cart");
    assert_eq!(got[0].body, b"cxml-urlencoded=%3CcXML%2F%3E");
}

// ---------------------------------------------------------------- the round trip, live

use e2e::html;
use procurement::model::{AgreementStatus, QuoteStatus};

/// Emails are read back from moto, and one test takes SES away: it runs alone.
static SES: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// The records of one kind (`SK`) in the table whose stored JSON satisfies `keep`: a full scan,
/// page by page, for asserting on what exists whatever its keys.
async fn records(
    stack: &LocalStack,
    kind: &str,
    keep: impl Fn(&serde_json::Value) -> bool,
) -> Vec<serde_json::Value> {
    let mut found = Vec::new();
    let mut start = None;
    loop {
        let page = stack
            .dynamodb()
            .scan()
            .table_name(&stack.config.table_name)
            .filter_expression("SK = :sk")
            .expression_attribute_values(":sk", AttributeValue::S(kind.into()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        found.extend(
            page.items()
                .iter()
                .filter_map(|i| i.get("data").and_then(|d| d.as_s().ok()))
                .filter_map(|data| serde_json::from_str::<serde_json::Value>(data).ok())
                .filter(|record| keep(record)),
        );
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return found;
        }
    }
}

/// How many agreements the table holds for this quote, whatever their IDs.
async fn agreements_of_quote(stack: &LocalStack, quote_id: &str) -> usize {
    records(stack, "AGREEMENT", |a| a["quote_id"] == quote_id)
        .await
        .len()
}

/// The invoice charges the table holds for a purchase order, whatever their IDs.
async fn charges_of_order(stack: &LocalStack, order_id: &str) -> Vec<serde_json::Value> {
    records(stack, "CHARGE", |c| c["order_id"] == order_id).await
}

/// An ID of any kind from text (a test holds IDs as it reads them off pages and documents).
fn id<T: From<String>>(text: impl AsRef<str>) -> T {
    T::from(text.as_ref().to_string())
}

fn set_invoice_url(integration: &mut procurement::model::Integration, url: Option<String>) {
    if let procurement::model::SystemSettings::Coupa(coupa) = &mut integration.settings.system {
        coupa.invoice_url = url;
    }
}

/// A buyer organisation of its own for one test, out of test mode: orders make agreements.
async fn live_buyer(stack: &LocalStack, tag: &str, invoice_url: Option<String>) -> Party {
    let now = time::OffsetDateTime::now_utc();
    let org_id = format!("e2e-{tag}-{}", now.unix_timestamp_nanos());
    let secret = format!("secret-{org_id}");
    let mut integration = procurement::demo::coupa_integration(now);
    integration.org_id = org_id.as_str().into();
    integration.settings.test_mode = false;
    set_invoice_url(&mut integration, invoice_url);
    let credentials = integration.settings.coupa_credentials_mut().unwrap();
    credentials.buyer_identity = org_id.clone();
    credentials.sender_identity = org_id.clone();
    integration.secret_digest = cxml::SecretDigest::of(&secret).to_hex();
    let store = stack.store();
    let mut org = procurement::demo::organizations().remove(0);
    org.org_id = org_id.as_str().into();
    org.management_account_id = "999999999999".into();
    org.member_account_ids.clear();
    store.organizations.put(&org).await.unwrap();
    store.integrations.put(&integration).await.unwrap();
    Party {
        domain: integration.buyer().domain,
        identity: org_id,
        secret,
        user_agent: "Coupa Procurement 1.0".into(),
        network: None,
    }
}

/// Punch out, open `product_id`, press Request approval, let the "browser" deliver the cart
/// to `endpoint`; returns the delivered cart.
async fn request_approval(
    stack: &LocalStack,
    party: &Party,
    endpoint: &BuyerEndpoint,
    product_id: &str,
) -> buyer::DeliveredCart {
    let cookie = format!(
        "cookie-{product_id}-{}",
        time::OffsetDateTime::now_utc().unix_timestamp_nanos()
    );
    let mut punchout = Punchout::new(&cookie, &endpoint.url("/checkout"));
    punchout.selected_item = Some(product_id.into());
    let start = punch_out(stack, party, &punchout).await;
    let page = stack.get(&start).await.unwrap();
    assert_eq!(page.status, 200, "{}", page.body);
    let form = html::forms(&page.body)
        .into_iter()
        .find(|f| f.action.ends_with("/catalog/request-approval"))
        .unwrap_or_else(|| {
            panic!(
                "no Request approval on the StartPage of {product_id}: {}",
                page.body
            )
        });
    assert_eq!(form.field("product_id"), Some(product_id));
    submit_cart_form(stack, endpoint, &form, &cookie).await
}

/// Presses a button whose answer is the hand-off page (Request approval, Return) and lets the
/// "browser" post the cart it carries to `endpoint`; returns the delivered cart.
async fn submit_cart_form(
    stack: &LocalStack,
    endpoint: &BuyerEndpoint,
    form: &html::Form,
    cookie: &str,
) -> buyer::DeliveredCart {
    let before = endpoint.received().len();
    let handoff = stack.post_form(&form.action, &form.fields).await.unwrap();
    assert_eq!(handoff.status, 200, "{}", handoff.body);
    let cart_form = html::forms(&handoff.body)
        .into_iter()
        .find(|f| f.action == endpoint.url("/checkout"))
        .expect("the hand-off page posts to BrowserFormPost");
    stack
        .post_form(&cart_form.action, &cart_form.fields)
        .await
        .unwrap();
    let got = endpoint.wait_for(before + 1, Duration::from_secs(60)).await;
    let delivered = buyer::decode_cart(&got[before].body).expect("a decodable cart");
    let poom = buyer::cart_message(&delivered.doc).expect("a PunchOutOrderMessage");
    assert_eq!(poom.buyer_cookie, cookie, "the buyer cookie is echoed");
    delivered
}

fn dtd_valid(xml: &str) {
    cxml::dtd_check::validate(xml).unwrap_or_else(|e| panic!("not DTD-valid: {e}\n{xml}"));
}

#[tokio::test]
async fn request_approval_to_purchase_order_to_agreement_and_email() {
    let _ses = SES.read().await;
    let stack = stack().await;
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    let party = live_buyer(&stack, "round", None).await;
    let delivered = request_approval(&stack, &party, &endpoint, "prod-saas-upfront").await;
    dtd_valid(&delivered.xml);
    let poom = buyer::cart_message(&delivered.doc).unwrap();
    assert_eq!(poom.items.len(), 1);
    let item = &poom.items[0];
    assert_eq!(item.item_id.supplier_part_id, "prod-saas-upfront");
    assert_eq!(item.detail.unit_price.amount.to_string(), "12000.00");
    assert_eq!(item.detail.unspsc(), Some("81162000"));
    let quote_id = item.item_id.supplier_part_auxiliary_id.clone().unwrap();
    let store = stack.store();
    assert_eq!(
        store
            .quotes
            .get(&id(&quote_id))
            .await
            .unwrap()
            .unwrap()
            .status,
        QuoteStatus::PendingApproval
    );

    let order_id = format!("PO-{}", quote_id);
    let po = PurchaseOrder::from_cart(&order_id, poom);
    let reply = stack.post_cxml("/order", &po.to_xml(&party)).await.unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let quote = store.quotes.get(&id(&quote_id)).await.unwrap().unwrap();
    assert_eq!(quote.status, QuoteStatus::Ordered);
    let agreement = store
        .orders
        .get_agreement(&id(quote.agreement_id.as_deref().unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(agreement.po_number.as_deref(), Some(order_id.as_str()));
    assert_eq!(agreement.status, AgreementStatus::Active);

    let emails = stack.sent_emails().await.unwrap();
    let mail = emails
        .iter()
        .find(|e| e.body.contains(agreement.agreement_id.as_str()))
        .expect("the subscriber was emailed");
    assert!(mail.to.iter().any(|t| t == "jim.halpert@buyer.example"));
    assert!(mail.body.contains(&order_id));
}

/// Issue 14, point 3: the order's exchanges are in the organisation's message log, read
/// through the admin API as its admin, the OrderRequest with our answer and no secret.
#[tokio::test]
async fn an_order_then_the_message_log_shows_it_with_its_status_and_no_secret() {
    let _ses = SES.read().await;
    let stack = stack().await;
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    let party = live_buyer(&stack, "msglog", None).await;
    let delivered = request_approval(&stack, &party, &endpoint, "prod-saas-upfront").await;
    let poom = buyer::cart_message(&delivered.doc).unwrap();
    let order_id = format!(
        "PO-LOG-{}",
        time::OffsetDateTime::now_utc().unix_timestamp()
    );
    let po = PurchaseOrder::from_cart(&order_id, poom);
    let (code, text) = send_order(&stack, &party, &po).await;
    assert_eq!(code, 200, "{text}");

    let path = format!("/admin/orgs/{}/integration/messages", party.identity);
    let (status, json) = stack
        .admin(Some("999999999999"), "GET", &path, None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{json}");
    let messages = json["messages"].as_array().expect("messages");
    let order = messages
        .iter()
        .find(|m| m["message_type"] == "OrderRequest")
        .unwrap_or_else(|| panic!("no OrderRequest in the log: {json}"));
    assert_eq!(order["direction"], "in");
    assert_eq!(order["payload_id"], po.payload_id.as_str());
    assert_eq!(order["order_id"], order_id.as_str());
    assert_eq!(order["status_code"], 200);
    assert_eq!(order["status_text"], text.as_str());
    let document = order["document"].as_str().unwrap();
    assert!(document.contains(&order_id), "{document}");
    assert!(
        document.contains("<SharedSecret>***</SharedSecret>"),
        "{document}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m["message_type"] == "PunchOutSetupRequest"),
        "the punchout is logged too: {json}"
    );
    assert!(
        !json.to_string().contains(&party.secret),
        "no secret anywhere in the log"
    );
    assert_eq!(messages[0]["message_type"], "OrderRequest", "newest first");

    // Another account than the organisation's: 403, nothing of the log.
    let (status, json) = stack
        .admin(Some("888888888888"), "GET", &path, None)
        .await
        .unwrap();
    assert_eq!(status, 403, "{json}");
}

#[tokio::test]
async fn twenty_identical_orders_at_once_make_exactly_one_agreement() {
    let _ses = SES.read().await;
    let stack = stack().await;
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    let party = live_buyer(&stack, "race", None).await;
    let delivered = request_approval(&stack, &party, &endpoint, "prod-saas-payg").await;
    let poom = buyer::cart_message(&delivered.doc).unwrap();
    let quote_id = poom.items[0]
        .item_id
        .supplier_part_auxiliary_id
        .clone()
        .unwrap();
    let order_id = format!("PO-RACE-{quote_id}");
    let xml = PurchaseOrder::from_cart(&order_id, poom).to_xml(&party);
    // Half the copies carry the same payloadID, half are resends with their own.
    let stack = std::sync::Arc::new(stack);
    let mut sends = tokio::task::JoinSet::new();
    for n in 0..20 {
        let doc = if n % 2 == 0 {
            xml.clone()
        } else {
            let mut resend = PurchaseOrder::from_cart(&order_id, poom);
            resend.payload_id = buyer::payload_id(&format!("race{n}"));
            resend.to_xml(&party)
        };
        let stack = stack.clone();
        sends.spawn(async move { stack.post_cxml("/order", &doc).await.unwrap() });
    }
    let replies = sends.join_all().await;
    let answers: Vec<(u16, String)> = replies.iter().map(|r| status_of(&r.body)).collect();
    assert!(
        answers.iter().all(|a| *a == answers[0]),
        "different answers: {answers:?}"
    );
    assert_eq!(answers[0].0, 200);

    // Exactly one agreement for the quote, and one subscription email.
    assert_eq!(agreements_of_quote(&stack, &quote_id).await, 1);
    let emails = stack.sent_emails().await.unwrap();
    assert_eq!(
        emails.iter().filter(|e| e.body.contains(&order_id)).count(),
        1
    );
}

#[tokio::test]
async fn twenty_duplicates_racing_in_separate_instances_make_one_agreement() {
    // `cargo lambda watch` runs one request at a time per function, so the race above is
    // serialised there. Here 20 handler instances share nothing but DynamoDB (moto), as 20
    // Lambda instances would, and send at the same moment.
    let _ses = SES.read().await;
    let stack = stack().await;
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    let party = live_buyer(&stack, "inproc", None).await;
    let delivered = request_approval(&stack, &party, &endpoint, "prod-saas-upfront").await;
    let poom = buyer::cart_message(&delivered.doc).unwrap();
    let quote_id = poom.items[0]
        .item_id
        .supplier_part_auxiliary_id
        .clone()
        .unwrap();
    let order_id = format!("PO-INPROC-{quote_id}");
    let xml = PurchaseOrder::from_cart(&order_id, poom).to_xml(&party);
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(20));
    let mut sends = tokio::task::JoinSet::new();
    for _ in 0..20 {
        // A separate instance each: its own clients, its own app, fed a Lambda event.
        let app = order_request_app(&stack).await;
        let xml = xml.clone();
        let barrier = barrier.clone();
        sends.spawn(async move {
            barrier.wait().await;
            testing::post_raw(&app, "/order", "text/xml", &xml).await
        });
    }
    let replies = sends.join_all().await;
    let answers: Vec<(u16, String)> = replies.iter().map(|r| status_of(&r.body)).collect();
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    assert_eq!(answers[0].0, 200, "{answers:?}");
    assert_eq!(agreements_of_quote(&stack, &quote_id).await, 1);
}

/// The quote a delivered cart names (its first line's SupplierPartAuxiliaryID).
/// (SupplierPartID, SupplierPartAuxiliaryID, quantity, unit price) of each cart line.
fn cart_lines(poom: &cxml::PunchOutOrderMessage) -> Vec<(String, Option<String>, String, String)> {
    poom.items
        .iter()
        .map(|i| {
            (
                i.item_id.supplier_part_id.clone(),
                i.item_id.supplier_part_auxiliary_id.clone(),
                i.quantity.to_string(),
                i.detail.unit_price.amount_text(),
            )
        })
        .collect()
}

/// Re-opens `cart` as the buyer's Coupa does (`edit` or `inspect` with its lines as ItemOut);
/// the buyer cookie and the StartPage it opened.
async fn reopen(
    stack: &LocalStack,
    party: &Party,
    endpoint: &BuyerEndpoint,
    operation: &'static str,
    cart: &cxml::PunchOutOrderMessage,
) -> (String, e2e::stack::Reply) {
    let cookie = format!(
        "cookie-{operation}-{}",
        time::OffsetDateTime::now_utc().unix_timestamp_nanos()
    );
    let punchout = Punchout::new(&cookie, &endpoint.url("/checkout")).reopening(operation, cart);
    let start = punch_out(stack, party, &punchout).await;
    let page = stack.get(&start).await.unwrap();
    assert_eq!(page.status, 200, "{}", page.body);
    (cookie, page)
}

fn form_ending(page: &str, action: &str) -> Option<html::Form> {
    html::forms(page)
        .into_iter()
        .find(|f| f.action.ends_with(action))
}

#[tokio::test]
async fn an_edited_cart_is_reopened_from_the_table_and_its_po_makes_one_agreement() {
    let _ses = SES.read().await;
    let stack = stack().await;
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    let party = live_buyer(&stack, "edit", None).await;
    // A two-line quote: the contract and its pay-as-you-go line.
    let product = "prod-saas-contract-payg";
    let first = request_approval(&stack, &party, &endpoint, product).await;
    let first = buyer::cart_message(&first.doc).unwrap().clone();
    let quote_id = quote_of(&first);
    assert_eq!(first.items.len(), 2);

    // Edit: the catalog shows the cart it re-opened, read from DynamoDB.
    let (cookie, page) = reopen(&stack, &party, &endpoint, "edit", &first).await;
    for needle in ["Your cart in Coupa", &format!("Reference {quote_id}")] {
        assert!(
            page.body.contains(needle),
            "{needle:?} missing in {}",
            page.body
        );
    }

    // Leaving without a change sends the original cart back, not an empty one.
    let leave = form_ending(&page.body, "/catalog/return").expect("a way back");
    let back = submit_cart_form(&stack, &endpoint, &leave, &cookie).await;
    dtd_valid(&back.xml);
    let back = buyer::cart_message(&back.doc).unwrap();
    assert_eq!(cart_lines(back), cart_lines(&first));
    assert_eq!(back.header.total, first.header.total);

    // Request approval unchanged: the same reference goes back, and no other quote is stored.
    let (cookie, page) = reopen(&stack, &party, &endpoint, "edit", &first).await;
    let link = html::links(&page.body)
        .into_iter()
        .find(|l| l.contains(&format!("/catalog/products/{product}")))
        .unwrap_or_else(|| panic!("no link to {product}: {}", page.body));
    let detail = stack.get(&link).await.unwrap();
    let approve = form_ending(&detail.body, "/catalog/request-approval")
        .unwrap_or_else(|| panic!("no Request approval: {}", detail.body));
    let again = submit_cart_form(&stack, &endpoint, &approve, &cookie).await;
    dtd_valid(&again.xml);
    let again = buyer::cart_message(&again.doc).unwrap();
    assert_eq!(cart_lines(again), cart_lines(&first));
    let org_quotes = records(&stack, "QUOTE", |q| q["org_id"] == party.identity.as_str()).await;
    assert_eq!(org_quotes.len(), 1, "{org_quotes:?}");

    // The PO for the edited cart is the order of that one quote.
    let order_id = format!("PO-EDIT-{quote_id}");
    let (code, text) =
        send_order(&stack, &party, &PurchaseOrder::from_cart(&order_id, again)).await;
    assert_eq!(code, 200, "{text}");
    assert_eq!(agreements_of_quote(&stack, &quote_id).await, 1);
}

#[tokio::test]
async fn an_inspected_cart_is_shown_read_only_and_goes_back_untouched() {
    let stack = stack().await;
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    let party = live_buyer(&stack, "inspect", None).await;
    let first = request_approval(&stack, &party, &endpoint, "prod-saas-upfront").await;
    let first = buyer::cart_message(&first.doc).unwrap().clone();
    let quote_id = quote_of(&first);

    let (cookie, page) = reopen(&stack, &party, &endpoint, "inspect", &first).await;
    for needle in [
        "Your cart in Coupa",
        &format!("Reference {quote_id}"),
        "Nothing can be changed or requested in this session.",
    ] {
        assert!(
            page.body.contains(needle),
            "{needle:?} missing in {}",
            page.body
        );
    }
    let link = html::links(&page.body)
        .into_iter()
        .find(|l| l.contains("/catalog/products/prod-saas-upfront"))
        .unwrap_or_else(|| panic!("no product link: {}", page.body));
    let detail = stack.get(&link).await.unwrap();
    assert_eq!(detail.status, 200, "{}", detail.body);
    assert!(form_ending(&detail.body, "/catalog/request-approval").is_none());

    // Leaving an inspection sends no items: Coupa's cart stays as it is.
    let leave = form_ending(&page.body, "/catalog/return").expect("a way back");
    let back = submit_cart_form(&stack, &endpoint, &leave, &cookie).await;
    dtd_valid(&back.xml);
    assert!(buyer::cart_message(&back.doc).unwrap().items.is_empty());
    let org_quotes = records(&stack, "QUOTE", |q| q["org_id"] == party.identity.as_str()).await;
    assert_eq!(org_quotes.len(), 1, "{org_quotes:?}");
}

fn quote_of(poom: &cxml::PunchOutOrderMessage) -> String {
    poom.items[0]
        .item_id
        .supplier_part_auxiliary_id
        .clone()
        .unwrap()
}

#[tokio::test]
async fn resent_po_refused_then_corrected_as_update_or_new_makes_one_agreement() {
    // Compass "PO failed: 5xx or 4xx error response": the buyer fixes the PO and resends it.
    let _ses = SES.read().await;
    let stack = std::sync::Arc::new(stack().await);
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    let party = live_buyer(&stack, "resend", None).await;
    for resend_as in ["update", "new"] {
        let delivered = request_approval(&stack, &party, &endpoint, "prod-saas-upfront").await;
        let poom = buyer::cart_message(&delivered.doc).unwrap();
        let quote_id = quote_of(poom);
        let order_id = format!("PO-FIX-{resend_as}-{quote_id}");
        let mut wrong = PurchaseOrder::from_cart(&order_id, poom);
        wrong.lines[0].quantity = "2".into();
        let reply = stack
            .post_cxml("/order", &wrong.to_xml(&party))
            .await
            .unwrap();
        let (code, text) = status_of(&reply.body);
        assert_eq!((reply.status, code), (400, 400), "{text}");
        assert!(text.contains("quantity"), "{text}");
        assert_eq!(agreements_of_quote(&stack, &quote_id).await, 0);

        // 20 copies of the corrected PO at once: half one document, half resends of it.
        let mut sends = tokio::task::JoinSet::new();
        for n in 0..20 {
            let mut fixed = PurchaseOrder::from_cart(&order_id, poom);
            fixed.order_type = resend_as.into();
            if resend_as == "update" {
                fixed.reference = Some(wrong.payload_id.clone());
            }
            fixed.payload_id = if n % 2 == 0 {
                format!("fix-{order_id}@buyer.example")
            } else {
                buyer::payload_id(&format!("fix{n}"))
            };
            let doc = fixed.to_xml(&party);
            let stack = stack.clone();
            sends.spawn(async move { stack.post_cxml("/order", &doc).await.unwrap() });
        }
        let answers: Vec<(u16, String)> = sends
            .join_all()
            .await
            .iter()
            .map(|r| status_of(&r.body))
            .collect();
        assert!(answers.iter().all(|(code, _)| *code == 200), "{answers:?}");
        assert!(
            answers.iter().any(|(_, text)| text.contains("accepted")),
            "{answers:?}"
        );
        assert_eq!(agreements_of_quote(&stack, &quote_id).await, 1);
    }
}

#[tokio::test]
async fn resent_po_update_of_a_test_order_is_the_order_it_now_is() {
    let _ses = SES.read().await;
    let stack = stack().await;
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    let party = live_buyer(&stack, "testupd", None).await;
    let delivered = request_approval(&stack, &party, &endpoint, "prod-saas-upfront").await;
    let poom = buyer::cart_message(&delivered.doc).unwrap();
    let quote_id = quote_of(poom);
    let order_id = format!("PO-TESTUPD-{quote_id}");
    let mut test = PurchaseOrder::from_cart(&order_id, poom);
    test.test = true;
    let reply = stack
        .post_cxml("/order", &test.to_xml(&party))
        .await
        .unwrap();
    let (code, text) = status_of(&reply.body);
    assert_eq!(code, 200, "{text}");
    assert!(text.contains("test"), "{text}");
    assert_eq!(agreements_of_quote(&stack, &quote_id).await, 0);

    // The same PO from production, as an update of the test one: never 200 with nothing made.
    let mut update = PurchaseOrder::from_cart(&order_id, poom);
    update.order_type = "update".into();
    update.reference = Some(test.payload_id.clone());
    let reply = stack
        .post_cxml("/order", &update.to_xml(&party))
        .await
        .unwrap();
    let (code, text) = status_of(&reply.body);
    assert_eq!(code, 200, "{text}");
    assert!(
        text.contains("test order") && text.contains("agreement"),
        "{text}"
    );
    assert_eq!(agreements_of_quote(&stack, &quote_id).await, 1);
    // Its duplicate hears the same and makes nothing more.
    let again = stack
        .post_cxml("/order", &update.to_xml(&party))
        .await
        .unwrap();
    assert_eq!(status_of(&again.body), (code, text));
    assert_eq!(agreements_of_quote(&stack, &quote_id).await, 1);
}

#[tokio::test]
async fn resent_po_missing_a_line_of_its_quote_is_refused_naming_the_line() {
    let _ses = SES.read().await;
    let stack = stack().await;
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    let party = live_buyer(&stack, "partial", Some(endpoint.url("/cxml/invoices"))).await;
    let delivered = request_approval(&stack, &party, &endpoint, "prod-saas-contract-payg").await;
    let poom = buyer::cart_message(&delivered.doc).unwrap();
    assert_eq!(poom.items.len(), 2, "a two-line quote");
    let quote_id = quote_of(poom);
    let order_id = format!("PO-PART-{quote_id}");
    let mut partial = PurchaseOrder::from_cart(&order_id, poom);
    let dropped = partial.lines.pop().unwrap();
    let reply = stack
        .post_cxml("/order", &partial.to_xml(&party))
        .await
        .unwrap();
    let (code, text) = status_of(&reply.body);
    assert_eq!((reply.status, code), (400, 400), "{text}");
    let line = poom.items[1].line_number.unwrap();
    assert!(
        text.contains(&format!("quote {quote_id} line {line}"))
            && text.contains(&dropped.description),
        "{text}"
    );
    assert_eq!(agreements_of_quote(&stack, &quote_id).await, 0);
    assert!(charges_of_order(&stack, &order_id).await.is_empty());

    // Resent with both lines: the order, invoiced for what it orders.
    let mut whole = PurchaseOrder::from_cart(&order_id, poom);
    whole.order_type = "update".into();
    let reply = stack
        .post_cxml("/order", &whole.to_xml(&party))
        .await
        .unwrap();
    let (code, text) = status_of(&reply.body);
    assert_eq!(code, 200, "{text}");
    assert_eq!(agreements_of_quote(&stack, &quote_id).await, 1);
}

#[tokio::test]
async fn coupa_test_instance_documents_run_in_test_mode_and_production_ones_are_orders() {
    // A customer's Coupa test instance is another system with its own credential set
    // (Compass "Punchout Catalogs": one set for testing, one for production).
    let _ses = SES.read().await;
    let stack = stack().await;
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    let production = live_buyer(&stack, "instances", None).await;
    let store = stack.store();
    let mut integration = store
        .integrations
        .find_by_buyer(&production.domain, &production.identity)
        .await
        .unwrap()
        .unwrap();
    let test_identity = format!("{}-test", production.identity);
    let test_secret = format!("test-secret-{}", production.identity);
    if let procurement::model::SystemSettings::Coupa(coupa) = &mut integration.settings.system {
        let mut credentials = coupa.credentials.clone();
        credentials.buyer_identity = test_identity.clone();
        credentials.sender_identity = test_identity.clone();
        coupa.test_instance = Some(procurement::model::CoupaInstance {
            credentials,
            invoice_url: None,
        });
    }
    integration.test_secret_digest = Some(cxml::SecretDigest::of(&test_secret).to_hex());
    store.integrations.put(&integration).await.unwrap();
    let test = Party {
        identity: test_identity,
        secret: test_secret,
        ..production.clone()
    };
    // Each set's secret belongs to it alone.
    let crossed = Party {
        secret: production.secret.clone(),
        ..test.clone()
    };
    for (party, code) in [(&crossed, 401), (&test, 200), (&production, 200)] {
        let reply = stack
            .post_cxml("/punchout/setup", &buyer::profile_request(party))
            .await
            .unwrap();
        assert_eq!(status_of(&reply.body).0, code, "{}", reply.body);
    }

    // Test mode is off, yet the test instance's PO subscribes nothing.
    let delivered = request_approval(&stack, &test, &endpoint, "prod-saas-upfront").await;
    let poom = buyer::cart_message(&delivered.doc).unwrap();
    let quote_id = quote_of(poom);
    let order_id = format!("PO-INST-{quote_id}");
    let reply = stack
        .post_cxml(
            "/order",
            &PurchaseOrder::from_cart(&order_id, poom).to_xml(&test),
        )
        .await
        .unwrap();
    let (code, text) = status_of(&reply.body);
    assert_eq!(code, 200, "{text}");
    assert!(text.contains("test"), "{text}");
    assert_eq!(agreements_of_quote(&stack, &quote_id).await, 0);

    // The production instance's PO (its own numbering may repeat the number) is the order.
    let delivered = request_approval(&stack, &production, &endpoint, "prod-saas-upfront").await;
    let poom = buyer::cart_message(&delivered.doc).unwrap();
    let production_quote = quote_of(poom);
    let reply = stack
        .post_cxml(
            "/order",
            &PurchaseOrder::from_cart(&order_id, poom).to_xml(&production),
        )
        .await
        .unwrap();
    let (code, text) = status_of(&reply.body);
    assert_eq!(code, 200, "{text}");
    assert_eq!(
        agreements_of_quote(&stack, &production_quote).await,
        1,
        "{text}"
    );
    assert_eq!(agreements_of_quote(&stack, &quote_id).await, 0);
}

// ---------------------------------------------------------------- admin API and catalog rules

/// An organisation with no integration yet, administered by `account`.
async fn new_org(stack: &LocalStack, tag: &str, account: &str) -> String {
    let org_id = format!(
        "e2e-{tag}-{}",
        time::OffsetDateTime::now_utc().unix_timestamp_nanos()
    );
    let mut org = procurement::demo::organizations().remove(0);
    org.org_id = org_id.as_str().into();
    org.management_account_id = account.into();
    org.member_account_ids = vec!["444444444444".into()];
    stack.store().organizations.put(&org).await.unwrap();
    org_id
}

#[tokio::test]
async fn admin_creates_an_integration_whose_secret_opens_punchout_and_rotation_retires_it() {
    let stack = stack().await;
    let admin = "555555555555";
    let org_id = new_org(&stack, "admin", admin).await;
    let path = format!("/admin/orgs/{org_id}/integration");
    let settings = json!({
        "system": "coupa", "name": "Coupa production", "buyer_domain": "DUNS",
        "buyer_identity": org_id, "invoice_url": "https://buyer.example/cxml/invoices"
    });

    // Unsigned, signed by a member, signed by a stranger: refused with clear reasons.
    let (status, body) = stack
        .admin(None, "PUT", &path, Some(&settings))
        .await
        .unwrap();
    assert_eq!(status, 401, "{body}");
    let (status, body) = stack
        .admin(Some("444444444444"), "PUT", &path, Some(&settings))
        .await
        .unwrap();
    assert_eq!(status, 403, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains(admin));

    let (status, created) = stack
        .admin(Some(admin), "PUT", &path, Some(&settings))
        .await
        .unwrap();
    assert_eq!(status, 201, "{created}");
    let info = &created["purchase_information"];
    let secret = info["shared_secret"]
        .as_str()
        .expect("the secret, shown once")
        .to_string();
    assert_eq!(secret.len(), 64);
    assert_eq!(
        info["punchout_setup_url"],
        format!("{}/punchout/setup", stack.api)
    );
    assert_eq!(info["order_url"], format!("{}/order", stack.api));
    assert_eq!(
        created["settings"]["test_mode"], true,
        "test mode is on by default"
    );

    // A member may read; the secret never shows again, nor is it in the table.
    let (status, read) = stack
        .admin(Some("444444444444"), "GET", &path, None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{read}");
    assert!(!read.to_string().contains(&secret));
    let raw = stack
        .dynamodb()
        .get_item()
        .table_name(&stack.config.table_name)
        .key("PK", AttributeValue::S(format!("ORG#{org_id}")))
        .key("SK", AttributeValue::S("INTEGRATION".into()))
        .send()
        .await
        .unwrap();
    assert!(!format!("{:?}", raw.item()).contains(&secret));

    let party = Party {
        domain: "DUNS".into(),
        identity: org_id.clone(),
        secret: secret.clone(),
        user_agent: "Coupa Procurement 1.0".into(),
        network: None,
    };
    let punchout = Punchout::new("cookie-admin", "http://127.0.0.1:1/cart");
    punch_out(&stack, &party, &punchout).await;

    let (status, rotated) = stack
        .admin(Some(admin), "POST", &format!("{path}/secret"), None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["purchase_information"]["shared_secret"]
        .as_str()
        .unwrap();
    assert_ne!(new_secret, secret);
    let old = stack
        .post_cxml("/punchout/setup", &buyer::setup_request(&party, &punchout))
        .await
        .unwrap();
    assert_eq!(
        old.status, 401,
        "the rotated-out secret no longer opens punchout"
    );
    punch_out(&stack, &party.with_secret(new_secret), &punchout).await;

    // Bad settings: 400 naming the field.
    let mut bad = settings.clone();
    bad["invoice_url"] = "http://buyer.example/invoices".into();
    let (status, body) = stack
        .admin(Some(admin), "PUT", &path, Some(&bad))
        .await
        .unwrap();
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("invoice_url"),
        "{body}"
    );

    // Disabled: setup refused with 403; settings kept for re-enabling.
    let mut disabled = settings.clone();
    disabled["enabled"] = false.into();
    let (status, _) = stack
        .admin(Some(admin), "PUT", &path, Some(&disabled))
        .await
        .unwrap();
    assert_eq!(status, 200);
    let refused = stack
        .post_cxml(
            "/punchout/setup",
            &buyer::setup_request(&party.with_secret(new_secret), &punchout),
        )
        .await
        .unwrap();
    assert_eq!(refused.status, 403, "{}", refused.body);
}

/// The cross-account admin design end to end: each account signs with its own local keys
/// (SigV4, aws-sigv4), the admin REST API stand-in checks the signature and the template's
/// resource policy as API Gateway does, and the admin function binds the caller's account to
/// the organisation.
#[tokio::test]
async fn signed_admins_administer_their_own_organisation_and_nothing_else() {
    let stack = stack().await;
    let a_admin = "555555555555";
    let a_member = "444444444444";
    let org_a = new_org(&stack, "xacct-a", a_admin).await;
    let org_b = new_org(&stack, "xacct-b", "333333333333").await;
    let path_a = format!("/admin/orgs/{org_a}/integration");
    let path_b = format!("/admin/orgs/{org_b}/integration");
    let settings = |org: &str| {
        json!({
            "system": "coupa", "name": "Cross-account", "buyer_domain": "DUNS",
            "buyer_identity": org,
        })
    };

    // Signed as A: A's organisation is created, read and changed.
    let (status, created) = stack
        .admin(Some(a_admin), "PUT", &path_a, Some(&settings(&org_a)))
        .await
        .unwrap();
    assert_eq!(status, 201, "{created}");
    let mut renamed = settings(&org_a);
    renamed["name"] = "Cross-account, renamed".into();
    let (status, changed) = stack
        .admin(Some(a_admin), "PUT", &path_a, Some(&renamed))
        .await
        .unwrap();
    assert_eq!(status, 200, "{changed}");
    let (status, read) = stack
        .admin(Some(a_admin), "GET", &path_a, None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["settings"]["name"], "Cross-account, renamed");

    // A on B: refused by the function (A's signature is good, its account allowed), and B
    // is left without an integration.
    for (method, path, body) in [
        ("GET", path_b.clone(), None),
        ("PUT", path_b.clone(), Some(settings(&org_b))),
        ("POST", format!("{path_b}/secret"), None),
    ] {
        let (status, body) = stack
            .admin(Some(a_admin), method, &path, body.as_ref())
            .await
            .unwrap();
        assert_eq!(status, 403, "A {method} {path}: {body}");
        assert!(
            !body.to_string().contains("execute-api:Invoke"),
            "the function refused, not the gateway: {body}"
        );
    }
    let (status, body) = stack
        .admin(Some("333333333333"), "GET", &path_b, None)
        .await
        .unwrap();
    assert_eq!(status, 404, "B has no integration: {body}");

    // A's member account reads and cannot write.
    let (status, read) = stack
        .admin(Some(a_member), "GET", &path_a, None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{read}");
    for (method, path, body) in [
        ("PUT", path_a.clone(), Some(settings(&org_a))),
        ("POST", format!("{path_a}/secret"), None),
    ] {
        let (status, body) = stack
            .admin(Some(a_member), method, &path, body.as_ref())
            .await
            .unwrap();
        assert_eq!(status, 403, "member {method} {path}: {body}");
    }

    // Unsigned: 401, API Gateway's own answer in the admin API's shape.
    let (status, body) = stack.admin(None, "GET", &path_a, None).await.unwrap();
    assert_eq!(status, 401, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("SigV4"),
        "{body}"
    );

    // A bad signature (A's access key, another secret): 403 as API Gateway answers it, and
    // nothing changed.
    let mut forged = stack.admin_credentials(a_admin).unwrap();
    forged.secret_access_key = "not-the-secret-of-this-key".into();
    let (status, body) = stack
        .admin_as(Some(&forged), "PUT", &path_a, Some(&settings(&org_a)))
        .await
        .unwrap();
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("signature we calculated does not match"),
        "{body}"
    );
    let (_, read) = stack
        .admin(Some(a_admin), "GET", &path_a, None)
        .await
        .unwrap();
    assert_eq!(read["settings"]["name"], "Cross-account, renamed");

    // An account the resource policy does not name is refused by API Gateway even for the
    // organisation it manages (the function would have answered 404: no integration yet).
    let outside = "888888888888";
    let org_c = new_org(&stack, "xacct-outside", outside).await;
    let (status, body) = stack
        .admin(
            Some(outside),
            "GET",
            &format!("/admin/orgs/{org_c}/integration"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("is not authorized to perform: execute-api:Invoke"),
        "{body}"
    );

    // The internet-facing HTTP API serves no admin route.
    let reply = stack.get(&path_a).await.unwrap();
    assert_ne!(reply.status, 200, "{}", reply.body);
    assert!(!reply.body.contains("Cross-account"), "{}", reply.body);
}

#[tokio::test]
async fn unsupported_products_show_no_button_and_a_forged_request_is_refused() {
    let stack = stack().await;
    let party = live_buyer(&stack, "unsupported", None).await;
    let mut punchout = Punchout::new("cookie-unsupported", "http://127.0.0.1:1/cart");
    punchout.selected_item = Some("prod-proserv".into());
    let start = punch_out(&stack, &party, &punchout).await;
    let page = stack.get(&start).await.unwrap();
    assert_eq!(page.status, 200);
    assert!(
        !html::forms(&page.body)
            .iter()
            .any(|f| f.action.ends_with("/catalog/request-approval")),
        "professional services must have no Request approval button"
    );
    let token = start.split("token=").nth(1).unwrap().to_string();
    let forged = stack
        .post_form(
            "/catalog/request-approval",
            &[
                ("token".into(), token),
                ("product_id".into(), "prod-proserv".into()),
            ],
        )
        .await
        .unwrap();
    assert_eq!(forged.status, 400, "{}", forged.body);
}

#[tokio::test]
async fn pre_approved_free_products_subscribe_at_once_and_send_no_cart() {
    let stack = stack().await;
    let party = live_buyer(&stack, "preapproved", None).await;
    let store = stack.store();
    let mut integration = store
        .integrations
        .find_by_buyer(&party.domain, &party.identity)
        .await
        .unwrap()
        .unwrap();
    integration.settings.preapprove_free = true;
    store.integrations.put(&integration).await.unwrap();

    let mut punchout = Punchout::new("cookie-free", "http://127.0.0.1:1/cart");
    punchout.selected_item = Some("prod-ami-free".into());
    let start = punch_out(&stack, &party, &punchout).await;
    let page = stack.get(&start).await.unwrap();
    let form = html::forms(&page.body)
        .into_iter()
        .find(|f| f.action.ends_with("/catalog/request-approval"))
        .expect("Free products can be requested");
    let done = stack.post_form(&form.action, &form.fields).await.unwrap();
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(
        !html::forms(&done.body)
            .iter()
            .any(|f| f.action.contains("127.0.0.1:1")),
        "no cart goes to the procurement system"
    );
    // punchout-setup may not write agreements (its IAM policy, enforced by the local stack):
    // the job it queued does, through the queue and invoice-dispatch.
    let from = done.body.find("Reference: <code>").expect("reference") + "Reference: <code>".len();
    let quote_id = procurement::ids::QuoteId::from(
        &done.body[from..from + done.body[from..].find('<').unwrap()],
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let agreement_id = loop {
        let quote = store
            .quotes
            .get(&quote_id)
            .await
            .unwrap()
            .expect("quote stored");
        assert_eq!(quote.status, procurement::model::QuoteStatus::Subscribed);
        if let Some(id) = quote.agreement_id {
            break id;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the subscription job wrote no agreement"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let agreement = store
        .orders
        .get_agreement(&agreement_id)
        .await
        .unwrap()
        .expect("the agreement exists");
    assert_eq!(agreement.org_id, integration.org_id);
    assert_eq!(agreement.product_id, "prod-ami-free");
    assert_eq!(agreement.quote_id, quote_id);
}

#[tokio::test]
async fn the_ariba_private_marketplace_shows_only_its_products() {
    let stack = stack().await;
    let start = punch_out(
        &stack,
        &Party::ariba_demo(),
        &Punchout::new("cookie-ariba", "http://127.0.0.1:1/cart"),
    )
    .await;
    let page = stack.get(&start).await.unwrap();
    assert_eq!(page.status, 200);
    let products: Vec<String> = html::links(&page.body)
        .into_iter()
        .filter(|l| l.contains("/catalog/products/"))
        .collect();
    assert!(!products.is_empty());
    for allowed in procurement::demo::ARIBA_PRIVATE_MARKETPLACE {
        assert!(
            products.iter().any(|l| l.contains(allowed)),
            "{allowed} missing"
        );
    }
    assert!(
        !products.iter().any(|l| l.contains("prod-saas-fps")),
        "outside the private marketplace"
    );
}

/// A copy of the demo private offer under a product ID of its own, extended to `buyers`
/// only, stored in the catalog: a test changes it without touching the shared demo product.
async fn private_offer_for(
    stack: &LocalStack,
    tag: &str,
    buyers: &[&str],
) -> procurement::model::Product {
    let store = stack.store();
    let mut product = store
        .catalog
        .get_product(procurement::demo::PRIVATE_OFFER_PRODUCT)
        .await
        .unwrap()
        .unwrap();
    product.id = format!("prod-private-{tag}");
    product.private_offer.as_mut().unwrap().extended_to =
        buyers.iter().map(|b| (*b).into()).collect();
    store.catalog.put_product(&product).await.unwrap();
    product
}

/// Coupa Open Buy as `party`: a token, then one action's status and JSON answer.
async fn open_buy(
    stack: &LocalStack,
    party: &Party,
    action: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let client = reqwest::Client::new();
    let url = |name: &str| stack.url(&format!("/openbuy/{name}/v1.0.0"));
    let credentials = format!("{}/{}:{}", party.domain, party.identity, party.secret);
    let reply = client
        .post(url("authentication"))
        .json(&json!({"credentials": credentials}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 200);
    let token = reply.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let reply = client
        .post(url(action))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = reply.status().as_u16();
    (
        status,
        reply.json().await.unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn a_private_offer_is_seen_and_ordered_only_by_the_organisations_it_names() {
    let _ses = SES.read().await;
    let stack = stack().await;
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    let named = live_buyer(&stack, "offer-named", None).await;
    let other = live_buyer(&stack, "offer-other", None).await;
    let product = private_offer_for(&stack, &named.identity, &[&named.identity]).await;
    let missing = format!("prod-missing-{}", other.identity);
    let secrets = [
        product.id.as_str(),
        "Sentinel",
        "offer-sentinel-2026",
        "48,000.00",
        procurement::demo::PRIVATE_OFFER_PRODUCT,
    ];
    let no_trace = |what: &str, body: &str| {
        for secret in secrets {
            assert!(!body.contains(secret), "{what}: {secret:?} in {body}");
        }
    };

    // Another organisation (no private marketplace) sees neither this offer nor the demo one
    // (extended to the demo organisations): not in the catalog, not found by search.
    let start = punch_out(
        &stack,
        &other,
        &Punchout::new("cookie-offer-other", &endpoint.url("/checkout")),
    )
    .await;
    let token = start.split("token=").nth(1).unwrap().to_string();
    let page = stack.get(&start).await.unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains("products"), "{}", page.body);
    no_trace("catalog", &page.body);
    let search = stack
        .get(&format!("/catalog?token={token}&q=sentinel"))
        .await
        .unwrap();
    assert!(search.body.contains("0 products"), "{}", search.body);
    // Its page and Request approval answer as for a product that does not exist.
    let product_page = |id: &str| format!("/catalog/products/{id}?token={token}");
    let shown = stack.get(&product_page(&product.id)).await.unwrap();
    let absent = stack.get(&product_page(&missing)).await.unwrap();
    assert_eq!((shown.status, absent.status), (404, 404));
    no_trace("product page", &shown.body);
    let approve = |id: &str| {
        vec![
            ("token".to_string(), token.clone()),
            ("product_id".to_string(), id.to_string()),
        ]
    };
    let requested = stack
        .post_form(
            &stack.url("/catalog/request-approval"),
            &approve(&product.id),
        )
        .await
        .unwrap();
    let absent = stack
        .post_form(&stack.url("/catalog/request-approval"), &approve(&missing))
        .await
        .unwrap();
    assert_eq!((requested.status, absent.status), (404, 404));
    no_trace("request approval", &requested.body);
    // Coupa Open Buy: not in the search, and detail and checkout as for a missing item.
    let (status, found) = open_buy(&stack, &other, "search", json!({"query": "sentinel"})).await;
    assert_eq!((status, &found["total_count"]), (200, &json!(0)), "{found}");
    for action in ["detail", "checkout"] {
        let (status, refused) = open_buy(
            &stack,
            &other,
            action,
            json!({"source_part_num": product.id, "quantity": 1}),
        )
        .await;
        let (_, absent) = open_buy(
            &stack,
            &other,
            action,
            json!({"source_part_num": missing, "quantity": 1}),
        )
        .await;
        assert_eq!(status, 400, "{action}: {refused}");
        assert_eq!(
            refused["error"]["message"]
                .as_str()
                .unwrap()
                .replace(&product.id, "<part>"),
            absent["error"]["message"]
                .as_str()
                .unwrap()
                .replace(&missing, "<part>"),
            "{action}"
        );
    }

    // The organisation it names sees it, requests approval and orders it.
    let delivered = request_approval(&stack, &named, &endpoint, &product.id).await;
    let poom = buyer::cart_message(&delivered.doc).unwrap();
    let quote_id = poom.items[0]
        .item_id
        .supplier_part_auxiliary_id
        .clone()
        .unwrap();
    // The other organisation cannot order it with the named one's quote: the answer of a
    // quote that does not exist.
    let order_as = |party: &Party, order_id: &str, poom: &cxml::PunchOutOrderMessage| {
        PurchaseOrder::from_cart(order_id, poom).to_xml(party)
    };
    let stolen = stack
        .post_cxml(
            "/order",
            &order_as(&other, &format!("PO-O-{quote_id}"), poom),
        )
        .await
        .unwrap();
    let mut made_up = poom.clone();
    made_up.items[0].item_id.supplier_part_auxiliary_id = Some(format!("q-none-{quote_id}"));
    let absent = stack
        .post_cxml(
            "/order",
            &order_as(&other, &format!("PO-M-{quote_id}"), &made_up),
        )
        .await
        .unwrap();
    let (code, text) = status_of(&stolen.body);
    let (absent_code, absent_text) = status_of(&absent.body);
    assert_eq!(code, 400, "{text}");
    assert_eq!(
        (code, text.replace(&quote_id, "<q>")),
        (
            absent_code,
            absent_text.replace(&format!("q-none-{quote_id}"), "<q>")
        )
    );
    let reply = stack
        .post_cxml(
            "/order",
            &order_as(&named, &format!("PO-N-{quote_id}"), poom),
        )
        .await
        .unwrap();
    let (code, text) = status_of(&reply.body);
    assert_eq!(code, 200, "{text}");
    let store = stack.store();
    let quote = store.quotes.get(&id(&quote_id)).await.unwrap().unwrap();
    assert_eq!(quote.status, QuoteStatus::Ordered);

    // Once the seller no longer extends the offer to it, the next order is refused as for a
    // withdrawn offer (409, resend), and the product is gone from its catalog.
    let delivered = request_approval(&stack, &named, &endpoint, &product.id).await;
    let poom = buyer::cart_message(&delivered.doc).unwrap();
    let second = poom.items[0]
        .item_id
        .supplier_part_auxiliary_id
        .clone()
        .unwrap();
    let mut withdrawn = product.clone();
    withdrawn.private_offer.as_mut().unwrap().extended_to = vec![other.identity.as_str().into()];
    store.catalog.put_product(&withdrawn).await.unwrap();
    let reply = stack
        .post_cxml("/order", &order_as(&named, &format!("PO-W-{second}"), poom))
        .await
        .unwrap();
    let (code, text) = status_of(&reply.body);
    assert_eq!(code, 409, "{text}");
    assert!(
        text.contains("expired") && text.contains("Resend"),
        "{text}"
    );
    assert!(!text.contains(&other.identity), "{text}");
    assert_eq!(
        store
            .quotes
            .get(&id(&second))
            .await
            .unwrap()
            .unwrap()
            .status,
        QuoteStatus::Expired
    );
}

#[tokio::test]
async fn coupa_open_buy_authenticates_searches_and_checks_out_over_the_stack() {
    // As Coupa calls the supplier's Open Buy API (Open Buy API Reference): authentication,
    // then search, detail and checkout with the token, through API Gateway's route.
    let stack = stack().await;
    let client = reqwest::Client::new();
    let action = |name: &str| stack.url(&format!("/openbuy/{name}/v1.0.0"));
    let credentials = format!(
        "{}/{}:{}",
        procurement::demo::COUPA_DOMAIN,
        procurement::demo::COUPA_IDENTITY,
        procurement::demo::COUPA_SECRET
    );
    let reply = client
        .post(action("authentication"))
        .json(&json!({"credentials": credentials, "email": "jim@buyer.example"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 200);
    let token = reply.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    // The token is stored in the table only as its digest.
    let digest = cxml::SecretDigest::of(&token).to_hex();
    assert!(
        stack
            .store()
            .open_buy_tokens
            .get(&digest)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        stack
            .store()
            .open_buy_tokens
            .get(&token)
            .await
            .unwrap()
            .is_none()
    );

    let reply = client
        .post(action("search"))
        .bearer_auth(&token)
        .json(&json!({"query": "ledgerly", "page_number": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 200);
    let body: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(body["total_count"], 1, "{body}");
    assert_eq!(body["results"][0]["source_part_num"], "prod-saas-upfront");
    assert_eq!(body["results"][0]["price"], "12000.00");

    let reply = client
        .post(action("checkout"))
        .bearer_auth(&token)
        .json(&json!({"source_part_num": "prod-saas-upfront", "quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 200);
    let body: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(
        body["punchout"]["url"],
        stack.url("/punchout/setup"),
        "{body}"
    );
    assert_eq!(
        body["punchout"]["selected_item"]["supplier_part_id"],
        "prod-saas-upfront"
    );

    for (name, token, body, status) in [
        ("search", None, json!({"query": "ledgerly"}), 401),
        ("search", Some(token.as_str()), json!({}), 400),
        (
            "authentication",
            None,
            json!({"credentials": "DUNS/coupa-demo-buyer:guessed"}),
            401,
        ),
    ] {
        let mut request = client.post(action(name)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let reply = request.send().await.unwrap();
        assert_eq!(reply.status().as_u16(), status, "{name} {body}");
    }
    // The old custom search is retired.
    let old = client
        .get(stack.url("/search?q=ledgerly"))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status().as_u16(), 404);
}

#[tokio::test]
async fn secret_rotations_racing_settings_changes_leave_the_newest_secret_working() {
    // Ten rotations and ten settings PUTs at the same moment, from separate handler instances
    // as separate Lambda instances would run them. Each write is conditional on the version
    // it read, so no PUT puts an older secret back: the secret stored at the end is the one
    // the last rotation handed out.
    let stack = stack().await;
    let party = live_buyer(&stack, "rotate", None).await;
    let org_id = party.identity.clone();
    let settings = json!({
        "system": "coupa", "name": "Racing admins", "buyer_domain": party.domain,
        "buyer_identity": party.identity, "test_mode": false,
    });
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(20));
    let mut calls = tokio::task::JoinSet::new();
    for n in 0..20 {
        let barrier = barrier.clone();
        let app = admin_api_app(&stack).await;
        let (method, path, body) = if n % 2 == 0 {
            (
                "POST",
                format!("/admin/orgs/{org_id}/integration/secret"),
                None,
            )
        } else {
            (
                "PUT",
                format!("/admin/orgs/{org_id}/integration"),
                Some(settings.clone()),
            )
        };
        calls.spawn(async move {
            barrier.wait().await;
            // A request that lost every one of its conditional writes says so (409) and changed
            // nothing; its caller sends it again, as the answer asks. Each round of contention
            // has a winner, so every request applies in the end.
            let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
            loop {
                let reply =
                    testing::admin(&app, method, &path, Some("999999999999"), body.as_ref()).await;
                if reply.status != 409 || tokio::time::Instant::now() >= deadline {
                    return reply;
                }
                assert!(reply.body.contains("kept changing"), "{}", reply.body);
            }
        });
    }
    let replies = calls.join_all().await;
    let mut rotations = Vec::new();
    for reply in &replies {
        assert_eq!(reply.status, 200, "every request applies: {}", reply.body);
        let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        if let Some(secret) = body["purchase_information"]["shared_secret"].as_str() {
            let version = time::OffsetDateTime::parse(
                body["updated_at"].as_str().unwrap(),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap();
            rotations.push((version, secret.to_string()));
        }
    }
    assert_eq!(rotations.len(), 10, "each rotation handed out its secret");
    let newest = rotations.iter().max().expect("rotations");
    let stored = stack
        .store()
        .integrations
        .get(&id(&org_id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.secret_digest,
        cxml::SecretDigest::of(&newest.1).to_hex(),
        "the newest rotation's secret is the one stored"
    );
    assert_eq!(
        stored.settings.name, "Racing admins",
        "the settings PUTs applied too"
    );
}

#[tokio::test]
async fn organisations_racing_for_one_buyer_credential_leave_it_to_exactly_one() {
    // Eight organisations PUT settings naming the same buyer credential at the same moment,
    // three rounds, a new credential each round (so earlier winners move theirs). The
    // credential is claimed in the integration's own transaction: exactly one organisation
    // gets it, the others a 409, and the index holds one integration for it.
    let stack = stack().await;
    let mut orgs = Vec::new();
    for n in 0..8 {
        let admin = format!("70000000000{n}");
        orgs.push((new_org(&stack, "credential", &admin).await, admin));
    }
    for round in 0..3 {
        let credential = format!(
            "contested-{round}-{}",
            time::OffsetDateTime::now_utc().unix_timestamp_nanos()
        );
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(orgs.len()));
        let mut calls = tokio::task::JoinSet::new();
        for (org_id, admin) in &orgs {
            let app = admin_api_app(&stack).await;
            let barrier = barrier.clone();
            let path = format!("/admin/orgs/{org_id}/integration");
            let body = json!({
                "system": "coupa", "name": "Contested", "buyer_domain": "DUNS",
                "buyer_identity": credential,
            });
            let admin = admin.clone();
            let org_id = org_id.clone();
            calls.spawn(async move {
                barrier.wait().await;
                let reply = testing::admin(&app, "PUT", &path, Some(&admin), Some(&body)).await;
                (org_id, reply)
            });
        }
        let replies = calls.join_all().await;
        let winners: Vec<&String> = replies
            .iter()
            .filter(|(_, r)| r.status == 200 || r.status == 201)
            .map(|(org, _)| org)
            .collect();
        for (_, reply) in &replies {
            if reply.status == 409 {
                assert!(
                    reply.body.contains("already used by another organisation"),
                    "{}",
                    reply.body
                );
            } else {
                assert!(matches!(reply.status, 200 | 201), "{}", reply.body);
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        // Exactly one organisation's integration holds the credential, whatever the losers
        // wrote: no integration of another organisation names it.
        let holders = records(&stack, "INTEGRATION", |i| {
            i["settings"]["buyer_identity"] == credential.as_str()
        })
        .await;
        assert_eq!(
            holders.len(),
            1,
            "round {round}: one integration holds it: {holders:?}"
        );
        assert_eq!(holders[0]["org_id"], winners[0].as_str());
        let found = stack
            .store()
            .integrations
            .find_by_buyer("duns", &credential)
            .await
            .unwrap()
            .expect("the credential finds its integration");
        assert_eq!(&found.org_id, winners[0]);
    }
}

// ---------------------------------------------------------------- Coupa's own purchase orders

fn samples_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/cxml/samples/OrderRequest")
}

/// Seeds what a Coupa sample order refers to (its buyer's integration, its products and a
/// quote per SupplierPartAuxiliaryID matching its lines) and returns the document to send;
/// a sample without a SharedSecret gets the seeded one, as a configured Coupa would send it.
async fn seed_for_sample(stack: &LocalStack, stem: &str, text: &str) -> String {
    use procurement::model::*;
    let injected = "e2e-sample-secret";
    let text = if text.contains("<SharedSecret>") {
        text.to_string()
    } else {
        let sender = text.find("<Sender>").expect("a Sender");
        let end = sender + text[sender..].find("</Identity>").unwrap() + "</Identity>".len();
        format!(
            "{}<SharedSecret>{injected}</SharedSecret>{}",
            &text[..end],
            &text[end..]
        )
    };
    let doc = cxml::parse(text.as_bytes()).expect("the sample parses");
    let header = doc.header.as_ref().unwrap();
    let Body::Request(cxml::Request {
        payload: cxml::RequestPayload::Order(order),
        ..
    }) = &doc.body
    else {
        panic!("{stem} is not an OrderRequest");
    };
    let now = time::OffsetDateTime::now_utc();
    let org_id = format!("sample-{stem}");
    let sender = header.sender_credential().unwrap();
    let secret = sender.shared_secret.as_ref().unwrap().expose().to_string();
    let mut integration = procurement::demo::coupa_integration(now);
    integration.org_id = org_id.as_str().into();
    integration.settings.test_mode = false;
    set_invoice_url(&mut integration, None);
    *integration.settings.coupa_credentials_mut().unwrap() = procurement::model::BuyerCredentials {
        buyer_domain: header.from[0].domain.clone(),
        buyer_identity: header.from[0].identity.clone(),
        sender_domain: sender.domain.clone(),
        sender_identity: sender.identity.clone(),
    };
    integration.secret_digest = cxml::SecretDigest::of(&secret).to_hex();
    let store = stack.store();
    let mut org = procurement::demo::organizations().remove(0);
    org.org_id = org_id.as_str().into();
    store.organizations.put(&org).await.unwrap();
    store.integrations.put(&integration).await.unwrap();
    let mut quotes: Vec<Quote> = Vec::new();
    for (n, item) in order.items.iter().enumerate() {
        let detail = item.detail.as_ref().unwrap();
        let product = Product {
            id: item.item_id.supplier_part_id.clone(),
            title: detail
                .descriptions
                .first()
                .map(|d| d.text.clone())
                .unwrap_or_default(),
            vendor: "Sample vendor".into(),
            product_type: ProductType::Saas,
            summary: String::new(),
            pricing: Pricing::Upfront {
                amount: detail.unit_price.clone(),
                months: 12,
            },
            private_offer: None,
        };
        store.catalog.put_product(&product).await.unwrap();
        let quote_id = item.item_id.supplier_part_auxiliary_id.clone().unwrap();
        let line = QuoteLine {
            line_number: n as u32 + 1,
            description: product.title.clone(),
            kind: ChargeKind::Contract,
            quantity: item.quantity,
            unit_price: detail.unit_price.clone(),
            unit_of_measure: detail.unit_of_measure.clone(),
            unspsc: "81162000".into(),
        };
        match quotes.iter_mut().find(|q| q.quote_id == quote_id) {
            Some(q) => q.lines.push(line),
            None => quotes.push(Quote {
                quote_id: quote_id.into(),
                org_id: org_id.as_str().into(),
                product_id: product.id.clone(),
                product_title: product.title.clone(),
                lines: vec![line],
                status: QuoteStatus::PendingApproval,
                test: false,
                never_invoiced: false,
                private_offer: None,
                requester_email: Some("requester@buyer.example".into()),
                requester_name: None,
                buyer_cookie: "sample".into(),
                created_at: now,
                order_id: None,
                agreement_id: None,
            }),
        }
    }
    for quote in &quotes {
        // A rerun on a kept stack finds them already there (and ordered).
        let _ = store.quotes.create(quote).await;
    }
    text
}

#[tokio::test]
async fn coupas_sample_purchase_orders_become_agreements_once() {
    let stack = stack().await;
    let mut handled = 0;
    for entry in std::fs::read_dir(samples_dir()).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        if !text.contains("<UserAgent>Coupa") {
            continue;
        }
        let stem = path
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .replace("__", "-");
        let document = seed_for_sample(&stack, &stem, &text).await;
        let first = stack.post_cxml("/order", &document).await.unwrap();
        assert_eq!(first.status, 200, "{stem}: {}", first.body);
        let again = stack.post_cxml("/order", &document).await.unwrap();
        assert_eq!(status_of(&first.body), status_of(&again.body), "{stem}");

        let doc = cxml::parse(document.as_bytes()).unwrap();
        let Body::Request(cxml::Request {
            payload: cxml::RequestPayload::Order(order),
            ..
        }) = doc.body
        else {
            unreachable!()
        };
        let store = stack.store();
        for item in &order.items {
            let quote_id = item.item_id.supplier_part_auxiliary_id.as_deref().unwrap();
            let quote = store.quotes.get(&id(quote_id)).await.unwrap().unwrap();
            assert_eq!(quote.status, QuoteStatus::Ordered, "{stem}: {quote_id}");
            let agreement = store
                .orders
                .get_agreement(&id(quote.agreement_id.as_deref().unwrap()))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                agreement.po_number.as_deref(),
                Some(order.header.order_id.as_str())
            );
            assert_eq!(
                agreements_of_quote(&stack, quote_id).await,
                1,
                "{stem}: {quote_id}"
            );
        }
        handled += 1;
    }
    assert_eq!(handled, 2, "both Coupa samples in OrderRequest/");
}

#[tokio::test]
async fn an_offer_that_expired_during_approval_is_refused_and_the_requester_told() {
    let _ses = SES.read().await;
    let stack = stack().await;
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    let party = live_buyer(&stack, "expired", None).await;
    // The demo offer is extended to the demo organisations only: a copy for this buyer.
    let private = private_offer_for(&stack, &party.identity, &[&party.identity]).await;
    let delivered = request_approval(&stack, &party, &endpoint, &private.id).await;
    let poom = buyer::cart_message(&delivered.doc).unwrap();
    let quote_id = poom.items[0]
        .item_id
        .supplier_part_auxiliary_id
        .clone()
        .unwrap();
    // The seller moves the offer's expiry while the buyer's approval runs.
    let store = stack.store();
    let mut quote = store.quotes.get(&id(&quote_id)).await.unwrap().unwrap();
    assert!(
        quote.private_offer.is_some(),
        "the offer is kept with the quote"
    );
    let mut moved = private.clone();
    moved.id = format!("prod-private-{}", quote_id);
    moved.private_offer.as_mut().unwrap().expires_at -= Duration::from_secs(86400 * 30);
    store.catalog.put_product(&moved).await.unwrap();
    // Point this quote at the changed copy, so other tests keep the shared demo product.
    quote.product_id = moved.id.clone();
    stack
        .dynamodb()
        .delete_item()
        .table_name(&stack.config.table_name)
        .key("PK", AttributeValue::S(format!("QUOTE#{quote_id}")))
        .key("SK", AttributeValue::S("QUOTE".into()))
        .send()
        .await
        .unwrap();
    store.quotes.create(&quote).await.unwrap();

    let mut po = PurchaseOrder::from_cart(&format!("PO-EXP-{quote_id}"), poom);
    po.lines[0].supplier_part_id = moved.id.clone();
    let reply = stack.post_cxml("/order", &po.to_xml(&party)).await.unwrap();
    let (code, text) = status_of(&reply.body);
    assert_eq!(code, 409, "{text}");
    assert!(
        text.contains("expired") && text.contains("Resend"),
        "{text}"
    );
    assert_eq!(
        store
            .quotes
            .get(&id(&quote_id))
            .await
            .unwrap()
            .unwrap()
            .status,
        QuoteStatus::Expired
    );
    assert_eq!(agreements_of_quote(&stack, &quote_id).await, 0);
    let emails = stack.sent_emails().await.unwrap();
    assert!(
        emails
            .iter()
            .any(|e| e.body.contains(&quote_id) && e.subject.contains("expired")),
        "the requester is told to resend"
    );
}

#[tokio::test]
async fn update_keeps_the_subscription_and_delete_cancels_what_has_not_started() {
    let stack = stack().await;
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    let party = live_buyer(&stack, "change", None).await;
    let delivered = request_approval(&stack, &party, &endpoint, "prod-saas-payg").await;
    let poom = buyer::cart_message(&delivered.doc).unwrap();
    let quote_id = poom.items[0]
        .item_id
        .supplier_part_auxiliary_id
        .clone()
        .unwrap();
    let order_id = format!("PO-CHG-{quote_id}");
    let original = PurchaseOrder::from_cart(&order_id, poom);
    let reply = stack
        .post_cxml("/order", &original.to_xml(&party))
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);

    let mut update = PurchaseOrder::from_cart(&order_id, poom);
    update.order_type = "update".into();
    update.reference = Some(original.payload_id.clone());
    let reply = stack
        .post_cxml("/order", &update.to_xml(&party))
        .await
        .unwrap();
    assert_eq!(status_of(&reply.body).0, 200, "{}", reply.body);

    let mut raise = PurchaseOrder::from_cart(&order_id, poom);
    raise.order_type = "update".into();
    raise.reference = Some(original.payload_id.clone());
    raise.lines[0].quantity = "2".into();
    let (code, text) = send_order(&stack, &party, &raise).await;
    assert_eq!(code, 409, "{text}");

    let mut delete = PurchaseOrder::from_cart(&order_id, poom);
    delete.order_type = "delete".into();
    delete.reference = Some(original.payload_id.clone());
    let (code, text) = send_order(&stack, &party, &delete).await;
    assert_eq!(code, 200, "{text}");
    let store = stack.store();
    let quote = store.quotes.get(&id(&quote_id)).await.unwrap().unwrap();
    assert_eq!(quote.status, QuoteStatus::Cancelled);
    let agreement = store
        .orders
        .get_agreement(&id(quote.agreement_id.as_deref().unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(agreement.status, AgreementStatus::Cancelled);
}

#[tokio::test]
async fn when_ses_fails_the_order_stands_and_the_email_follows_on_the_next_run() {
    let _ses = SES.write().await; // nobody else reads emails while SES is down
    let stack = stack().await;
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    let party = live_buyer(&stack, "ses", None).await;
    let delivered = request_approval(&stack, &party, &endpoint, "prod-saas-upfront").await;
    let poom = buyer::cart_message(&delivered.doc).unwrap();
    let quote_id = poom.items[0]
        .item_id
        .supplier_part_auxiliary_id
        .clone()
        .unwrap();
    let order_id = format!("PO-SES-{quote_id}");

    // SES refuses to send from an unverified identity: take the sender identity away.
    let sesv2 = aws_sdk_sesv2::Client::new(&stack.sdk_config());
    let sender = stack.config.sender_email.clone();
    sesv2
        .delete_email_identity()
        .email_identity(&sender)
        .send()
        .await
        .unwrap();
    let reply = stack
        .post_cxml(
            "/order",
            &PurchaseOrder::from_cart(&order_id, poom).to_xml(&party),
        )
        .await;
    sesv2
        .create_email_identity()
        .email_identity(&sender)
        .send()
        .await
        .unwrap();
    let reply = reply.unwrap();
    assert_eq!(reply.status, 200, "the order stands: {}", reply.body);
    let store = stack.store();
    assert_eq!(
        store
            .quotes
            .get(&id(&quote_id))
            .await
            .unwrap()
            .unwrap()
            .status,
        QuoteStatus::Ordered
    );
    let told =
        |emails: Vec<e2e::stack::SentEmail>| emails.iter().any(|e| e.body.contains(&order_id));
    assert!(!told(stack.sent_emails().await.unwrap()), "SES was down");

    // While another sender holds the email (a claim in DynamoDB), a scheduled run leaves it.
    let mut waiting = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.outbox.pending(100, cursor).await.unwrap();
        waiting.extend(page.items);
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let email_id = &waiting
        .iter()
        .find(|e| e.email.text.contains(&order_id))
        .expect("the email waits in the outbox")
        .email_id;
    // Held for longer than any scheduled run takes, however loaded the machine.
    let now = time::OffsetDateTime::now_utc();
    let until = now + time::Duration::minutes(10);
    assert!(
        store
            .outbox
            .claim(email_id, now, until)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store.outbox.claim(email_id, now, until).await.unwrap(),
        None
    );
    let event = json!({
        "version": "0", "id": "e2e-ses", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2026-11-24T10:00:00Z", "region": "us-east-1",
        "resources": [], "detail": {}
    });
    stack.invoke("offer-expiry-check", &event).await.unwrap();
    assert!(
        !told(stack.sent_emails().await.unwrap()),
        "claimed elsewhere"
    );

    // A sender that died leaves its claim to lapse: give this one back and take a claim that
    // lapses at once, then wait for the clock to pass it. From then on the scheduled run
    // sends what is waiting in the outbox, once.
    store.outbox.release(email_id, until).await.unwrap();
    let now = time::OffsetDateTime::now_utc();
    let lapses = now + time::Duration::milliseconds(200);
    assert!(
        store
            .outbox
            .claim(email_id, now, lapses)
            .await
            .unwrap()
            .is_some()
    );
    while time::OffsetDateTime::now_utc() <= lapses {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stack.invoke("offer-expiry-check", &event).await.unwrap();
    stack.invoke("offer-expiry-check", &event).await.unwrap();
    let emails = stack.sent_emails().await.unwrap();
    assert_eq!(
        emails.iter().filter(|e| e.body.contains(&order_id)).count(),
        1,
        "sent by the next run, once"
    );
    let later = time::OffsetDateTime::now_utc();
    assert_eq!(
        store.outbox.claim(email_id, later, later).await.unwrap(),
        None,
        "a sent email is gone from the outbox and cannot be claimed back into it"
    );
}

// ---------------------------------------------------------------- invoices and the expiry check

use e2e::BuyerMode;

const INVOICE_WAIT: Duration = Duration::from_secs(60);

/// A live Coupa buyer with its invoice URL on `endpoint`, and an order for `product_id`
/// through the whole punchout. Returns (party, order ID, agreement ID).
async fn ordered(
    stack: &LocalStack,
    endpoint: &BuyerEndpoint,
    tag: &str,
    product_id: &str,
) -> (Party, String, String) {
    let party = live_buyer(stack, tag, Some(endpoint.url(e2e::buyer::INVOICE_PATH))).await;
    let delivered = request_approval(stack, &party, endpoint, product_id).await;
    let poom = buyer::cart_message(&delivered.doc).unwrap();
    let quote_id = poom.items[0]
        .item_id
        .supplier_part_auxiliary_id
        .clone()
        .unwrap();
    let order_id = format!("PO-{tag}-{quote_id}");
    let reply = stack
        .post_cxml(
            "/order",
            &PurchaseOrder::from_cart(&order_id, poom).to_xml(&party),
        )
        .await
        .unwrap();
    assert_eq!(status_of(&reply.body).0, 200, "{}", reply.body);
    let quote = stack
        .store()
        .quotes
        .get(&id(&quote_id))
        .await
        .unwrap()
        .unwrap();
    (party, order_id, quote.agreement_id.unwrap().to_string())
}

fn invoices(endpoint: &BuyerEndpoint) -> Vec<e2e::Received> {
    endpoint
        .received()
        .into_iter()
        .filter(|r| r.path == e2e::buyer::INVOICE_PATH)
        .collect()
}

async fn wait_invoices(
    endpoint: &BuyerEndpoint,
    count: usize,
    within: Duration,
) -> Vec<e2e::Received> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let got = invoices(endpoint);
        if got.len() >= count || tokio::time::Instant::now() >= deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn wait_charge_status(stack: &LocalStack, charge_id: &str, want: &str) -> String {
    let deadline = tokio::time::Instant::now() + INVOICE_WAIT;
    loop {
        let status = stack
            .store()
            .charges
            .status(&id(charge_id))
            .await
            .unwrap()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        if status == want || tokio::time::Instant::now() >= deadline {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits for the charge's invoice to fail for good and returns what was recorded.
async fn failed_outcome(stack: &LocalStack, charge_id: &str) -> procurement::model::ChargeOutcome {
    assert_eq!(
        wait_charge_status(stack, charge_id, "failed").await,
        "failed"
    );
    stack
        .store()
        .charges
        .outcome(&id(charge_id))
        .await
        .unwrap()
        .expect("a failed charge records its outcome")
}

/// Waits until the SQS poller has settled a delivery matching `which` by deleting it (the
/// function took the message: SQS never delivers it again), and fails the test if it does not
/// within [`INVOICE_WAIT`].
async fn assert_taken(stack: &LocalStack, which: impl Fn(&e2e::stack::Delivery) -> bool) {
    let seen = stack
        .wait_for_delivery(INVOICE_WAIT, |d| d.deleted() && which(d))
        .await;
    assert!(
        seen.iter().any(|d| d.deleted() && which(d)),
        "the message was never taken off the queue; deliveries so far: {seen:?}"
    );
}

async fn scheduled_run(stack: &LocalStack) -> serde_json::Value {
    let event = json!({
        "version": "0", "id": "e2e-run", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2026-11-24T10:00:00Z", "region": "us-east-1",
        "resources": [], "detail": {}
    });
    stack.invoke("offer-expiry-check", &event).await.unwrap()
}

#[tokio::test]
async fn an_upfront_order_is_invoiced_once_quoting_the_po_and_a_redelivery_sends_nothing() {
    let stack = stack().await;
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    let (_, order_id, agreement_id) = ordered(&stack, &endpoint, "inv", "prod-saas-upfront").await;
    let got = wait_invoices(&endpoint, 1, INVOICE_WAIT).await;
    assert_eq!(
        got.len(),
        1,
        "the invoice arrives at the buyer's invoice URL"
    );
    let xml = got[0].text();
    dtd_valid(&xml);
    let doc = cxml::parse(xml.as_bytes()).unwrap();
    let Body::Request(cxml::Request {
        payload: cxml::RequestPayload::InvoiceDetail(invoice),
        ..
    }) = &doc.body
    else {
        panic!("not an InvoiceDetailRequest: {xml}");
    };
    assert!(xml.contains(&format!("orderID=\"{order_id}\"")), "{xml}");
    assert!(
        xml.contains(&format!("<DocumentReference payloadID=\"{order_id}\"")),
        "{xml}"
    );
    assert!(xml.contains("12000.00"), "{xml}");
    // A readable number of at most 40 characters from the PO number (Coupa's limit).
    let number = &invoice.header.invoice_id;
    assert!(number.chars().count() <= 40, "{number}");
    assert!(
        order_id.starts_with(number.split('~').next().unwrap()) && number.ends_with("-1"),
        "{number}"
    );
    let charge_id = format!("{agreement_id}-1");
    assert_eq!(
        wait_charge_status(&stack, &charge_id, "invoiced").await,
        "invoiced"
    );

    // The same SQS message delivered again (as SQS may): nothing more is sent.
    let job = stack
        .dynamodb()
        .get_item()
        .table_name(&stack.config.table_name)
        .key("PK", AttributeValue::S(format!("CHARGE#{charge_id}")))
        .key("SK", AttributeValue::S("CHARGE".into()))
        .send()
        .await
        .unwrap();
    let body = job.item().unwrap()["data"].as_s().unwrap().clone();
    let sent = stack
        .sqs()
        .send_message()
        .queue_url(&stack.config.invoice_queue_url)
        .message_body(body)
        .send()
        .await
        .unwrap();
    let message_id = sent.message_id().unwrap().to_string();
    // Once the dispatcher has taken that message (deleted from the queue), it is never
    // delivered again: whatever it was going to send has been sent.
    assert_taken(&stack, |d| d.message_id == message_id).await;
    assert_eq!(
        invoices(&endpoint).len(),
        1,
        "a redelivery never sends a second invoice"
    );
}

#[tokio::test]
async fn a_500_is_retried_with_the_same_invoice_until_the_buyer_accepts() {
    let stack = stack().await;
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    endpoint.set_mode(BuyerMode::Status(500));
    let (_, _, agreement_id) = ordered(&stack, &endpoint, "retry", "prod-saas-upfront").await;
    let charge_id = format!("{agreement_id}-1");
    // How many deliveries meet the 500 depends on the machine's pace (SQS may redeliver
    // before the switch below): the invariants are what must hold, whatever that count.
    assert!(
        !wait_invoices(&endpoint, 1, INVOICE_WAIT).await.is_empty(),
        "the first POST arrived"
    );
    endpoint.set_mode(BuyerMode::Status(200));
    assert_eq!(
        wait_charge_status(&stack, &charge_id, "invoiced").await,
        "invoiced"
    );
    // Settled, the job is taken off the queue: nothing can be sent after this.
    assert_taken(&stack, |d| d.body.contains(&charge_id)).await;
    let got = invoices(&endpoint);
    assert!(
        got.len() >= 2,
        "SQS redelivered after the 500: {}",
        got.len()
    );
    let body = |r: &e2e::Received| r.text().split("<Header>").nth(1).map(str::to_string);
    let root = |r: &e2e::Received| {
        let text = r.text();
        text.split("payloadID=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .map(str::to_string)
    };
    assert!(
        got.iter()
            .all(|r| body(r) == body(&got[0]) && root(r) == root(&got[0])),
        "every delivery resent the same invoice, same payloadID"
    );
}

#[tokio::test]
async fn a_401_is_a_visible_permanent_failure_and_never_retried() {
    let stack = stack().await;
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    endpoint.set_mode(BuyerMode::Status(401));
    let (_, _, agreement_id) = ordered(&stack, &endpoint, "perm", "prod-saas-upfront").await;
    let charge_id = format!("{agreement_id}-1");
    let outcome = failed_outcome(&stack, &charge_id).await;
    assert_eq!(outcome.code, Some(401));
    assert!(
        outcome.text.contains("Refused by the buyer endpoint"),
        "{outcome:?}"
    );
    // The refusal acknowledged the job: SQS holds nothing that could be retried.
    assert_taken(&stack, |d| d.body.contains(&charge_id)).await;
    assert_eq!(invoices(&endpoint).len(), 1, "4xx is not retried");
}

#[tokio::test]
async fn a_refusal_after_a_timed_out_delivery_says_the_buyer_may_already_hold_the_invoice() {
    // The first POST times out (the buyer may have taken it); SQS delivers the job again and
    // the buyer refuses it, as Coupa refuses a duplicate invoice number. The failure record
    // names the delivery and the invoice to look for.
    let stack = stack().await;
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    endpoint.set_mode(BuyerMode::Hang);
    let (_, _, agreement_id) = ordered(&stack, &endpoint, "dup", "prod-saas-upfront").await;
    let charge_id = format!("{agreement_id}-1");
    // At least one delivery hung (a slow machine may see two before the switch).
    assert!(!wait_invoices(&endpoint, 1, INVOICE_WAIT).await.is_empty());
    endpoint.set_mode(BuyerMode::Status(409));
    let outcome = failed_outcome(&stack, &charge_id).await;
    assert_eq!(outcome.code, Some(409));
    let invoice_id = outcome.invoice_id.clone().unwrap();
    assert!(
        outcome.text.starts_with("delivery ")
            && outcome.text.contains(&format!(
                "of invoice {invoice_id}: an earlier delivery got no final answer"
            )),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_buyer_that_keeps_failing_or_hangs_ends_in_the_dead_letter_queue() {
    let stack = stack().await;
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    endpoint.set_mode(BuyerMode::Hang);
    let (_, _, agreement_id) = ordered(&stack, &endpoint, "dlq", "prod-saas-upfront").await;
    let charge_id = format!("{agreement_id}-1");
    // The first attempt times out (3 s locally); then the buyer is down (503) every time.
    assert!(!wait_invoices(&endpoint, 1, INVOICE_WAIT).await.is_empty());
    endpoint.set_mode(BuyerMode::Status(503));
    let dlq = stack.env.get("INVOICE_DLQ_URL").unwrap().clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let out = stack
            .sqs()
            .receive_message()
            .queue_url(&dlq)
            .max_number_of_messages(10)
            .wait_time_seconds(2)
            .send()
            .await
            .unwrap();
        if out
            .messages()
            .iter()
            .any(|m| m.body().unwrap_or("").contains(&charge_id))
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the job never reached the dead-letter queue"
        );
    }
    let attempts = invoices(&endpoint).len();
    assert!(
        attempts >= 2,
        "retried before dead-lettering ({attempts} attempts)"
    );
    assert_ne!(
        stack
            .store()
            .charges
            .status(&id(&charge_id))
            .await
            .unwrap()
            .map(|s| s.as_str()),
        Some("invoiced")
    );
}

#[tokio::test]
async fn a_buyer_answering_500_for_good_is_recorded_failed_with_its_text_not_dead_lettered() {
    // Coupa answers 500 "Unexpected server error" also for some validation failures (Compass
    // "Unexpected server error"): a bounded number of deliveries, then a visible failure.
    let stack = stack().await;
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    endpoint.set_mode(BuyerMode::Status(500));
    let (_, _, agreement_id) = ordered(&stack, &endpoint, "500s", "prod-saas-upfront").await;
    let charge_id = format!("{agreement_id}-1");
    let outcome = failed_outcome(&stack, &charge_id).await;
    assert_eq!(outcome.code, Some(500), "{outcome:?}");
    assert!(outcome.text.contains("not retried further"), "{outcome:?}");
    assert_taken(&stack, |d| d.body.contains(&charge_id)).await;
    // One POST per delivery at most (a delivery that finds the claim held posts nothing).
    let posts = invoices(&endpoint).len();
    assert!(
        (1..=procurement::invoices::SERVER_ERROR_ATTEMPTS as usize).contains(&posts),
        "{posts} posts"
    );
    assert_eq!(dead_lettered(&stack, &charge_id).await, 0);
}

#[tokio::test]
async fn test_mode_never_sends_an_invoice() {
    let stack = stack().await;
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    let party = live_buyer(&stack, "testmode", Some(endpoint.url("/invoices"))).await;
    let delivered = request_approval(&stack, &party, &endpoint, "prod-saas-upfront").await;
    let poom = buyer::cart_message(&delivered.doc).unwrap();
    let mut po = PurchaseOrder::from_cart("PO-TESTMODE", poom);
    po.order_id = format!("PO-TESTMODE-{}", po.payload_id);
    po.test = true; // deploymentMode="test"
    let reply = stack.post_cxml("/order", &po.to_xml(&party)).await.unwrap();
    let (code, text) = status_of(&reply.body);
    assert_eq!(code, 200, "{text}");
    assert!(
        text.contains("test"),
        "the answer says it was a test: {text}"
    );
    let quote_id = poom.items[0]
        .item_id
        .supplier_part_auxiliary_id
        .clone()
        .unwrap();
    assert_eq!(
        agreements_of_quote(&stack, &quote_id).await,
        0,
        "test mode creates no subscription"
    );
    scheduled_run(&stack).await;
    // Nothing can be sent later either: no charge was stored for the order, and no job of it
    // ever reached the queue.
    assert!(
        charges_of_order(&stack, &po.order_id).await.is_empty(),
        "test mode stores no invoice charge"
    );
    assert!(
        !stack
            .deliveries()
            .iter()
            .any(|d| d.body.contains(&po.order_id)),
        "no invoice job for a test order"
    );
    assert!(invoices(&endpoint).is_empty());
}

#[tokio::test]
async fn installments_are_invoiced_on_their_dates_once() {
    let stack = stack().await;
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    let (_, _, agreement_id) = ordered(&stack, &endpoint, "fps", "prod-saas-fps").await;
    // The first installment is due now; the second in 180 days.
    assert_eq!(wait_invoices(&endpoint, 1, INVOICE_WAIT).await.len(), 1);
    assert_eq!(
        wait_charge_status(&stack, &format!("{agreement_id}-1"), "invoiced").await,
        "invoiced"
    );
    scheduled_run(&stack).await;
    scheduled_run(&stack).await;
    // The first installment's job is settled, and the runs queued nothing for the second:
    // no job of it exists that could still be sent.
    let first = format!("{agreement_id}-1");
    let second = format!("{agreement_id}-2");
    assert_taken(&stack, |d| d.body.contains(&first)).await;
    assert!(
        !stack.deliveries().iter().any(|d| d.body.contains(&second)),
        "no job for the second installment"
    );
    assert_eq!(
        invoices(&endpoint).len(),
        1,
        "the second installment waits for its date"
    );
    assert_eq!(
        stack
            .store()
            .charges
            .status(&id(format!("{agreement_id}-2")))
            .await
            .unwrap()
            .map(|s| s.as_str()),
        Some("scheduled")
    );
}

#[tokio::test]
async fn the_expiry_check_expires_a_changed_offer_and_emails_the_requester_once() {
    let _ses = SES.read().await;
    let stack = stack().await;
    let store = stack.store();
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    let party = live_buyer(&stack, "offer", None).await;
    // A private offer of its own, extended to this buyer, so the change below touches no
    // other test.
    let mut product = private_offer_for(&stack, &party.identity, &[&party.identity]).await;
    let delivered = request_approval(&stack, &party, &endpoint, &product.id).await;
    let poom = buyer::cart_message(&delivered.doc).unwrap();
    let quote_id = poom.items[0]
        .item_id
        .supplier_part_auxiliary_id
        .clone()
        .unwrap();

    scheduled_run(&stack).await;
    assert_eq!(
        store
            .quotes
            .get(&id(&quote_id))
            .await
            .unwrap()
            .unwrap()
            .status,
        QuoteStatus::PendingApproval,
        "an unchanged offer stays pending"
    );
    // The seller changes the offer's expiration date while approval is pending.
    product.private_offer.as_mut().unwrap().expires_at += Duration::from_secs(86400 * 7);
    store.catalog.put_product(&product).await.unwrap();
    scheduled_run(&stack).await;
    assert_eq!(
        store
            .quotes
            .get(&id(&quote_id))
            .await
            .unwrap()
            .unwrap()
            .status,
        QuoteStatus::Expired
    );
    let count = |emails: Vec<e2e::stack::SentEmail>| {
        emails.iter().filter(|e| e.body.contains(&quote_id)).count()
    };
    assert_eq!(count(stack.sent_emails().await.unwrap()), 1);
    let second = scheduled_run(&stack).await;
    assert_eq!(
        count(stack.sent_emails().await.unwrap()),
        1,
        "a second run sends nothing: {second}"
    );
}

#[tokio::test]
async fn a_purchase_order_that_differs_from_the_quote_is_refused_naming_line_and_field() {
    let stack = stack().await;
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    let party = live_buyer(&stack, "mismatch", None).await;
    let delivered = request_approval(&stack, &party, &endpoint, "prod-saas-contract-payg").await;
    let poom = buyer::cart_message(&delivered.doc).unwrap();
    assert_eq!(poom.items.len(), 2, "contract plus usage is two cart items");
    let quote_id = poom.items[0]
        .item_id
        .supplier_part_auxiliary_id
        .clone()
        .unwrap();
    let order_id = format!("PO-MISMATCH-{quote_id}");

    let mut price = PurchaseOrder::from_cart(&order_id, poom);
    price.lines[1].unit_price = "99999.00".into();
    let (code, text) = send_order(&stack, &party, &price).await;
    assert_eq!(code, 400, "{text}");
    assert!(
        text.contains("line 2") && text.contains("unit price"),
        "{text}"
    );

    let mut currency = PurchaseOrder::from_cart(&order_id, poom);
    currency.lines[0].currency = "EUR".into();
    currency.lines[1].currency = "EUR".into();
    let (code, text) = send_order(&stack, &party, &currency).await;
    assert_eq!(code, 400, "{text}");
    assert!(
        text.contains("line 1") && text.contains("currency"),
        "{text}"
    );

    let mut product = PurchaseOrder::from_cart(&order_id, poom);
    product.lines[0].supplier_part_id = "prod-saas-upfront".into();
    let (code, text) = send_order(&stack, &party, &product).await;
    assert_eq!(code, 400, "{text}");
    assert!(
        text.contains("line 1") && text.contains("SupplierPartID"),
        "{text}"
    );

    // Nothing was created by the refused orders; the right one still goes through.
    assert_eq!(agreements_of_quote(&stack, &quote_id).await, 0);
    let right = PurchaseOrder::from_cart(&order_id, poom);
    let (code, text) = send_order(&stack, &party, &right).await;
    assert_eq!(code, 200, "{text}");
    assert_eq!(agreements_of_quote(&stack, &quote_id).await, 1);
}

#[tokio::test]
async fn hundreds_of_pending_quotes_are_paged_through_and_expired_in_one_scheduled_run() {
    // Quotes pending approval on private offers, over several index pages (100 a page): one
    // run reads them by index and expires every one whose offer changed. Timings go to stderr:
    // `E2E_BULK_QUOTES=3000 scripts/e2e.sh hundreds_of_pending --nocapture` measures
    // thousands. moto copies the whole table on every transaction, so every test run keeps to
    // 300 by default.
    let quotes: usize = std::env::var("E2E_BULK_QUOTES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300);
    let stack = std::sync::Arc::new(stack().await);
    let store = stack.store();
    let now = time::OffsetDateTime::now_utc();
    // The offer is extended to the quotes' organisation, so only the change below lapses it.
    let bulk_org = format!("e2e-bulk-{}", now.unix_timestamp_nanos());
    let mut product = private_offer_for(
        &stack,
        &format!("bulk-{}", now.unix_timestamp_nanos()),
        &[&bulk_org],
    )
    .await;
    let template = procurement::model::Quote {
        quote_id: String::new().into(),
        org_id: bulk_org.as_str().into(),
        product_id: product.id.clone(),
        product_title: product.title.clone(),
        lines: Vec::new(),
        status: QuoteStatus::PendingApproval,
        test: false,
        never_invoiced: false,
        private_offer: product.private_offer.clone(),
        requester_email: None,
        requester_name: None,
        buyer_cookie: "bulk".into(),
        created_at: now,
        order_id: None,
        agreement_id: None,
    };
    // Eight writers at once, as requests would arrive (scripts/moto_server.py isolates
    // moto's transactions the way DynamoDB does).
    let seeding = std::time::Instant::now();
    let mut writers = tokio::task::JoinSet::new();
    for writer in 0..8 {
        let store = stack.store();
        let template = template.clone();
        writers.spawn(async move {
            for n in (writer..quotes).step_by(8) {
                let mut quote = template.clone();
                quote.quote_id = format!("q-bulk-{}-{n}", template.org_id).into();
                store.quotes.create(&quote).await.unwrap();
            }
        });
    }
    writers.join_all().await;
    eprintln!("seeded {quotes} pending quotes in {:?}", seeding.elapsed());

    let unchanged = std::time::Instant::now();
    let run = scheduled_run(&stack).await;
    eprintln!("run over unchanged offers: {:?} {run}", unchanged.elapsed());
    assert!(
        run["quotes_checked"].as_u64().unwrap() >= quotes as u64,
        "{run}"
    );

    product.private_offer.as_mut().unwrap().expires_at += Duration::from_secs(86400);
    store.catalog.put_product(&product).await.unwrap();
    // A run that reaches its time limit stops and says so; the next one goes on. (On moto,
    // whose transactions copy the whole table, thousands of expiries take more than one run.)
    // Other tests' scheduled runs may expire some of these first: the table is the judge.
    for runs in 1.. {
        let expiring = std::time::Instant::now();
        let run = scheduled_run(&stack).await;
        eprintln!(
            "run {runs} expiring {quotes} quotes: {:?} {run}",
            expiring.elapsed()
        );
        if run["quotes_left_for_next_run"] == false {
            break;
        }
        assert!(runs < 10, "no progress: {run}");
    }
    for n in 0..quotes {
        let quote_id = format!("q-bulk-{}-{n}", template.org_id);
        assert_eq!(
            store
                .quotes
                .get(&id(&quote_id))
                .await
                .unwrap()
                .unwrap()
                .status,
            QuoteStatus::Expired,
            "{quote_id}"
        );
    }

    let again = scheduled_run(&stack).await;
    assert_eq!(
        again["quotes_expired"], 0,
        "a second run changes nothing: {again}"
    );
}

// ---------------------------------------------------------------- SAP Ariba through the Network

/// An Ariba buyer organisation of its own for one test, out of test mode, with fresh ANIDs
/// (production, and a `-T` test account), reached through the stack's Network account.
async fn ariba_buyer(
    stack: &LocalStack,
    tag: &str,
    private_marketplace: Option<Vec<String>>,
) -> (String, String, String) {
    let now = time::OffsetDateTime::now_utc();
    let nanos = now.unix_timestamp_nanos();
    let org_id = format!("e2e-ariba-{tag}-{nanos}");
    let anid = format!("AN{:011}", nanos % 100_000_000_000);
    let test_anid = format!("{anid}-T");
    let mut org = procurement::demo::organizations().remove(1);
    org.org_id = org_id.as_str().into();
    org.management_account_id = "999999999998".into();
    org.private_marketplace = private_marketplace;
    let mut integration = procurement::demo::ariba_integration(now);
    integration.org_id = org_id.as_str().into();
    integration.settings.test_mode = false;
    integration.settings.system =
        procurement::model::SystemSettings::Ariba(procurement::model::AribaSettings {
            ariba_network_id: anid.clone(),
            ariba_test_network_id: Some(test_anid.clone()),
            order_confirmations: true,
        });
    let store = stack.store();
    store.organizations.put(&org).await.unwrap();
    store.integrations.put(&integration).await.unwrap();
    (org_id, anid, test_anid)
}

fn through_the_network(anid: &str) -> Party {
    Party::through_ariba_network(
        anid,
        procurement::demo::ARIBA_SUPPLIER_ANID,
        procurement::demo::ARIBA_NETWORK_SECRET,
    )
}

/// The organisation whose session a StartPage URL opens.
async fn session_org(stack: &LocalStack, start_page_url: &str) -> String {
    let token = start_page_url.split("token=").nth(1).unwrap();
    procurement::punchout::open_visit(&stack.deps(), token)
        .await
        .expect("an open session")
        .session
        .org_id
        .to_string()
}

#[tokio::test]
async fn the_network_forwards_two_organisations_with_one_secret_each_to_its_own_catalog() {
    let stack = stack().await;
    let (first, first_anid, _) =
        ariba_buyer(&stack, "first", Some(vec!["prod-saas-upfront".into()])).await;
    let (second, second_anid, _) = ariba_buyer(&stack, "second", None).await;
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    let punchout = Punchout::new("cookie-two-orgs", &endpoint.url("/checkout"));
    let first_start = punch_out(&stack, &through_the_network(&first_anid), &punchout).await;
    let second_start = punch_out(&stack, &through_the_network(&second_anid), &punchout).await;
    assert_eq!(session_org(&stack, &first_start).await, first);
    assert_eq!(session_org(&stack, &second_start).await, second);
    let first_page = stack.get(&first_start).await.unwrap();
    let second_page = stack.get(&second_start).await.unwrap();
    assert!(
        first_page
            .body
            .contains("1 product in your organisation's private marketplace"),
        "{}",
        first_page.body
    );
    assert!(!first_page.body.contains("Orbit CRM"));
    assert!(
        second_page.body.contains("Orbit CRM"),
        "{}",
        second_page.body
    );
}

#[tokio::test]
async fn a_wrong_network_secret_and_an_unknown_anid_get_the_same_401() {
    let stack = stack().await;
    let (_, anid, _) = ariba_buyer(&stack, "refused", None).await;
    let punchout = Punchout::new("cookie-refused", "https://buyer.example/checkout");
    let mut answers = Vec::new();
    for party in [
        through_the_network(&anid).with_secret("guessed-network-secret"),
        through_the_network("AN09999999999"),
    ] {
        let reply = stack
            .post_cxml("/punchout/setup", &buyer::setup_request(&party, &punchout))
            .await
            .unwrap();
        assert_eq!(reply.status, 401, "{}", reply.body);
        assert!(!reply.body.contains("guessed") && !reply.body.contains("AN09999999999"));
        answers.push(status_of(&reply.body));
    }
    assert_eq!(answers[0], answers[1], "nothing tells which part was wrong");
}

#[tokio::test]
async fn an_ariba_order_through_the_network_is_subscribed_and_confirmed_once() {
    let stack = stack().await;
    let (org_id, anid, _) = ariba_buyer(&stack, "confirm", None).await;
    let party = through_the_network(&anid);
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    let delivered = request_approval(&stack, &party, &endpoint, "prod-saas-upfront").await;
    assert_eq!(
        delivered.encoding,
        cxml::FormEncoding::Base64,
        "Ariba carts travel base64-encoded"
    );
    let poom = buyer::cart_message(&delivered.doc).unwrap();
    let order_id = format!(
        "PO-ARIBA-{}",
        time::OffsetDateTime::now_utc().unix_timestamp_nanos()
    );
    let po = PurchaseOrder::from_cart(&order_id, poom);
    let (code, text) = send_order(&stack, &party, &po).await;
    assert_eq!(code, 200, "{text}");
    let quote_id = poom.items[0]
        .item_id
        .supplier_part_auxiliary_id
        .clone()
        .unwrap();
    assert_eq!(agreements_of_quote(&stack, &quote_id).await, 1);

    // The confirmation's job is taken off the queue once the Network has answered it.
    let confirmation = procurement::ids::ConfirmationId::for_order(
        &org_id.as_str().into(),
        &order_id.as_str().into(),
    );
    assert_taken(&stack, |d| d.body.contains(confirmation.as_str())).await;
    let receipts: Vec<_> = stack
        .network_receipts()
        .into_iter()
        .filter(|r| r.order_id.as_deref() == Some(order_id.as_str()))
        .collect();
    assert_eq!(receipts.len(), 1, "confirmed once: {receipts:?}");
    let receipt = &receipts[0];
    assert_eq!(receipt.code, 200, "the Network accepted it: {receipt:?}");
    assert_eq!(receipt.r#type.as_deref(), Some("ConfirmationRequest"));
    assert_eq!(receipt.confirmation_type.as_deref(), Some("accept"));
    assert_eq!(
        receipt.order_payload_id.as_deref(),
        Some(po.payload_id.as_str())
    );
    assert_eq!(receipt.to, [format!("NetworkID/{anid}")]);
    assert!(
        !receipt
            .body
            .contains(procurement::demo::ARIBA_NETWORK_SECRET)
    );
    let (_, status) = stack
        .store()
        .confirmations
        .get(&confirmation)
        .await
        .unwrap()
        .expect("the confirmation is stored");
    assert_eq!(status, procurement::model::ConfirmationStatus::Confirmed);

    // The Network resends the same purchase order: the same answer, no second confirmation.
    let (again, _) = send_order(&stack, &party, &po).await;
    assert_eq!(again, 200);
    scheduled_run(&stack).await;
    assert_eq!(
        stack
            .network_receipts()
            .iter()
            .filter(|r| r.order_id.as_deref() == Some(order_id.as_str()))
            .count(),
        1
    );
}

#[tokio::test]
async fn a_document_from_the_test_account_creates_nothing() {
    let stack = stack().await;
    let (org_id, _, test_anid) = ariba_buyer(&stack, "testanid", None).await;
    let party = through_the_network(&test_anid);
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    let delivered = request_approval(&stack, &party, &endpoint, "prod-saas-upfront").await;
    let poom = buyer::cart_message(&delivered.doc).unwrap();
    assert_eq!(
        delivered.doc.deployment_mode(),
        cxml::DeploymentMode::Test,
        "the cart says test"
    );
    let order_id = format!(
        "PO-ARIBA-T-{}",
        time::OffsetDateTime::now_utc().unix_timestamp_nanos()
    );
    let (code, text) = send_order(&stack, &party, &PurchaseOrder::from_cart(&order_id, poom)).await;
    assert_eq!(code, 200, "{text}");
    assert!(text.contains("test"), "{text}");
    let quote_id = poom.items[0]
        .item_id
        .supplier_part_auxiliary_id
        .clone()
        .unwrap();
    assert_eq!(
        agreements_of_quote(&stack, &quote_id).await,
        0,
        "nothing subscribed"
    );
    assert!(
        charges_of_order(&stack, &order_id).await.is_empty(),
        "nothing invoiced"
    );
    let confirmation = procurement::ids::ConfirmationId::for_order(
        &org_id.as_str().into(),
        &order_id.as_str().into(),
    );
    assert!(
        stack
            .store()
            .confirmations
            .get(&confirmation)
            .await
            .unwrap()
            .is_none(),
        "nothing to confirm"
    );
}

#[tokio::test]
async fn a_rotated_network_secret_and_the_previous_one_both_work() {
    let stack = stack().await;
    let (org_id, anid, _) = ariba_buyer(&stack, "rotate", None).await;
    let rotated = format!(
        "rotated-{}",
        time::OffsetDateTime::now_utc().unix_timestamp_nanos()
    );
    stack
        .put_network_secret(procurement::demo::ARIBA_SUPPLIER_ANID, &rotated)
        .await
        .unwrap();
    let punchout = Punchout::new("cookie-rotate", "https://buyer.example/checkout");
    // The running instances read the secret at their cold start: the new one makes them read
    // it again; the one it replaced stays valid until the next rotation.
    for secret in [rotated.as_str(), procurement::demo::ARIBA_NETWORK_SECRET] {
        let party = through_the_network(&anid).with_secret(secret);
        let start = punch_out(&stack, &party, &punchout).await;
        assert_eq!(session_org(&stack, &start).await, org_id, "{secret}");
    }
    // Back to the demo secret (the rotated one becomes previous), for whatever runs next.
    stack
        .put_network_secret(
            procurement::demo::ARIBA_SUPPLIER_ANID,
            procurement::demo::ARIBA_NETWORK_SECRET,
        )
        .await
        .unwrap();
}

/// The messages of the invoice dead-letter queue naming `charge_id`, left visible there.
async fn dead_lettered(stack: &LocalStack, charge_id: &str) -> usize {
    let dlq = stack.env.get("INVOICE_DLQ_URL").unwrap().clone();
    let out = stack
        .sqs()
        .receive_message()
        .queue_url(&dlq)
        .max_number_of_messages(10)
        .visibility_timeout(0)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    out.messages()
        .iter()
        .filter(|m| m.body().unwrap_or("").contains(charge_id))
        .count()
}

#[tokio::test]
async fn a_dead_lettered_invoice_is_queued_again_by_the_scheduled_run_and_a_redrive_sends_nothing_twice()
 {
    let stack = stack().await;
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    // The buyer's endpoint is down for longer than the queue retries.
    endpoint.set_mode(BuyerMode::Status(503));
    let (_, _, agreement_id) = ordered(&stack, &endpoint, "requeue", "prod-saas-upfront").await;
    let charge_id = format!("{agreement_id}-1");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while dead_lettered(&stack, &charge_id).await == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the job never reached the dead-letter queue"
        );
    }
    // Nothing else would ever send it: the charge is still queued.
    assert_eq!(
        wait_charge_status(&stack, &charge_id, "queued").await,
        "queued"
    );

    // The buyer is back. A day later the scheduled run finds the charge still queued past its
    // requeue time and hands it over again (run here with the product's own adapters, a day
    // ahead, instead of waiting a day).
    endpoint.set_mode(BuyerMode::Status(200));
    let tomorrow = time::OffsetDateTime::now_utc() + time::Duration::hours(25);
    let stop_at = time::OffsetDateTime::now_utc() + time::Duration::minutes(2);
    let run = procurement::invoices::queue_due_charges(&stack.deps(), tomorrow, stop_at)
        .await
        .unwrap();
    assert!(run.requeued >= 1, "{run:?}");
    assert_eq!(
        wait_charge_status(&stack, &charge_id, "invoiced").await,
        "invoiced"
    );
    let before_redrive = invoices(&endpoint);
    let ids: std::collections::BTreeSet<String> = before_redrive
        .iter()
        .filter_map(|r| {
            let doc = cxml::parse(r.text().as_bytes()).ok()?;
            Some(doc.payload_id)
        })
        .collect();
    assert_eq!(ids.len(), 1, "every attempt is the same invoice: {ids:?}");

    // The operator redrives the dead-letter queue: the old job is taken and sends nothing.
    let seen: std::collections::BTreeSet<String> = stack
        .deliveries()
        .into_iter()
        .map(|d| d.message_id)
        .collect();
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/redrive_dlq.py");
    // Only this test's job: other tests' dead-lettered jobs stay where their tests look. A
    // test that reads the dead-letter queue hides what it received for a while: the redrive is
    // run again until it has moved this job (the operator would see "moved 0" and rerun too).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let out = std::process::Command::new(&python)
            .arg(&script)
            .args(["--containing", &format!("\"{charge_id}\"")])
            .env("LOCAL_DIR", e2e::stack::local_dir())
            .output()
            .expect("the redrive script runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if !String::from_utf8_lossy(&out.stdout).starts_with("moved 0 ") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the dead-lettered job never became visible to the redrive"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_taken(&stack, |d| {
        !seen.contains(&d.message_id) && d.body.contains(&charge_id)
    })
    .await;
    assert_eq!(
        invoices(&endpoint).len(),
        before_redrive.len(),
        "the redriven job finds the charge invoiced and sends nothing"
    );
    assert_eq!(dead_lettered(&stack, &charge_id).await, 0);
}

/// The fault tier: each test cuts the functions off from one dependency in the middle of a
/// flow, checks that nothing is lost or doubled while it is down, lifts the fault, lets the
/// system catch up, and checks that everything happened exactly once. `scripts/e2e.sh` runs
/// these alone, one at a time, after the other tests (the faults would disturb them).
mod faults {
    use super::*;

    /// Lifts every fault when the test ends, also when it fails half way.
    struct Faulted<'a>(&'a LocalStack);

    impl Drop for Faulted<'_> {
        fn drop(&mut self) {
            // Drop cannot await (and the test's runtime is blocked here): a plain blocking
            // request to the proxy lifts the faults.
            let Some(url) = self.0.env.get("FAULT_PROXY_URL") else {
                return;
            };
            let address = url.trim_start_matches("http://");
            let body = r#"{"service": "*", "mode": "pass"}"#;
            if let Ok(mut conn) = std::net::TcpStream::connect(address) {
                use std::io::{Read, Write};
                let request = format!(
                    "POST /__faults HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                conn.write_all(request.as_bytes()).ok();
                let mut answer = Vec::new();
                conn.read_to_end(&mut answer).ok();
            }
        }
    }

    async fn cut(stack: &LocalStack, service: &str, mode: &str) {
        stack.set_fault(service, mode).await.unwrap();
    }

    async fn emails_naming(stack: &LocalStack, text: &str) -> usize {
        stack
            .sent_emails()
            .await
            .unwrap()
            .iter()
            .filter(|e| e.body.contains(text))
            .count()
    }

    /// A live buyer with a cart approved for `product_id`: the quote ID and the PO that
    /// orders it.
    async fn approved(
        stack: &LocalStack,
        endpoint: &BuyerEndpoint,
        tag: &str,
        product_id: &str,
    ) -> (Party, String, PurchaseOrder) {
        let party = live_buyer(stack, tag, Some(endpoint.url(e2e::buyer::INVOICE_PATH))).await;
        let delivered = request_approval(stack, &party, endpoint, product_id).await;
        let poom = buyer::cart_message(&delivered.doc).unwrap();
        let quote_id = poom.items[0]
            .item_id
            .supplier_part_auxiliary_id
            .clone()
            .unwrap();
        let po = PurchaseOrder::from_cart(&format!("PO-FAULT-{quote_id}"), poom);
        (party, quote_id, po)
    }

    async fn scheduled_run_result(stack: &LocalStack) -> Result<serde_json::Value, String> {
        let event = json!({
            "version": "0", "id": "e2e-fault-run", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": "2026-11-24T10:00:00Z",
            "region": "us-east-1", "resources": [], "detail": {}
        });
        match stack.invoke("offer-expiry-check", &event).await {
            Ok(out) if out.get("errorMessage").is_none() => Ok(out),
            Ok(out) => Err(out.to_string()),
            Err(e) => Err(e.to_string()),
        }
    }

    async fn wait_emails(stack: &LocalStack, text: &str, count: usize) -> usize {
        let deadline = tokio::time::Instant::now() + INVOICE_WAIT;
        loop {
            let n = emails_naming(stack, text).await;
            if n >= count || tokio::time::Instant::now() >= deadline {
                return n;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    #[tokio::test]
    async fn dynamodb_down_during_an_order_loses_nothing_and_the_resent_order_counts_once() {
        let _ses = SES.write().await;
        let stack = stack().await;
        let endpoint = BuyerEndpoint::start(0).await.unwrap();
        let (party, quote_id, po) =
            approved(&stack, &endpoint, "fault-ddb", "prod-saas-upfront").await;
        let _lift = Faulted(&stack);
        cut(&stack, "dynamodb", "refuse").await;
        let (code, text) = send_order(&stack, &party, &po).await;
        // Coupa and Ariba resend a PO whose answer was a 5xx; a 2xx here would lose it.
        assert!(code >= 500, "{code} {text}");
        assert!(!text.contains("secret"), "{text}");
        assert_eq!(agreements_of_quote(&stack, &quote_id).await, 0);

        cut(&stack, "dynamodb", "pass").await;
        let (code, text) = send_order(&stack, &party, &po).await;
        assert_eq!(code, 200, "{text}");
        let (code, _) = send_order(&stack, &party, &po).await;
        assert_eq!(code, 200, "a further resend gets the same answer");
        assert_eq!(agreements_of_quote(&stack, &quote_id).await, 1);
        assert_eq!(wait_emails(&stack, &po.order_id, 1).await, 1);
        assert_eq!(
            wait_invoices(&endpoint, 1, INVOICE_WAIT).await.len(),
            1,
            "the upfront charge is invoiced once"
        );
    }

    /// API Gateway's integration timeout: the HTTP API gives up on its Lambda integration after
    /// 30 s (template.yaml `TimeoutInMillis: 30000`, the most AWS allows: "Quotas for
    /// configuring and running an HTTP API") and answers an error of its own, with no cXML in
    /// it. The order function must answer before.
    const API_GATEWAY_INTEGRATION_TIMEOUT: Duration = Duration::from_secs(30);

    #[tokio::test]
    async fn dynamodb_stalling_during_an_order_is_answered_in_cxml_before_the_gateway_gives_up() {
        let _ses = SES.write().await;
        let stack = stack().await;
        let endpoint = BuyerEndpoint::start(0).await.unwrap();
        let (party, quote_id, po) =
            approved(&stack, &endpoint, "fault-stall", "prod-saas-upfront").await;
        let _lift = Faulted(&stack);
        // DynamoDB accepts each request and never answers (the proxy holds it for 90 s).
        cut(&stack, "dynamodb", "hang").await;
        let answered = tokio::time::timeout(
            API_GATEWAY_INTEGRATION_TIMEOUT,
            send_order(&stack, &party, &po),
        )
        .await;
        let (code, text) = answered.expect("the gateway gave up first: the buyer got no cXML");
        // A 5xx in cXML: Coupa and Ariba resend the PO.
        assert!(code >= 500, "{code} {text}");
        assert!(!text.contains("secret"), "{text}");

        cut(&stack, "dynamodb", "pass").await;
        let (code, text) = send_order(&stack, &party, &po).await;
        assert_eq!(code, 200, "{text}");
        assert_eq!(agreements_of_quote(&stack, &quote_id).await, 1);
        assert_eq!(wait_emails(&stack, &po.order_id, 1).await, 1);
        assert_eq!(
            wait_invoices(&endpoint, 1, INVOICE_WAIT).await.len(),
            1,
            "the upfront charge is invoiced once"
        );
    }

    #[tokio::test]
    async fn ses_failing_during_an_order_delays_the_email_and_sends_it_once() {
        let _ses = SES.write().await;
        let stack = stack().await;
        let endpoint = BuyerEndpoint::start(0).await.unwrap();
        let (party, quote_id, po) =
            approved(&stack, &endpoint, "fault-ses", "prod-saas-upfront").await;
        let _lift = Faulted(&stack);
        cut(&stack, "ses", "error500").await;
        let (code, text) = send_order(&stack, &party, &po).await;
        assert_eq!(code, 200, "SES is not the order's business: {text}");
        assert_eq!(agreements_of_quote(&stack, &quote_id).await, 1);
        // A run while SES still fails keeps the email waiting.
        scheduled_run_result(&stack).await.ok();
        assert_eq!(emails_naming(&stack, &po.order_id).await, 0);

        cut(&stack, "ses", "pass").await;
        scheduled_run_result(&stack).await.unwrap();
        scheduled_run_result(&stack).await.unwrap();
        assert_eq!(emails_naming(&stack, &po.order_id).await, 1, "sent once");
    }

    #[tokio::test]
    async fn sqs_down_during_an_order_then_dynamodb_down_during_the_run_and_the_invoice_still_goes_once()
     {
        let _ses = SES.write().await;
        let stack = stack().await;
        let endpoint = BuyerEndpoint::start(0).await.unwrap();
        let (party, _, po) = approved(&stack, &endpoint, "fault-sqs", "prod-saas-upfront").await;
        let _lift = Faulted(&stack);
        cut(&stack, "sqs", "refuse").await;
        let (code, text) = send_order(&stack, &party, &po).await;
        assert_eq!(code, 200, "the order stands without the queue: {text}");
        let charges = charges_of_order(&stack, &po.order_id).await;
        assert_eq!(charges.len(), 1);
        let charge_id = charges[0]["charge_id"].as_str().unwrap().to_string();
        assert_eq!(
            wait_charge_status(&stack, &charge_id, "scheduled").await,
            "scheduled",
            "not queued: left for the scheduled run"
        );

        // The run while the table is out of reach fails, and loses nothing.
        cut(&stack, "sqs", "pass").await;
        cut(&stack, "dynamodb", "refuse").await;
        assert!(scheduled_run_result(&stack).await.is_err());
        cut(&stack, "dynamodb", "pass").await;
        assert_eq!(
            wait_charge_status(&stack, &charge_id, "scheduled").await,
            "scheduled"
        );
        assert!(invoices(&endpoint).is_empty());

        // Everything back: the next run queues it and it is invoiced, once.
        scheduled_run_result(&stack).await.unwrap();
        assert_eq!(
            wait_charge_status(&stack, &charge_id, "invoiced").await,
            "invoiced"
        );
        scheduled_run_result(&stack).await.unwrap();
        assert_eq!(invoices(&endpoint).len(), 1);
    }

    #[tokio::test]
    async fn dynamodb_down_while_an_invoice_job_is_delivered_retries_it_and_invoices_once() {
        let _ses = SES.write().await;
        let stack = stack().await;
        let endpoint = BuyerEndpoint::start(0).await.unwrap();
        let (party, _, po) =
            approved(&stack, &endpoint, "fault-dispatch", "prod-saas-upfront").await;
        let _lift = Faulted(&stack);
        // The order's own enqueue fails: the job is handed to the queue below, by hand.
        cut(&stack, "sqs", "refuse").await;
        let (code, text) = send_order(&stack, &party, &po).await;
        assert_eq!(code, 200, "{text}");
        cut(&stack, "sqs", "pass").await;
        let charge_id = charges_of_order(&stack, &po.order_id).await[0]["charge_id"]
            .as_str()
            .unwrap()
            .to_string();

        cut(&stack, "dynamodb", "refuse").await;
        stack
            .sqs()
            .send_message()
            .queue_url(&stack.config.invoice_queue_url)
            .message_body(json!({ "charge_id": charge_id }).to_string())
            .send()
            .await
            .unwrap();
        // The dispatcher cannot read the charge: the message goes back to the queue.
        let seen = stack
            .wait_for_delivery(INVOICE_WAIT, |d| {
                d.body.contains(&charge_id) && !d.deleted()
            })
            .await;
        assert!(
            seen.iter()
                .any(|d| d.body.contains(&charge_id) && !d.deleted()),
            "{seen:?}"
        );
        assert!(
            invoices(&endpoint).is_empty(),
            "nothing sent without the charge"
        );

        cut(&stack, "dynamodb", "pass").await;
        assert_eq!(
            wait_charge_status(&stack, &charge_id, "invoiced").await,
            "invoiced"
        );
        assert_taken(&stack, |d| d.body.contains(&charge_id)).await;
        assert_eq!(invoices(&endpoint).len(), 1);
    }

    /// Puts the Ariba Network stand-in back to answering as usual when the test ends, also when
    /// it fails half way (a blocking request: Drop cannot await).
    struct NetworkFaulted(String);

    impl Drop for NetworkFaulted {
        fn drop(&mut self) {
            let Ok(url) = reqwest::Url::parse(&self.0) else {
                return;
            };
            let address = format!(
                "{}:{}",
                url.host_str().unwrap_or("127.0.0.1"),
                url.port().unwrap_or(80)
            );
            if let Ok(mut conn) = std::net::TcpStream::connect(&address) {
                use std::io::{Read, Write};
                let request = format!(
                    "POST /_mode HTTP/1.1\r\nHost: {address}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                );
                conn.write_all(request.as_bytes()).ok();
                let mut answer = Vec::new();
                conn.read_to_end(&mut answer).ok();
            }
        }
    }

    /// What the Network stand-in has received for this order, until `done` says enough.
    async fn wait_network(
        stack: &LocalStack,
        order_id: &str,
        done: impl Fn(&[e2e::stack::NetworkReceipt]) -> bool,
    ) -> Vec<e2e::stack::NetworkReceipt> {
        let deadline = tokio::time::Instant::now() + INVOICE_WAIT;
        loop {
            let seen: Vec<_> = stack
                .network_receipts()
                .into_iter()
                .filter(|r| r.order_id.as_deref() == Some(order_id))
                .collect();
            if done(&seen) || tokio::time::Instant::now() >= deadline {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    #[tokio::test]
    async fn the_ariba_network_failing_then_hanging_delays_the_confirmation_and_it_arrives_once() {
        let stack = stack().await;
        let (org_id, anid, _) = ariba_buyer(&stack, "fault-an", None).await;
        let party = through_the_network(&anid);
        let endpoint = BuyerEndpoint::start(0).await.unwrap();
        let delivered = request_approval(&stack, &party, &endpoint, "prod-saas-upfront").await;
        let poom = buyer::cart_message(&delivered.doc).unwrap();
        let quote_id = poom.items[0]
            .item_id
            .supplier_part_auxiliary_id
            .clone()
            .unwrap();
        let order_id = format!(
            "PO-ARIBA-FAULT-{}",
            time::OffsetDateTime::now_utc().unix_timestamp_nanos()
        );
        let po = PurchaseOrder::from_cart(&order_id, poom);
        let _lift = NetworkFaulted(stack.network_mode_url().unwrap());
        // The Network answers 500 (its "Internal Server Error"), then holds the connection
        // without answering: each time the job goes back to the queue, never lost.
        stack.set_network_mode("status:500").await.unwrap();
        let (code, text) = send_order(&stack, &party, &po).await;
        assert_eq!(
            code, 200,
            "the Network's trouble is not the order's: {text}"
        );
        assert_eq!(agreements_of_quote(&stack, &quote_id).await, 1);
        let seen = wait_network(&stack, &order_id, |r| r.iter().any(|r| r.code == 500)).await;
        assert!(seen.iter().any(|r| r.code == 500), "{seen:?}");
        stack.set_network_mode("hang").await.unwrap();
        let seen = wait_network(&stack, &order_id, |r| r.iter().any(|r| r.code == 0)).await;
        assert!(
            seen.iter().any(|r| r.code == 0),
            "a delivery hung: {seen:?}"
        );

        stack.set_network_mode("ok").await.unwrap();
        let confirmation = procurement::ids::ConfirmationId::for_order(
            &org_id.as_str().into(),
            &order_id.as_str().into(),
        );
        assert_taken(&stack, |d| d.body.contains(confirmation.as_str())).await;
        let (_, status) = stack
            .store()
            .confirmations
            .get(&confirmation)
            .await
            .unwrap()
            .expect("the confirmation is stored");
        assert_eq!(status, procurement::model::ConfirmationStatus::Confirmed);
        let seen = wait_network(&stack, &order_id, |_| true).await;
        assert_eq!(
            seen.iter().filter(|r| r.code == 200).count(),
            1,
            "accepted once: {seen:?}"
        );
        let payload = |r: &e2e::stack::NetworkReceipt| {
            r.body
                .split("payloadID=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .map(str::to_string)
        };
        assert!(
            seen.iter().all(|r| payload(r) == payload(&seen[0])),
            "every delivery was the same confirmation: {seen:?}"
        );
        // A scheduled run after all this sends nothing more.
        scheduled_run_result(&stack).await.unwrap();
        assert_eq!(
            wait_network(&stack, &order_id, |_| true)
                .await
                .iter()
                .filter(|r| r.code == 200)
                .count(),
            1
        );
    }
}

// ------------------------------------------------------------------ the Coupa invoice stand-in

/// A live Coupa buyer of its own whose invoices go to the Coupa stand-in, with `invoicing`
/// applied to its settings and the stand-in's supplier record set to match them.
async fn coupa_buyer(
    stack: &LocalStack,
    endpoint: &BuyerEndpoint,
    tag: &str,
    invoicing: impl FnOnce(&mut procurement::integration::InvoiceSettings),
) -> Party {
    endpoint.set_mode(BuyerMode::Coupa);
    let party = live_buyer(stack, tag, Some(endpoint.url(e2e::buyer::INVOICE_PATH))).await;
    let store = stack.store();
    let org: procurement::ids::OrgId = id(&party.identity);
    let mut integration = store.integrations.get(&org).await.unwrap().unwrap();
    if let procurement::model::SystemSettings::Coupa(coupa) = &mut integration.settings.system {
        invoicing(&mut coupa.invoicing);
    }
    store.integrations.put(&integration).await.unwrap();
    let settings = integration.settings.invoicing().unwrap().clone();
    let buyer = match (&settings.to_domain, &settings.to_identity) {
        (Some(d), Some(i)) => (d.clone(), i.clone()),
        _ => (party.domain.clone(), party.identity.clone()),
    };
    endpoint
        .coupa()
        .set_credentials(e2e::coupa::InvoiceCredentials {
            supplier: (
                stack.config.supplier_domain.clone(),
                stack.config.supplier_identity.clone(),
            ),
            buyer,
            secret: procurement::invoices::invoice_secret_of(&stack.deps().config, &integration)
                .expect("the invoice key is read from Secrets Manager")
                .expose()
                .to_string(),
        });
    party
}

/// `party` buys `product_id`, and its Coupa sends the PO (which the stand-in learns):
/// (PO number, agreement ID).
async fn order_at_coupa(
    stack: &LocalStack,
    endpoint: &BuyerEndpoint,
    party: &Party,
    tag: &str,
    product_id: &str,
) -> (String, String) {
    let delivered = request_approval(stack, party, endpoint, product_id).await;
    let poom = buyer::cart_message(&delivered.doc).unwrap();
    let quote_id = quote_of(poom);
    let order_id = format!("PO-{tag}-{}", &quote_id[quote_id.len().saturating_sub(8)..]);
    let po = PurchaseOrder::from_cart(&order_id, poom);
    endpoint.coupa().add_order(&po);
    let reply = stack.post_cxml("/order", &po.to_xml(party)).await.unwrap();
    assert_eq!(status_of(&reply.body).0, 200, "{}", reply.body);
    let quote = stack
        .store()
        .quotes
        .get(&id(&quote_id))
        .await
        .unwrap()
        .unwrap();
    (order_id, quote.agreement_id.unwrap().to_string())
}

async fn ordered_at_coupa(
    stack: &LocalStack,
    endpoint: &BuyerEndpoint,
    tag: &str,
    product_id: &str,
    invoicing: impl FnOnce(&mut procurement::integration::InvoiceSettings),
) -> (String, String) {
    let party = coupa_buyer(stack, endpoint, tag, invoicing).await;
    order_at_coupa(stack, endpoint, &party, tag, product_id).await
}

/// Posts an invoice document to the Coupa stand-in: (cXML status, text) of its answer.
async fn post_to_coupa(endpoint: &BuyerEndpoint, xml: String) -> (u16, String) {
    let reply = reqwest::Client::new()
        .post(endpoint.url(e2e::buyer::INVOICE_PATH))
        .header("content-type", "text/xml")
        .body(xml)
        .send()
        .await
        .unwrap();
    status_of(&reply.text().await.unwrap())
}

/// Builds a stored charge's invoice as the dispatcher does and posts it to the stand-in:
/// (cXML status, text) of Coupa's answer.
async fn post_charge_invoice(
    stack: &LocalStack,
    endpoint: &BuyerEndpoint,
    charge_id: &str,
) -> (u16, String) {
    let store = stack.store();
    let (job, _) = store.charges.get(&id(charge_id)).await.unwrap().unwrap();
    let integration = store.integrations.get(&job.org_id).await.unwrap().unwrap();
    let secret =
        procurement::invoices::invoice_secret_of(&stack.deps().config, &integration).unwrap();
    let doc = procurement::invoices::build_invoice(
        &stack.config,
        &integration,
        &job,
        &secret,
        time::OffsetDateTime::now_utc(),
    )
    .unwrap();
    let xml = cxml::to_xml(&doc);
    dtd_valid(&xml);
    post_to_coupa(endpoint, xml).await
}

fn vat_19() -> procurement::integration::TaxSetting {
    procurement::integration::TaxSetting {
        category: "vat".into(),
        rate_percent: "19".parse().unwrap(),
        description: Some("VAT 19%".into()),
    }
}

fn remit_to() -> procurement::integration::RemitTo {
    procurement::integration::RemitTo {
        name: "Marketplace GmbH".into(),
        code: Some("REMIT-DE-1".into()),
        street: vec!["Hauptstrasse 1".into()],
        city: "Berlin".into(),
        state: None,
        postal_code: Some("10115".into()),
        country_code: "DE".into(),
        country: Some("Germany".into()),
    }
}

#[tokio::test]
async fn coupa_takes_an_upfront_invoice_with_payment_term_tax_remit_to_and_part_number() {
    let stack = stack().await;
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    let (order_id, agreement_id) =
        ordered_at_coupa(&stack, &endpoint, "cup", "prod-saas-upfront", |i| {
            i.payment_term_code = Some("Net 30".into());
            i.tax = Some(vat_19());
            i.remit_to = Some(remit_to());
            i.supplier_tax_id = Some(procurement::integration::SupplierTaxId {
                prefix: Some("DE".into()),
                number: "123456789".into(),
            });
            i.to_domain = Some("DUNS".into());
            i.to_identity = Some("coupa-invoice-buyer".into());
        })
        .await;
    let charge_id = format!("{agreement_id}-1");
    assert_eq!(
        wait_charge_status(&stack, &charge_id, "invoiced").await,
        "invoiced",
        "{:?}",
        stack
            .store()
            .charges
            .outcome(&id(&charge_id))
            .await
            .unwrap()
    );
    let accepted = endpoint.coupa().accepted.clone();
    assert_eq!(accepted.len(), 1);
    let xml = &accepted[0];
    dtd_valid(xml);
    assert!(
        xml.contains(r#"<PaymentTerm payInNumberOfDays="30"/>"#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"category="vat" percentageRate="19""#),
        "{xml}"
    );
    assert!(
        xml.contains("<Money currency=\"USD\">2280.00</Money>"),
        "19% of 12000.00: {xml}"
    );
    assert!(
        xml.contains("<SupplierPartID>prod-saas-upfront</SupplierPartID>"),
        "{xml}"
    );
    assert!(xml.contains(r#"addressID="REMIT-DE-1""#), "{xml}");
    assert!(xml.contains(&order_id), "{xml}");
    // The same invoice again is refused as Coupa refuses a used number.
    let (code, text) = post_charge_invoice(&stack, &endpoint, &charge_id).await;
    assert_eq!(code, 417, "{text}");
    assert!(text.contains("already been used"), "{text}");

    // What Coupa refuses, the stand-in refuses with Coupa's text: the accepted invoice under a
    // new number, without its payment term; with a 41-character number; for another part.
    let number = format!(r#"invoiceID="{order_id}-1""#);
    assert!(xml.contains(&number), "{xml}");
    let renumbered = |n: &str| xml.replace(&number, &format!(r#"invoiceID="{n}""#));
    let no_term = renumbered("NEW-1")
        .replace(r#"<PaymentTerm payInNumberOfDays="30"/>"#, "")
        .replace(
            r#"<Extrinsic name="PaymentTermCode">Net 30</Extrinsic>"#,
            "",
        );
    assert_eq!(
        post_to_coupa(&endpoint, no_term).await,
        (417, e2e::coupa::PAYMENT_TERM_MISSING.to_string())
    );
    let (code, text) = post_to_coupa(&endpoint, renumbered(&"9".repeat(41))).await;
    assert_eq!(code, 417, "{text}");
    let other_part = renumbered("NEW-2").replace(
        "<SupplierPartID>prod-saas-upfront</SupplierPartID>",
        "<SupplierPartID>prod-saas-payg</SupplierPartID>",
    );
    assert_eq!(
        post_to_coupa(&endpoint, other_part).await,
        (417, e2e::coupa::INVALID_ORDER_REFERENCE.to_string())
    );
    assert_eq!(endpoint.coupa().accepted.len(), 1, "nothing else was taken");
}

/// The Sender SharedSecret of an invoice as posted.
fn invoice_sender_secret(xml: &str) -> String {
    let doc = cxml::parse(xml.as_bytes()).unwrap();
    doc.header
        .as_ref()
        .and_then(|h| h.sender.first())
        .and_then(|c| c.shared_secret.as_ref())
        .map(|s| s.expose().to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn rotating_one_invoice_secret_changes_that_orgs_invoice_sender_secret_only() {
    let stack = stack().await;
    let (a_endpoint, b_endpoint) = (
        BuyerEndpoint::start(0).await.unwrap(),
        BuyerEndpoint::start(0).await.unwrap(),
    );
    let a = coupa_buyer(&stack, &a_endpoint, "invrot-a", |_| {}).await;
    let b = coupa_buyer(&stack, &b_endpoint, "invrot-b", |_| {}).await;
    let config = stack.deps().config;
    assert!(
        stack.config.invoice_secret_key.is_none(),
        "the key is not in the functions' environment (stack.env)"
    );
    let secret_of = |org: &str| {
        let store = stack.store();
        let config = config.clone();
        let org: procurement::ids::OrgId = id(org);
        async move {
            let integration = store.integrations.get(&org).await.unwrap().unwrap();
            procurement::invoices::invoice_secret_of(&config, &integration)
                .expect("the invoice key is read from Secrets Manager")
                .expose()
                .to_string()
        }
    };
    let (a_before, b_before) = (secret_of(&a.identity).await, secret_of(&b.identity).await);

    // A's management account rotates A's invoice secret through the admin API ...
    let (status, answer) = stack
        .admin(
            Some("999999999999"),
            "POST",
            &format!("/admin/orgs/{}/integration/secret?kind=invoice", a.identity),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{answer}");
    let info = &answer["purchase_information"];
    let a_after = info["invoice_shared_secret"]
        .as_str()
        .expect("the new invoice secret is shown")
        .to_string();
    assert!(info.get("shared_secret").is_none(), "{info}");
    assert_ne!(a_after, a_before);
    assert_eq!(secret_of(&a.identity).await, a_after);
    assert_eq!(secret_of(&b.identity).await, b_before, "B's is unchanged");
    // ... and enters it on A's Coupa supplier record; B's Coupa keeps the one it has.
    a_endpoint
        .coupa()
        .set_credentials(e2e::coupa::InvoiceCredentials {
            supplier: (
                stack.config.supplier_domain.clone(),
                stack.config.supplier_identity.clone(),
            ),
            buyer: (a.domain.clone(), a.identity.clone()),
            secret: a_after.clone(),
        });

    // Both organisations order; invoice-dispatch (its own cold start, its own read of the
    // key) signs each invoice with that organisation's secret, and each Coupa takes its own.
    let (_, a_agreement) =
        order_at_coupa(&stack, &a_endpoint, &a, "invrot-a", "prod-saas-upfront").await;
    let (_, b_agreement) =
        order_at_coupa(&stack, &b_endpoint, &b, "invrot-b", "prod-saas-upfront").await;
    for charge_id in [format!("{a_agreement}-1"), format!("{b_agreement}-1")] {
        assert_eq!(
            wait_charge_status(&stack, &charge_id, "invoiced").await,
            "invoiced",
            "{charge_id}: {:?}",
            stack
                .store()
                .charges
                .outcome(&id(&charge_id))
                .await
                .unwrap()
        );
    }
    let a_invoices = a_endpoint.coupa().accepted.clone();
    let b_invoices = b_endpoint.coupa().accepted.clone();
    assert_eq!((a_invoices.len(), b_invoices.len()), (1, 1));
    assert_eq!(invoice_sender_secret(&a_invoices[0]), a_after);
    assert_eq!(invoice_sender_secret(&b_invoices[0]), b_before);
    // Signed with A's old secret, the same invoice is refused by A's Coupa (now on the new one).
    let old = a_invoices[0].replace(&a_after, &a_before);
    assert_ne!(old, a_invoices[0]);
    let (code, _) = post_to_coupa(&a_endpoint, old).await;
    assert_eq!(code, 401);
}

#[tokio::test]
async fn coupa_takes_an_invoice_without_tax_or_remit_to() {
    let stack = stack().await;
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    let (_, agreement_id) =
        ordered_at_coupa(&stack, &endpoint, "cupplain", "prod-saas-upfront", |i| {
            *i = Default::default();
        })
        .await;
    let charge_id = format!("{agreement_id}-1");
    assert_eq!(
        wait_charge_status(&stack, &charge_id, "invoiced").await,
        "invoiced"
    );
    let xml = endpoint.coupa().accepted[0].clone();
    assert!(
        !xml.contains("TaxDetail") && !xml.contains("InvoicePartner"),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<PaymentTerm payInNumberOfDays="30"/>"#),
        "{xml}"
    );
}

#[tokio::test]
async fn coupa_takes_each_installment_and_never_more_than_the_po_line() {
    let stack = stack().await;
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    let (order_id, agreement_id) =
        ordered_at_coupa(&stack, &endpoint, "cupfps", "prod-saas-fps", |i| {
            i.tax = Some(vat_19());
        })
        .await;
    let first = format!("{agreement_id}-1");
    assert_eq!(
        wait_charge_status(&stack, &first, "invoiced").await,
        "invoiced"
    );
    // The later installments as they will be sent on their dates: each is taken, and
    // together they invoice exactly the PO line.
    let charges = charges_of_order(&stack, &order_id).await;
    assert!(charges.len() >= 2, "{charges:?}");
    for n in 2..=charges.len() {
        let (code, text) =
            post_charge_invoice(&stack, &endpoint, &format!("{agreement_id}-{n}")).await;
        assert_eq!(code, 200, "installment {n}: {text}");
    }
    assert_eq!(endpoint.coupa().accepted.len(), charges.len());
    // One more of any would exceed the line: Coupa refuses the repeat.
    let (code, _) = post_charge_invoice(&stack, &endpoint, &first).await;
    assert_eq!(code, 417);
}

#[tokio::test]
async fn a_wrong_invoice_credential_is_refused_401_and_recorded_with_coupas_text() {
    let stack = stack().await;
    let endpoint = BuyerEndpoint::start(0).await.unwrap();
    let party = coupa_buyer(&stack, &endpoint, "cup401", |_| {}).await;
    // Coupa's supplier record holds other invoice credentials than the ones we send.
    endpoint
        .coupa()
        .set_credentials(e2e::coupa::InvoiceCredentials {
            supplier: ("DUNS".into(), "someone-else".into()),
            buyer: ("DUNS".into(), "x".into()),
            secret: "wrong".into(),
        });
    let (_, agreement_id) =
        order_at_coupa(&stack, &endpoint, &party, "cup401", "prod-saas-upfront").await;
    let outcome = failed_outcome(&stack, &format!("{agreement_id}-1")).await;
    assert_eq!(outcome.code, Some(401), "{outcome:?}");
    assert!(
        outcome.text.contains(e2e::coupa::INVALID_CREDENTIALS),
        "Coupa's text is recorded: {outcome:?}"
    );
    assert!(endpoint.coupa().accepted.is_empty());
}

// ---------------------------------------------------------------- the admin tool (psi-admin)

/// `psi-admin` does the whole setup of a Coupa and an SAP Ariba integration, signing with
/// its account's credentials, through the admin REST API stand-in (which checks each signature
/// and the resource policy as API Gateway does).
#[tokio::test]
async fn the_admin_tool_sets_up_a_coupa_and_an_ariba_integration_signed_by_its_account() {
    use e2e::admin_tool::{Signer, psi_admin};
    let stack = stack().await;
    // All three accounts are allowed by the resource policy; only the first administers the
    // organisations made here, the second is their member account.
    let (admin, member, stranger) = (
        Signer::local(&stack, "555555555555").unwrap(),
        Signer::local(&stack, "444444444444").unwrap(),
        Signer::local(&stack, "333333333333").unwrap(),
    );
    let api = stack.admin_api().unwrap().to_string();
    let tool = |signer: &Signer, args: &[&str]| {
        let (api, signer) = (api.clone(), signer.clone());
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            psi_admin(&api, &signer, &args).await.unwrap()
        }
    };

    // Coupa: create (test mode on), the purchase information with the secret, shown once.
    let coupa = new_org(&stack, "tool-coupa", &admin.account_id).await;
    let created = tool(
        &admin,
        &[
            "create",
            &coupa,
            "--system",
            "coupa",
            "--name",
            "Coupa via psi-admin",
            "--buyer-domain",
            "DUNS",
            "--buyer-identity",
            &coupa,
            "--invoice-url",
            "https://buyer.example/cxml/invoices",
            "--payment-term-days",
            "45",
            "--json",
        ],
    )
    .await;
    assert_eq!(created.code, Some(0), "{}", created.stderr);
    let created = created.json();
    assert_eq!(created["settings"]["test_mode"], true, "{created}");
    assert_eq!(created["settings"]["invoicing"]["payment_term_days"], 45);
    let secret = created["purchase_information"]["shared_secret"]
        .as_str()
        .expect("the new secret, shown once")
        .to_string();
    let info = tool(&member, &["purchase-info", &coupa]).await;
    assert_eq!(info.code, Some(0), "{}", info.stderr);
    let setup_url = format!("{}/punchout/setup", stack.api);
    assert!(
        info.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("punchout_setup_url")
                && l.trim_end().ends_with(&setup_url)),
        "{}",
        info.stdout
    );
    assert!(info.stdout.contains("-> punchout site: Punchout URL"));
    assert!(info.stdout.contains(&format!("{}/order", stack.api)));
    assert!(
        !info.stdout.contains(&secret),
        "a read never shows the secret"
    );

    let party = Party {
        domain: "DUNS".into(),
        identity: coupa.clone(),
        secret: secret.clone(),
        user_agent: "Coupa Procurement 1.0".into(),
        network: None,
    };
    let punchout = Punchout::new("cookie-psi-admin", "http://127.0.0.1:1/cart");
    punch_out(&stack, &party, &punchout).await;

    // update changes only what it is given.
    let updated = tool(
        &admin,
        &[
            "update",
            &coupa,
            "--test-mode",
            "off",
            "--tax-category",
            "vat",
            "--tax-rate-percent",
            "0",
        ],
    )
    .await;
    assert_eq!(updated.code, Some(0), "{}", updated.stderr);
    assert!(
        updated.stdout.contains("test_mode = false"),
        "{}",
        updated.stdout
    );
    let shown = tool(&admin, &["show", &coupa, "--json"]).await.json();
    let settings = &shown["settings"];
    assert_eq!(settings["test_mode"], false);
    assert_eq!(settings["name"], "Coupa via psi-admin");
    assert_eq!(
        settings["invoice_url"],
        "https://buyer.example/cxml/invoices"
    );
    assert_eq!(settings["invoicing"]["payment_term_days"], 45);
    assert_eq!(settings["invoicing"]["tax"]["category"], "vat");

    // rotate-secret: the new secret opens punchout, the old one no longer does.
    let rotated = tool(&admin, &["rotate-secret", &coupa, "--json"]).await;
    assert_eq!(rotated.code, Some(0), "{}", rotated.stderr);
    let new_secret = rotated.json()["purchase_information"]["shared_secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new_secret, secret);
    let old = stack
        .post_cxml("/punchout/setup", &buyer::setup_request(&party, &punchout))
        .await
        .unwrap();
    assert_eq!(old.status, 401, "{}", old.body);
    let party = party.with_secret(&new_secret);
    punch_out(&stack, &party, &punchout).await;

    // disable refuses the buyer; enable brings it back with the same settings and secret.
    let disabled = tool(&admin, &["disable", &coupa]).await;
    assert_eq!(disabled.code, Some(0), "{}", disabled.stderr);
    let refused = stack
        .post_cxml("/punchout/setup", &buyer::setup_request(&party, &punchout))
        .await
        .unwrap();
    assert_eq!(refused.status, 403, "{}", refused.body);
    let enabled = tool(&admin, &["enable", &coupa]).await;
    assert_eq!(enabled.code, Some(0), "{}", enabled.stderr);
    punch_out(&stack, &party, &punchout).await;
    let after = tool(&admin, &["show", &coupa, "--json"]).await.json();
    let mut expected = shown["settings"].clone();
    expected["enabled"] = true.into();
    assert_eq!(
        after["settings"], expected,
        "settings kept through disable and enable"
    );

    // The message log shows the punchouts above, newest first, without their secret.
    let log = tool(&member, &["messages", &coupa, "--json"]).await;
    assert_eq!(log.code, Some(0), "{}", log.stderr);
    let logged = log.json();
    let setups: Vec<&serde_json::Value> = logged["messages"]
        .as_array()
        .expect("a page of messages")
        .iter()
        .filter(|m| m["message_type"] == "PunchOutSetupRequest")
        .collect();
    assert!(!setups.is_empty(), "{logged}");
    assert!(!log.stdout.contains(&new_secret), "{}", log.stdout);

    // Refusals: a 400 names the field, a member may read but not write, a stranger neither,
    // and a request signed with the wrong secret key never reaches the function.
    let bad = tool(
        &admin,
        &[
            "update",
            &coupa,
            "--invoice-url",
            "http://buyer.example/inv",
        ],
    )
    .await;
    assert_eq!(bad.code, Some(1));
    assert!(
        bad.stderr.contains("(400); field invoice_url:"),
        "{}",
        bad.stderr
    );
    let read = tool(&member, &["show", &coupa]).await;
    assert_eq!(read.code, Some(0), "{}", read.stderr);
    let write = tool(&member, &["disable", &coupa]).await;
    assert_eq!(write.code, Some(1));
    assert!(
        write
            .stderr
            .contains(&format!("may not administer organisation {coupa} (403)")),
        "{}",
        write.stderr
    );
    let foreign = tool(&stranger, &["show", &coupa]).await;
    assert_eq!(foreign.code, Some(1));
    assert!(foreign.stderr.contains("(403)"), "{}", foreign.stderr);
    let mut forged = admin.clone();
    forged.credentials = aws_credential_types::Credentials::new(
        admin.credentials.access_key_id(),
        "a-guessed-secret-key",
        None,
        None,
        "e2e",
    );
    let unsigned = tool(&forged, &["show", &coupa]).await;
    assert_eq!(unsigned.code, Some(1));
    assert!(
        unsigned
            .stderr
            .contains("signature we calculated does not match"),
        "{}",
        unsigned.stderr
    );
    assert_eq!(
        tool(&admin, &["show", &coupa, "--json"]).await.json()["settings"],
        expected,
        "no refused request changed anything"
    );

    // SAP Ariba: the buyer's ANIDs; the Network's secret, none of its own.
    let ariba = new_org(&stack, "tool-ariba", &admin.account_id).await;
    let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    let anid = format!("AN{:011}", nanos % 100_000_000_000);
    let test_anid = format!("{anid}-T");
    let created = tool(
        &admin,
        &[
            "create",
            &ariba,
            "--system",
            "ariba",
            "--name",
            "Ariba via psi-admin",
            "--ariba-network-id",
            &anid,
            "--ariba-test-network-id",
            &test_anid,
        ],
    )
    .await;
    assert_eq!(created.code, Some(0), "{}", created.stderr);
    assert!(
        created.stdout.contains("in test mode"),
        "{}",
        created.stdout
    );
    assert!(
        created
            .stdout
            .contains(procurement::demo::ARIBA_SUPPLIER_ANID),
        "the marketplace's ANID to publish the catalog under: {}",
        created.stdout
    );
    assert!(created.stdout.contains(&test_anid));
    assert!(
        created
            .stdout
            .contains("Secret: the SAP Ariba Network presents"),
        "{}",
        created.stdout
    );
    punch_out(&stack, &through_the_network(&anid), &punchout).await;
    let live = tool(
        &admin,
        &[
            "update",
            &ariba,
            "--test-mode",
            "off",
            "--order-confirmations",
            "off",
        ],
    )
    .await;
    assert_eq!(live.code, Some(0), "{}", live.stderr);
    let shown = tool(&member, &["show", &ariba, "--json"]).await.json();
    assert_eq!(shown["settings"]["test_mode"], false, "{shown}");
    assert_eq!(shown["settings"]["order_confirmations"], false);
    assert_eq!(
        shown["settings"]["ariba_test_network_id"],
        test_anid.as_str()
    );
    let no_secret = tool(&admin, &["rotate-secret", &ariba]).await;
    assert_eq!(no_secret.code, Some(1));
    assert!(
        no_secret.stderr.contains("Ariba Network"),
        "{}",
        no_secret.stderr
    );
}
