//! Feeds every fixture in events/punchout-setup to the punchout-setup function and every one in
//! events/admin-api to the admin-api function, as API Gateway would (HTTP API payload 2.0 and
//! REST API payload 1.0).

use std::path::PathBuf;

use std::sync::Arc;

use procurement::demo;
use procurement::fakes::FakeWorld;
use procurement_web::testing::{Reply, send};

/// The function's app on the fake world, fed one Lambda event (a fixture file's text).
async fn handle(world: &FakeWorld, raw: &str) -> Reply {
    let app = punchout_setup::app(Arc::new(world.deps.clone()));
    let request = lambda_http::request::from_str(raw).unwrap_or_else(|e| panic!("{e}: {raw}"));
    send(&app, request).await
}

/// The admin-api function's app on the fake world, fed one REST API event.
async fn handle_admin(world: &FakeWorld, raw: &str) -> Reply {
    let app = punchout_setup::admin_app(Arc::new(world.deps.clone()));
    let request = lambda_http::request::from_str(raw).unwrap_or_else(|e| panic!("{e}: {raw}"));
    send(&app, request).await
}

/// The demo world as the local stack runs it (its own URL on 127.0.0.1), where the fixtures
/// are invoked (README, "Local invoke"): their carts go back to the stand-in buyer over http.
async fn local_demo() -> FakeWorld {
    let mut world = FakeWorld::demo().await;
    world.deps.config.public_base_url = "http://127.0.0.1:9000".into();
    world
}

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/punchout-setup")
}

fn admin_events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/admin-api")
}

const NOT_ACCEPTED: &str = "credentials of this document are not accepted";

/// (fixture, HTTP status, text the body must contain)
const EXPECTED: &[(&str, u16, &str)] = &[
    ("coupa-setup-request.json", 200, "<StartPage>"),
    (
        "coupa-setup-request-ruby-timestamp.json",
        200,
        "<StartPage>",
    ),
    // As the SAP Ariba Network forwards them: the Network's Sender and secret for every buyer.
    ("ariba-network-setup-request.json", 200, "<StartPage>"),
    (
        "ariba-network-setup-request-selected-item.json",
        200,
        "/punchout/start?token=",
    ),
    (
        "ariba-network-setup-request-test-anid.json",
        200,
        "<StartPage>",
    ),
    ("ariba-network-wrong-secret.json", 401, NOT_ACCEPTED),
    ("ariba-network-unknown-buyer.json", 401, NOT_ACCEPTED),
    // Edit and inspect re-open the cart of the seeded quote-0001.
    ("coupa-edit-setup-request.json", 200, "<StartPage>"),
    ("coupa-inspect-setup-request.json", 200, "<StartPage>"),
    (
        "coupa-profile-request.json",
        200,
        "requestName=\"OrderRequest\"",
    ),
    // One answer to every credential failure: which part was wrong is in the log only.
    ("wrong-shared-secret.json", 401, NOT_ACCEPTED),
    ("unknown-sender.json", 401, NOT_ACCEPTED),
    ("malformed-xml.json", 400, "malformed XML"),
    ("billion-laughs.json", 400, "declares entities"),
    ("order-sent-to-setup-url.json", 501, "code=\"450\""),
    ("start-page-unknown-token.json", 403, "expired"),
    // Coupa Open Buy: authentication first, so the others get its token for OPENBUY_TOKEN.
    ("openbuy-authentication.json", 200, "\"token\""),
    (
        "openbuy-authentication-wrong-secret.json",
        401,
        "unauthorized",
    ),
    (
        "openbuy-authentication-missing-credentials.json",
        400,
        "missing field `credentials`",
    ),
    (
        "openbuy-search.json",
        200,
        "\"source_part_num\":\"prod-saas-upfront\"",
    ),
    ("openbuy-search-unknown-token.json", 401, "unauthorized"),
    ("openbuy-detail.json", 200, "\"lines\""),
    (
        "openbuy-checkout.json",
        200,
        "\"supplier_part_id\":\"prod-saas-private\"",
    ),
    (
        "request-approval-expired-session.json",
        403,
        "Session expired",
    ),
];

