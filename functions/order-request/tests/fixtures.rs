//! Feeds every fixture in events/order-request to the handler, as API Gateway would.

use std::path::PathBuf;

use std::sync::Arc;

use procurement::fakes::FakeWorld;

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/order-request")
}

const EXPECTED: &[(&str, u16, &str)] = &[
    ("coupa-order-request.json", 200, "order PO-4711 received"),
    (
        "ariba-network-order-request.json",
        200,
        "order PO-ARIBA-1 received",
    ),
    (
        "missing-shared-secret.json",
        401,
        "credentials of this document are not accepted",
    ),
    (
        "setup-request-sent-to-order-url.json",
        501,
        "OrderRequest only",
    ),
    ("empty-body.json", 400, "empty"),
    // Refused with a 4xx, corrected and resent as an update of the same orderID: accepted.
    ("coupa-order-request-wrong-quantity.json", 400, "quantity"),
    (
        "coupa-order-request-corrected-resent-as-update.json",
        200,
        "order PO-4712 received",
    ),
];

async fn send(world: &FakeWorld, file: &str) -> (u16, String) {
    let raw = std::fs::read_to_string(events_dir().join(file)).unwrap();
    let request = lambda_http::request::from_str(&raw).unwrap_or_else(|e| panic!("{file}: {e}"));
    let app = order_request::app(Arc::new(world.deps.clone()));
    let reply = procurement_web::testing::send(&app, request).await;
    (reply.status, reply.body)
}

#[tokio::test]
async fn every_fixture_gets_its_answer() {
    let world = FakeWorld::demo().await;
    for (file, status, needle) in EXPECTED {
        let (got, body) = send(&world, file).await;
        assert_eq!(got, *status, "{file}: {body}");
        assert!(
            body.contains(needle),
            "{file}: expected {needle:?} in {body}"
        );
        cxml::parse(body.as_bytes()).unwrap_or_else(|e| panic!("{file}: answer is not cXML: {e}"));
    }
}

#[tokio::test]
async fn every_fixture_file_has_an_expectation() {
    for entry in std::fs::read_dir(events_dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        assert!(
            EXPECTED.iter().any(|(f, _, _)| *f == name),
            "no expectation for events/order-request/{name}"
        );
    }
}

#[tokio::test]
async fn the_same_order_sent_twice_gets_the_same_answer() {
    let world = FakeWorld::demo().await;
    let (first, _) = send(&world, "coupa-order-request.json").await;
    let (second, body) = send(&world, "coupa-order-request.json").await;
    assert_eq!((first, second), (200, 200), "{body}");
    assert!(body.contains("order PO-4711 received"));
}
