//! Bad input and enumeration at the cXML URLs: one 401 for every credential failure, no part
//! of a SharedSecret in an answer or a log line, overlong values refused with a 400 naming the
//! field (never a storage failure answered as a retryable 500).

use std::io::Write;
use std::sync::{Arc, Mutex};

use cxml::OrderType;
use procurement::demo;
use procurement::fakes::FakeWorld;
use support::{Reply, Setup, handle_order, handle_setup};

mod support;

const NOT_ACCEPTED: &str = "credentials of this document are not accepted";

/// Everything the handlers log while `run` runs, at every level, as the JSON lines the
/// functions write.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The log of this test binary: one global subscriber at every level, set once (a scoped one
/// would race with the callsite interest cache of tests on other threads).
fn capture() -> Logs {
    static LOGS: std::sync::OnceLock<Logs> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        logs
    })
    .clone()
}

fn coupa_setup_with_secret(secret_xml: &str) -> String {
    Setup::coupa().xml().replace(
        &format!("<SharedSecret>{}</SharedSecret>", demo::COUPA_SECRET),
        &format!("<SharedSecret>{secret_xml}</SharedSecret>"),
    )
}

fn coupa_order_with_secret(secret_xml: &str) -> String {
    let quote = procurement::demo::quotes(time::OffsetDateTime::now_utc()).remove(0);
    let po = support::order_request(
        support::coupa_header(),
        "PO-IN-1",
        "p-in-1",
        OrderType::New,
        &[&quote],
    );
    String::from_utf8(po).unwrap().replace(
        &format!("<SharedSecret>{}</SharedSecret>", demo::COUPA_SECRET),
        &format!("<SharedSecret>{secret_xml}</SharedSecret>"),
    )
}

#[tokio::test]
async fn no_part_of_a_shared_secret_is_in_an_answer_or_a_log_line() {
    let world = FakeWorld::demo().await;
    let logs = capture();
    // Malformed (an unescaped < or &), and well formed but wrong.
    for secret in ["hunter2<s3cr3t", "hunter2&s3cr3t;", "hunter2&lt;s3cr3t"] {
        for (url, reply) in [
            (
                "setup",
                handle_setup(&world, coupa_setup_with_secret(secret).as_bytes()).await,
            ),
            (
                "order",
                handle_order(&world, coupa_order_with_secret(secret).as_bytes()).await,
            ),
        ] {
            assert!(
                reply.status == 400 || reply.status == 401,
                "{url} {secret}: {}",
                reply.body
            );
            for part in ["hunter2", "s3cr3t"] {
                assert!(!reply.body.contains(part), "{url} {secret}: {}", reply.body);
            }
        }
    }
    let logged = logs.text();
    assert!(
        logged.contains("cXML request refused"),
        "the capture works: {logged}"
    );
    for part in ["hunter2", "s3cr3t"] {
        assert!(!logged.contains(part), "{logged}");
    }
}

#[tokio::test]
async fn every_coupa_credential_failure_gets_the_same_401() {
    let world = FakeWorld::demo().await;
    let good = Setup::coupa().xml();
    let sender = format!(
        "<Sender><Credential domain=\"{}\"><Identity>{}</Identity>",
        demo::COUPA_DOMAIN,
        demo::COUPA_IDENTITY
    );
    let secret = format!("<SharedSecret>{}</SharedSecret>", demo::COUPA_SECRET);
    let cases = [
        // A wrong secret, no secret, an unknown buyer, a Sender that is not the buyer's.
        good.replace(&secret, "<SharedSecret>guessed</SharedSecret>"),
        good.replace(&secret, ""),
        good.replace(
            &format!(
                "<From><Credential domain=\"{}\"><Identity>{}",
                demo::COUPA_DOMAIN,
                demo::COUPA_IDENTITY
            ),
            &format!(
                "<From><Credential domain=\"{}\"><Identity>not-a-customer",
                demo::COUPA_DOMAIN
            ),
        ),
        good.replace(
            &sender,
            &format!(
                "<Sender><Credential domain=\"{}\"><Identity>someone-else</Identity>",
                demo::COUPA_DOMAIN
            ),
        ),
    ];
    let mut statuses = Vec::new();
    for xml in &cases {
        let reply = handle_setup(&world, xml.as_bytes()).await;
        assert_eq!(reply.status, 401, "{}", reply.body);
        assert!(reply.body.contains(NOT_ACCEPTED), "{}", reply.body);
        for detail in [
            "guessed",
            "not-a-customer",
            "someone-else",
            "SharedSecret",
            "From credential",
        ] {
            assert!(!reply.body.contains(detail), "{detail}: {}", reply.body);
        }
        let doc = cxml::parse(reply.body.as_bytes()).unwrap();
        statuses.push(doc.response_status().unwrap().clone());
    }
    // The same at the order URL.
    let quote = procurement::demo::quotes(time::OffsetDateTime::now_utc()).remove(0);
    let headers = {
        let good = support::coupa_header;
        let mut wrong_secret = good();
        wrong_secret.sender[0].shared_secret = Some(cxml::SharedSecret::new("guessed"));
        let mut no_secret = good();
        no_secret.sender[0].shared_secret = None;
        let mut unknown = good();
        unknown.from[0].identity = "not-a-customer".into();
        let mut other_sender = good();
        other_sender.sender[0].identity = "someone-else".into();
        [wrong_secret, no_secret, unknown, other_sender]
    };
    for header in headers {
        let po = support::order_request(header, "PO-401", "p-401", OrderType::New, &[&quote]);
        let reply = handle_order(&world, &po).await;
        assert_eq!(reply.status, 401, "{}", reply.body);
        let doc = cxml::parse(reply.body.as_bytes()).unwrap();
        let status = doc.response_status().unwrap().clone();
        assert!(status.text.contains(NOT_ACCEPTED), "{status:?}");
        statuses.push(status);
    }
    assert!(statuses.windows(2).all(|w| w[0] == w[1]), "{statuses:?}");
}