/// (fixture in events/admin-api, HTTP status, text the body must contain), in this order.
const ADMIN_EXPECTED: &[(&str, u16, &str)] = &[
    (
        "admin-get-integration.json",
        200,
        "\"purchase_information\"",
    ),
    (
        "admin-put-integration-member-account.json",
        403,
        "may only read it",
    ),
    (
        "admin-put-integration-http-invoice-url.json",
        400,
        "field `invoice_url` must be an https:// URL",
    ),
    (
        "admin-put-integration-invoicing-bad-tax-rate.json",
        400,
        "field `invoicing.tax.rate_percent` must be a percentage from 0 to 100",
    ),
    // These change the demo world, so they come last: the settings, then a new secret.
    (
        "admin-put-integration-invoicing.json",
        200,
        "\"payment_term_code\":\"Net 45\"",
    ),
    (
        "admin-put-integration.json",
        200,
        "\"name\":\"Demo buyer on Coupa\"",
    ),
    ("admin-rotate-secret.json", 200, "\"shared_secret\""),
];

#[tokio::test]
async fn every_fixture_gets_its_answer() {
    let world = local_demo().await;
    // The Open Buy token the authentication fixture got (tokens are short-lived, so the
    // fixtures hold a placeholder).
    let mut open_buy_token = None;
    for (file, status, needle) in EXPECTED {
        let mut raw = std::fs::read_to_string(events_dir().join(file)).unwrap();
        if raw.contains("OPENBUY_TOKEN") {
            let token: &String = open_buy_token.as_ref().expect("authentication comes first");
            raw = raw.replace("OPENBUY_TOKEN", token);
        }
        let reply = handle(&world, &raw).await;
        let body = reply.body;
        if *file == "openbuy-authentication.json" && reply.status == 200 {
            let json: serde_json::Value = serde_json::from_str(&body).unwrap();
            open_buy_token = json["token"].as_str().map(str::to_string);
        }
        assert_eq!(reply.status, *status, "{file}: {body}");
        assert!(
            body.contains(needle),
            "{file}: expected {needle:?} in {body}"
        );
        if body.starts_with("<?xml") {
            let doc = cxml::parse(body.as_bytes())
                .unwrap_or_else(|e| panic!("{file}: answer unreadable: {e}"));
            let status_code = doc.response_status().map(|s| s.code).unwrap();
            assert_eq!(
                procurement_web::cxml_surface::status_for(status_code).as_u16(),
                *status,
                "{file}"
            );
        }
    }
}

#[tokio::test]
async fn every_admin_fixture_gets_its_answer() {
    let world = FakeWorld::demo().await;
    for (file, status, needle) in ADMIN_EXPECTED {
        let raw = std::fs::read_to_string(admin_events_dir().join(file)).unwrap();
        let reply = handle_admin(&world, &raw).await;
        assert_eq!(reply.status, *status, "{file}: {}", reply.body);
        assert!(
            reply.body.contains(needle),
            "{file}: expected {needle:?} in {}",
            reply.body
        );
    }
}

#[tokio::test]
async fn every_admin_fixture_file_has_an_expectation() {
    for entry in std::fs::read_dir(admin_events_dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        assert!(
            ADMIN_EXPECTED.iter().any(|(f, _, _)| *f == name),
            "no expectation for events/admin-api/{name}"
        );
    }
}

#[tokio::test]
async fn every_fixture_file_has_an_expectation() {
    for entry in std::fs::read_dir(events_dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        assert!(
            EXPECTED.iter().any(|(f, _, _)| *f == name),
            "no expectation for events/punchout-setup/{name}"
        );
    }
}

