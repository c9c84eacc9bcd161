//! End-to-end tests against the local stack (`make e2e` starts it): the functions run under
//! `cargo lambda watch`, DynamoDB, SQS and SES are moto, and every check reads real state.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use e2e::procurement_system::{self as buyer, Party, Punchout, PurchaseOrder};
use e2e::{BuyerEndpoint, LocalStack};
use serde_json::json;

async fn stack() -> LocalStack {
    LocalStack::connect().await.expect("local stack")
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
    let got = endpoint.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(got[0].path, "/cart");
    assert_eq!(got[0].body, b"cxml-urlencoded=%3CcXML%2F%3E");
}

// ---------------------------------------------------------------- the round trip, live

use e2e::html;
use procurement::Store;
use procurement::model::{AgreementStatus, QuoteStatus};

/// Emails are read back from moto, and one test takes SES away: it runs alone.
static SES: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// How many agreements the table holds for this quote, whatever their IDs.
async fn agreements_of_quote(stack: &LocalStack, quote_id: &str) -> usize {
    let mut count = 0;
    let mut start = None;
    loop {
        let page = stack
            .dynamodb()
            .scan()
            .table_name(&stack.config.table_name)
            .filter_expression("SK = :sk")
            .expression_attribute_values(":sk", AttributeValue::S("AGREEMENT".into()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        count += page
            .items()
            .iter()
            .filter_map(|i| i.get("data").and_then(|d| d.as_s().ok()))
            .filter(|data| data.contains(&format!("\"quote_id\":\"{quote_id}\"")))
            .count();
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return count;
        }
    }
}

/// A buyer organisation of its own for one test, out of test mode: orders make agreements.
async fn live_buyer(stack: &LocalStack, tag: &str, invoice_url: Option<String>) -> Party {
    let now = time::OffsetDateTime::now_utc();
    let org_id = format!("e2e-{tag}-{}", now.unix_timestamp_nanos());
    let secret = format!("secret-{org_id}");
    let mut integration = procurement::demo::coupa_integration(now);
    integration.org_id = org_id.clone();
    integration.test_mode = false;
    integration.invoice_url = invoice_url;
    integration.buyer_identity = org_id.clone();
    integration.sender_identity = org_id.clone();
    integration.secret_digest = cxml::SecretDigest::of(&secret).to_hex();
    let store = stack.store();
    let mut org = procurement::demo::organizations().remove(0);
    org.org_id = org_id.clone();
    org.management_account_id = "999999999999".into();
    org.member_account_ids.clear();
    store.put_organization(&org).await.unwrap();
    store.put_integration(&integration).await.unwrap();
    Party {
        domain: integration.buyer_domain.clone(),
        identity: org_id,
        secret,
        user_agent: "Coupa Procurement 1.0".into(),
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
    let before = endpoint.received().len();
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
    let got = endpoint.wait_for(before + 1, Duration::from_secs(10)).await;
    let delivered = buyer::decode_cart(&got[before].body).expect("a decodable cart");
    let poom = buyer::cart_message(&delivered.doc).expect("a PunchOutOrderMessage");
    assert_eq!(poom.buyer_cookie, cookie, "the buyer cookie is echoed");
    delivered
}

fn dtd_valid(xml: &str) {
    let dtd = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/cxml/dtd/1.2.069/cXML.dtd");
    let dir = std::env::temp_dir().join(format!("e2e-dtd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!(
        "{}.xml",
        time::OffsetDateTime::now_utc().unix_timestamp_nanos()
    ));
    std::fs::write(&file, xml).unwrap();
    let out = std::process::Command::new("xmllint")
        .args(["--noout", "--nonet", "--dtdvalid"])
        .arg(&dtd)
        .arg(&file)
        .output()
        .expect("xmllint runs");
    assert!(
        out.status.success(),
        "not DTD-valid: {}\n{xml}",
        String::from_utf8_lossy(&out.stderr)
    );
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
        store.get_quote(&quote_id).await.unwrap().unwrap().status,
        QuoteStatus::PendingApproval
    );

    let order_id = format!("PO-{}", quote_id);
    let po = PurchaseOrder::from_cart(&order_id, poom);
    let reply = stack.post_cxml("/order", &po.to_xml(&party)).await.unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let quote = store.get_quote(&quote_id).await.unwrap().unwrap();
    assert_eq!(quote.status, QuoteStatus::Ordered);
    let agreement = store
        .get_agreement(quote.agreement_id.as_deref().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(agreement.po_number.as_deref(), Some(order_id.as_str()));
    assert_eq!(agreement.status, AgreementStatus::Active);

    let emails = stack.sent_emails().await.unwrap();
    let mail = emails
        .iter()
        .find(|e| e.body.contains(&agreement.agreement_id))
        .expect("the subscriber was emailed");
    assert!(mail.to.iter().any(|t| t == "jim.halpert@buyer.example"));
    assert!(mail.body.contains(&order_id));
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
        let deps = stack.deps();
        let xml = xml.clone();
        let barrier = barrier.clone();
        sends.spawn(async move {
            barrier.wait().await;
            procurement::orders::handle_order(&deps, xml.as_bytes()).await
        });
    }
    let replies = sends.join_all().await;
    let answers: Vec<(u16, String)> = replies.iter().map(|r| status_of(&r.body)).collect();
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    assert_eq!(answers[0].0, 200, "{answers:?}");
    assert_eq!(agreements_of_quote(&stack, &quote_id).await, 1);
}

// ---------------------------------------------------------------- admin API and catalog rules

/// An organisation with no integration yet, administered by `account`.
async fn new_org(stack: &LocalStack, tag: &str, account: &str) -> String {
    let org_id = format!(
        "e2e-{tag}-{}",
        time::OffsetDateTime::now_utc().unix_timestamp_nanos()
    );
    let mut org = procurement::demo::organizations().remove(0);
    org.org_id = org_id.clone();
    org.management_account_id = account.into();
    org.member_account_ids = vec!["444444444444".into()];
    stack.store().put_organization(&org).await.unwrap();
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
        .find_integration_by_buyer(&party.domain, &party.identity)
        .await
        .unwrap()
        .unwrap();
    integration.preapprove_free = true;
    store.put_integration(&integration).await.unwrap();

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
    let agreements = stack
        .dynamodb()
        .scan()
        .table_name(&stack.config.table_name)
        .filter_expression("SK = :sk")
        .expression_attribute_values(":sk", AttributeValue::S("AGREEMENT".into()))
        .send()
        .await
        .unwrap();
    assert!(
        agreements
            .items()
            .iter()
            .filter_map(|i| i.get("data").and_then(|d| d.as_s().ok()))
            .any(|d| d.contains(&integration.org_id) && d.contains("prod-ami-free")),
        "the subscription exists at once"
    );
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

#[tokio::test]
async fn in_tool_search_answers_the_procurement_system_with_products_to_punch_out_to() {
    let stack = stack().await;
    let user = format!(
        "{}/{}",
        procurement::demo::COUPA_DOMAIN,
        procurement::demo::COUPA_IDENTITY
    );
    let client = reqwest::Client::new();
    let reply = client
        .get(stack.url("/search?q=ledgerly"))
        .basic_auth(user, Some(procurement::demo::COUPA_SECRET))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 200);
    let body: serde_json::Value = reply.json().await.unwrap();
    let first = &body["results"][0];
    assert_eq!(first["id"], "prod-saas-upfront");
    assert!(
        first["price_summary"]
            .as_str()
            .unwrap()
            .contains("12,000.00")
            || first["price_summary"]
                .as_str()
                .unwrap()
                .contains("12000.00"),
        "{first}"
    );
    let unauthorised = client
        .get(stack.url("/search?q=ledgerly"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorised.status().as_u16(), 401);
}