fn status_text(reply: &Reply) -> String {
    let doc = cxml::parse(reply.body.as_bytes()).unwrap();
    doc.response_status().unwrap().text.clone()
}

#[tokio::test]
async fn overlong_values_get_a_400_naming_the_field_before_anything_is_stored() {
    let world = FakeWorld::demo_live().await;
    let long = "x".repeat(3000);
    let good = Setup::coupa().xml();
    let many_extrinsics = "<Extrinsic name=\"n\">v</Extrinsic>".repeat(101);
    let setups = [
        (
            good.replace("1795514400.1@buyer.example", &long),
            "payloadID",
        ),
        (
            good.replace("coupa-cookie-&lt;&amp;&gt;&quot;1&quot;", &"c".repeat(5000)),
            "BuyerCookie",
        ),
        (
            good.replace(">Halpert<", &format!(">{}<", "h".repeat(5000))),
            "Extrinsic LastName",
        ),
        (
            good.replace(
                "<Extrinsic name=\"FirstName\">",
                &format!("{many_extrinsics}<Extrinsic name=\"FirstName\">"),
            ),
            "Extrinsic elements",
        ),
        (
            Setup::coupa()
                .operation("edit")
                .item("prod-saas-upfront", Some(&long))
                .xml(),
            "SupplierPartAuxiliaryID of ItemOut line 1",
        ),
        (
            Setup::coupa().selected(&long).xml(),
            "SupplierPartID of SelectedItem",
        ),
        (
            good.replace(
                "https://buyer.example/punchout/return?x=1&amp;y=2",
                &format!("https://buyer.example/{long}"),
            ),
            "BrowserFormPost",
        ),
        (
            good.replace(
                &format!(
                    "<Identity>{}</Identity></Credential></From>",
                    demo::COUPA_IDENTITY
                ),
                &format!("<Identity>{long}</Identity></Credential></From>"),
            ),
            "Identity of Credential in From",
        ),
    ];
    for (xml, field) in &setups {
        let reply = handle_setup(&world, xml.as_bytes()).await;
        assert_eq!(reply.status, 400, "{field}: {}", reply.body);
        let text = status_text(&reply);
        assert!(
            text.contains(field) && text.contains("at most"),
            "{field}: {text}"
        );
    }

    let quote = support::quote_for(&world, demo::COUPA_ORG, "prod-saas-upfront", "q-long").await;
    let po = |order_id: &str, payload_id: &str, quote: &procurement::model::Quote| {
        support::order_request(
            support::coupa_header(),
            order_id,
            payload_id,
            OrderType::New,
            &[quote],
        )
    };
    let mut long_aux = quote.clone();
    long_aux.quote_id = long.as_str().into();
    let orders = [
        (
            po(&long, "p-long-1", &quote),
            "orderID on OrderRequestHeader",
        ),
        (po("PO-LONG", &long, &quote), "payloadID"),
        (
            po("PO-LONG", "p-long-2", &long_aux),
            "SupplierPartAuxiliaryID of ItemOut line",
        ),
    ];
    for (xml, field) in &orders {
        let reply = handle_order(&world, xml).await;
        assert_eq!(reply.status, 400, "{field}: {}", reply.body);
        let text = status_text(&reply);
        assert!(
            text.contains(field) && text.contains("at most"),
            "{field}: {text}"
        );
    }
    let stored = world
        .deps
        .quotes
        .get(&"q-long".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.status,
        procurement::model::QuoteStatus::PendingApproval
    );
    // At the limits, the same documents are accepted.
    let at_limit = "p".repeat(procurement::limits::MAX_ID_BYTES);
    let reply = handle_order(&world, &po("PO-LONG", &at_limit, &quote)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn browser_form_post_is_https_except_on_a_local_stack() {
    let deployed = FakeWorld::demo().await;
    let with_form_post = |url: &str| {
        Setup::coupa()
            .xml()
            .replace("https://buyer.example/punchout/return?x=1&amp;y=2", url)
    };
    for (url, why) in [
        ("http://buyer.example/return", "https"),
        ("http://127.0.0.1:9100/punchout/checkout/4", "this machine"),
        ("https://169.254.169.254/latest", "link-local"),
        ("https://buyer:pw@buyer.example/return", "password"),
        ("javascript:alert(1)", "https"),
        ("/relative/return", "URL"),
    ] {
        let reply = handle_setup(&deployed, with_form_post(url).as_bytes()).await;
        assert_eq!(reply.status, 400, "{url}: {}", reply.body);
        let text = status_text(&reply);
        assert!(
            text.contains("BrowserFormPost") && text.contains(why),
            "{url}: {text}"
        );
        assert!(!text.contains("pw@"), "{text}");
    }
    let reply = handle_setup(
        &deployed,
        with_form_post("https://buyer.example/return").as_bytes(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    // A local stack's stand-in buyer listens on 127.0.0.1 over http.
    let mut local = FakeWorld::demo().await;
    local.deps.config.public_base_url = "http://127.0.0.1:9000".into();
    let reply = handle_setup(
        &local,
        with_form_post("http://127.0.0.1:9100/punchout/checkout/4").as_bytes(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = handle_setup(
        &local,
        with_form_post("http://buyer.example/return").as_bytes(),
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
}

#[tokio::test]
async fn an_overlong_id_in_a_page_form_or_open_buy_call_names_nothing_and_costs_no_500() {
    // The fake refuses over-long DynamoDB keys as DynamoDB does (a 500 if they were looked up).
    let world = FakeWorld::demo().await;
    let long = "p".repeat(3000);
    let token = support::open_session(&world, &Setup::coupa()).await;
    let page = support::get(
        &world,
        &format!("/catalog/products/{long}"),
        &[("token", &token)],
    )
    .await;
    assert_eq!(page.status, 404, "{}", page.body);
    let reply = support::request_approval(&world, &token, &long).await;
    assert_eq!(reply.status, 404, "{}", reply.body);
    let reply = support::post(
        &world,
        "/catalog/subscribe",
        &[("product_id", long.as_str())],
    )
    .await;
    assert_eq!(reply.status, 404, "{}", reply.body);
    // Open Buy: an overlong credential is a wrong one (401), an overlong part number a 400.
    let open_buy = |action: &str, token: Option<&str>, body: serde_json::Value| {
        let mut event = procurement_web::testing::api_gateway_event(
            "POST",
            &format!("/openbuy/{action}/v1.0.0"),
            "",
            "application/json",
            Some(&body.to_string()),
            None,
        );
        if let Some(token) = token {
            event["headers"]["authorization"] = format!("Bearer {token}").into();
        }
        let app = support::setup_app(&world);
        async move { procurement_web::testing::send_event(&app, &event).await }
    };
    let reply = open_buy(
        "authentication",
        None,
        serde_json::json!({"credentials": format!("DUNS/{long}:secret"), "email": "a@b.example"}),
    )
    .await;
    assert_eq!(reply.status, 401, "{}", reply.body);
    let reply = open_buy(
        "authentication",
        None,
        serde_json::json!({
            "credentials": format!("{}/{}:{}", demo::COUPA_DOMAIN, demo::COUPA_IDENTITY, demo::COUPA_SECRET),
            "email": "a@b.example"
        }),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let json: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    let bearer = json["token"].as_str().unwrap().to_string();
    let reply = open_buy(
        "detail",
        Some(&bearer),
        serde_json::json!({"source_part_num": long}),
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(reply.body.contains("source_part_num"), "{}", reply.body);
}