/// The admin GET, signed by the Coupa organisation's management account, shows the settings
/// and what to paste into Coupa, and neither the shared secret nor its digest.
#[tokio::test]
async fn admin_get_shows_the_settings_and_never_the_secret() {
    let world = local_demo().await;
    let raw =
        std::fs::read_to_string(admin_events_dir().join("admin-get-integration.json")).unwrap();
    let reply = handle_admin(&world, &raw).await;
    let body = reply.body;
    assert_eq!(reply.status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["org_id"], demo::COUPA_ORG);
    assert_eq!(json["settings"]["system"], "coupa");
    assert_eq!(
        json["purchase_information"]["buyer_identity"],
        demo::COUPA_IDENTITY
    );
    let digest = cxml::SecretDigest::of(demo::COUPA_SECRET).to_hex();
    for secret in [
        demo::COUPA_SECRET,
        digest.as_str(),
        "shared_secret",
        "secret_digest",
    ] {
        assert!(!body.contains(secret), "{secret:?} in {body}");
    }

    // Without the caller's account in the REST API's identity (an unsigned call) the same
    // request gets 401.
    let mut unsigned: serde_json::Value = serde_json::from_str(&raw).unwrap();
    unsigned["requestContext"]["identity"]
        .as_object_mut()
        .unwrap()
        .remove("accountId");
    assert_eq!(
        handle_admin(&world, &unsigned.to_string()).await.status,
        401
    );
}

#[tokio::test]
async fn start_page_opens_the_session_the_setup_request_made() {
    let world = local_demo().await;
    let raw = std::fs::read_to_string(events_dir().join("coupa-setup-request.json")).unwrap();
    let reply = handle(&world, &raw).await;
    let doc = cxml::parse(reply.body.as_bytes()).unwrap();
    let Some(cxml::Body::Response(cxml::Response {
        payload: Some(cxml::ResponsePayload::PunchOutSetup(setup)),
        ..
    })) = Some(doc.body)
    else {
        panic!("not a PunchOutSetupResponse");
    };
    let token = setup.start_page_url.split("token=").nth(1).unwrap();
    // 256 random bits in hex, then the organisation.
    assert_eq!(token.as_bytes().get(64), Some(&b'.'), "{token}");
    let session = procurement::punchout::open_visit(&world.deps, token)
        .await
        .expect("session stored")
        .session;
    assert_eq!(session.buyer_cookie, "c64af92dc27e68172e030d3dfd1bc944");
    assert_eq!(
        session.requester_email.as_deref(),
        Some("jim.halpert@buyer.example")
    );
    assert_eq!(session.requester_name.as_deref(), Some("Jim Halpert"));
    assert!(session.test, "the demo integration is in test mode");

    let mut start: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(events_dir().join("start-page-unknown-token.json")).unwrap(),
    )
    .unwrap();
    start["rawQueryString"] = format!("token={token}").into();
    start["queryStringParameters"]["token"] = token.into();
    let page = handle(&world, &start.to_string()).await;
    let html = page.body;
    assert_eq!(page.status, 200, "{html}");
    assert!(
        html.contains("Ledgerly Analytics") && html.contains("Test mode"),
        "{html}"
    );

    // Request approval, as the browser posts the form through API Gateway.
    let mut post = start.clone();
    post["routeKey"] = "ANY /catalog/{proxy+}".into();
    post["rawPath"] = "/catalog/request-approval".into();
    post["rawQueryString"] = "".into();
    post.as_object_mut()
        .unwrap()
        .remove("queryStringParameters");
    post["requestContext"]["http"]["method"] = "POST".into();
    post["requestContext"]["http"]["path"] = "/catalog/request-approval".into();
    post["headers"]["content-type"] = "application/x-www-form-urlencoded".into();
    post["body"] = format!("token={token}&product_id=prod-saas-upfront").into();
    let page = handle(&world, &post.to_string()).await;
    let html = page.body;
    assert_eq!(page.status, 200, "{html}");
    assert!(
        html.contains("name=\"cxml-urlencoded\"") && html.contains("Return the cart to Coupa"),
        "{html}"
    );
}
