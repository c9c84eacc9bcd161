//! The built `psi-admin` against a local HTTP server that checks each request's SigV4
//! signature as API Gateway's IAM authorizer does (recomputed with `aws-sigv4` from known
//! static credentials) and answers like the admin API: the requests each command sends, and
//! what it prints.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use aws_credential_types::Credentials;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

const REGION: &str = "eu-west-1";
const ADMIN_KEY: &str = "AKIDADMIN0000000000";
const ADMIN_SECRET: &str = "admin-secret-access-key";
const ADMIN_TOKEN: &str = "session-token-of-the-admin";
const MEMBER_KEY: &str = "AKIDMEMBER000000000";
const MEMBER_SECRET: &str = "member-secret-access-key";

/// What the server saw of one request that passed the signature check.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    query: String,
    body: Value,
    access_key: String,
}

#[derive(Default)]
struct State {
    settings: HashMap<String, Value>,
    seen: Vec<Seen>,
    /// Requests refused for their signature: (access key, API Gateway's message).
    refused: Vec<String>,
    secrets: u32,
}

struct FakeApi {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

fn known() -> Vec<Credentials> {
    vec![
        Credentials::new(
            ADMIN_KEY,
            ADMIN_SECRET,
            Some(ADMIN_TOKEN.into()),
            None,
            "test",
        ),
        Credentials::new(MEMBER_KEY, MEMBER_SECRET, None, None, "test"),
    ]
}

fn reply(status: u16, body: Value) -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn error(status: u16, message: &str) -> hyper::Response<Full<Bytes>> {
    reply(
        status,
        json!({"error": {"status": status, "message": message}}),
    )
}

/// The admin API's answer document (a few of its purchase-information fields).
fn document(org: &str, settings: &Value, secret: Option<String>) -> Value {
    let mut info = json!({
        "punchout_setup_url": "https://api.example/punchout/setup",
        "order_url": "https://api.example/order",
        "supplier_domain": "DUNS", "supplier_identity": "marketplace",
        "buyer_domain": settings["buyer_domain"], "buyer_identity": settings["buyer_identity"],
        "sender_domain": settings["buyer_domain"], "sender_identity": settings["buyer_identity"],
    });
    if let Some(secret) = secret {
        info["shared_secret"] = json!(secret);
        info["shared_secret_notice"] = json!("shown this once and not stored");
    }
    json!({"org_id": org, "settings": settings, "updated_at": "2026-12-03T09:00:00Z",
           "purchase_information": info})
}

/// The admin API's routes, as `shared/procurement-web/src/admin.rs` answers them, on a map.
fn answer(state: &mut State, seen: &Seen, stage: &str) -> hyper::Response<Full<Bytes>> {
    let Some(rest) = seen.path.strip_prefix(&format!("{stage}/admin/orgs/")) else {
        return error(404, "no route");
    };
    let (org, route) = rest.split_once('/').unwrap_or((rest, ""));
    let writes = seen.method != "GET";
    if writes && seen.access_key == MEMBER_KEY {
        return error(
            403,
            &format!(
                "only the management account 111111111111 of organisation {org} may change its procurement integration; account 222222222222 may only read it"
            ),
        );
    }
    match (seen.method.as_str(), route) {
        ("GET", "integration") => match state.settings.get(org) {
            Some(s) => reply(200, document(org, s, None)),
            None => error(
                404,
                &format!("organisation {org} has no procurement integration yet"),
            ),
        },
        ("PUT", "integration") => {
            let mut settings = seen.body.clone();
            if settings["invoice_url"]
                .as_str()
                .is_some_and(|u| !u.starts_with("https://"))
            {
                return error(
                    400,
                    "field `invoice_url` must be an https:// URL with a host, not 'http://buyer.example/inv'",
                );
            }
            for (field, default) in [
                ("enabled", json!(true)),
                ("redirect", json!(false)),
                ("description", json!("")),
            ] {
                if settings.get(field).is_none() {
                    settings[field] = default;
                }
            }
            let created = !state.settings.contains_key(org);
            state.settings.insert(org.into(), settings.clone());
            let secret = created.then(|| {
                state.secrets += 1;
                format!("{:064x}", state.secrets)
            });
            reply(
                if created { 201 } else { 200 },
                document(org, &settings, secret),
            )
        }
        ("POST", "integration/secret") => {
            let Some(settings) = state.settings.get(org).cloned() else {
                return error(404, "no integration");
            };
            state.secrets += 1;
            reply(
                200,
                document(org, &settings, Some(format!("{:064x}", state.secrets))),
            )
        }
        ("GET", "integration/messages") => {
            let before = form_urlencoded::parse(seen.query.as_bytes())
                .find(|(k, _)| k == "before")
                .map(|(_, v)| v.into_owned());
            let message = |payload: &str, kind: &str| {
                json!({"at": "2026-12-03T09:00:00Z",
                "direction": "in", "message_type": kind, "payload_id": payload,
                "order_id": null, "status_code": 200, "status_text": "OK", "document": "<cXML/>"})
            };
            match before.as_deref() {
                None => reply(
                    200,
                    json!({"messages": [message("p2@buyer", "OrderRequest")], "next": "cursor 1"}),
                ),
                Some("cursor 1") => reply(
                    200,
                    json!({"messages": [message("p1@buyer", "PunchOutSetupRequest")], "next": null}),
                ),
                Some(other) => error(400, &format!("unknown cursor {other}")),
            }
        }
        _ => error(405, "method not allowed"),
    }
}

impl FakeApi {
    /// Serves on a free loopback port; `stage` is a path prefix such as a REST API's `/prod`.
    async fn start(stage: &'static str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: hyper::Request<Incoming>| {
                        let state = state.clone();
                        async move {
                            let (parts, body) = request.into_parts();
                            let bytes = body.collect().await?.to_bytes();
                            let uri = parts.uri.to_string();
                            let known = known();
                            let verdict = psi_admin::sign::verify(
                                parts.method.as_str(),
                                &uri,
                                &parts.headers,
                                &bytes,
                                REGION,
                                &known,
                                SystemTime::now(),
                            );
                            let mut state = state.lock().unwrap();
                            let response = match verdict {
                                Err(refused) => {
                                    state.refused.push(refused.message());
                                    reply(403, json!({"message": refused.message()}))
                                }
                                Ok(credentials) => {
                                    let seen = Seen {
                                        method: parts.method.to_string(),
                                        path: parts.uri.path().to_string(),
                                        query: parts.uri.query().unwrap_or_default().to_string(),
                                        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                                        access_key: credentials.access_key_id().to_string(),
                                    };
                                    state.seen.push(seen.clone());
                                    answer(&mut state, &seen, stage)
                                }
                            };
                            Ok::<_, hyper::Error>(response)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, state }
    }

    fn endpoint(&self, stage: &str) -> String {
        format!("http://{}{stage}", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    fn refused(&self) -> Vec<String> {
        self.state.lock().unwrap().refused.clone()
    }
}

/// Runs the built binary with only the given credentials in its environment.
async fn psi_admin(
    endpoint: String,
    credentials: (&str, &str, Option<&str>),
    args: &[&str],
) -> Output {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let (key, secret, token) = (
        credentials.0.to_string(),
        credentials.1.to_string(),
        credentials.2.map(str::to_string),
    );
    tokio::task::spawn_blocking(move || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_psi-admin"));
        for (name, _) in std::env::vars() {
            if name.starts_with("AWS_") || name == "PSI_ADMIN_ENDPOINT" {
                command.env_remove(name);
            }
        }
        command
            .args(&args)
            .env("PSI_ADMIN_ENDPOINT", endpoint)
            .env("AWS_ACCESS_KEY_ID", key)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .env("AWS_REGION", REGION)
            .env("AWS_CONFIG_FILE", "/nonexistent/psi-admin-test/config")
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/psi-admin-test/credentials",
            )
            .env("AWS_EC2_METADATA_DISABLED", "true");
        if let Some(token) = token {
            command.env("AWS_SESSION_TOKEN", token);
        }
        command.output().unwrap()
    })
    .await
    .unwrap()
}

const ADMIN: (&str, &str, Option<&str>) = (ADMIN_KEY, ADMIN_SECRET, Some(ADMIN_TOKEN));
const MEMBER: (&str, &str, Option<&str>) = (MEMBER_KEY, MEMBER_SECRET, None);

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn every_command_sends_a_signed_request_the_api_takes() {
    let stage = "/prod";
    let api = FakeApi::start(stage).await;
    let endpoint = api.endpoint(stage);

    let out = psi_admin(
        endpoint.clone(),
        ADMIN,
        &[
            "create",
            "acme",
            "--system",
            "coupa",
            "--name",
            "Acme Coupa",
            "--buyer-domain",
            "DUNS",
            "--buyer-identity",
            "acme",
            "--payment-term-days",
            "45",
        ],
    )
    .await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(api.refused().is_empty(), "{:?}", api.refused());
    let seen = api.seen();
    assert_eq!(
        seen.iter()
            .map(|s| (s.method.as_str(), s.path.as_str()))
            .collect::<Vec<_>>(),
        [
            ("GET", "/prod/admin/orgs/acme/integration"),
            ("PUT", "/prod/admin/orgs/acme/integration")
        ]
    );
    assert!(seen.iter().all(|s| s.access_key == ADMIN_KEY));
    assert_eq!(
        seen[1].body,
        json!({"system": "coupa", "test_mode": true, "name": "Acme Coupa", "buyer_domain": "DUNS",
               "buyer_identity": "acme", "invoicing": {"payment_term_days": 45}})
    );
    assert!(stdout.contains("in test mode"), "{stdout}");
    assert!(
        stdout.contains(&format!("{:064x}", 1)),
        "the new secret is shown: {stdout}"
    );
    assert!(
        stdout.contains("-> punchout site: Secret; supplier record: Shared Secret"),
        "{stdout}"
    );

    // A second create is refused without writing.
    let out = psi_admin(
        endpoint.clone(),
        ADMIN,
        &["create", "acme", "--system", "coupa", "--name", "X"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains("already has an integration"),
        "{}",
        text(&out).1
    );
    assert_eq!(api.seen().len(), 3);

    // update: only the flags given change.
    let out = psi_admin(
        endpoint.clone(),
        ADMIN,
        &[
            "update",
            "acme",
            "--test-mode",
            "off",
            "--invoice-url",
            "https://acme.example/inv",
        ],
    )
    .await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let put = api.seen().pop().unwrap();
    assert_eq!(put.method, "PUT");
    assert_eq!(
        put.body,
        json!({"system": "coupa", "test_mode": false, "name": "Acme Coupa", "buyer_domain": "DUNS",
               "buyer_identity": "acme", "invoicing": {"payment_term_days": 45},
               "enabled": true, "redirect": false, "description": "",
               "invoice_url": "https://acme.example/inv"})
    );
    assert!(
        stdout.contains("test_mode = false")
            && stdout.contains("invoice_url = https://acme.example/inv"),
        "{stdout}"
    );

    // disable and enable: `enabled` alone changes.
    let out = psi_admin(endpoint.clone(), ADMIN, &["disable", "acme"]).await;
    assert!(out.status.success(), "{}", text(&out).1);
    let put = api.seen().pop().unwrap();
    let mut expected = json!({"system": "coupa", "test_mode": false, "name": "Acme Coupa", "buyer_domain": "DUNS",
        "buyer_identity": "acme", "invoicing": {"payment_term_days": 45}, "enabled": false,
        "redirect": false, "description": "", "invoice_url": "https://acme.example/inv"});
    assert_eq!(put.body, expected);
    assert!(text(&out).0.contains("settings and secret are kept"));
    let writes = api.seen().len();
    let out = psi_admin(endpoint.clone(), ADMIN, &["disable", "acme"]).await;
    assert!(text(&out).0.contains("already disabled"));
    assert_eq!(api.seen().len(), writes + 1, "a GET, no second PUT");
    let out = psi_admin(endpoint.clone(), ADMIN, &["enable", "acme"]).await;
    assert!(out.status.success());
    expected["enabled"] = json!(true);
    assert_eq!(api.seen().pop().unwrap().body, expected);

    // rotate-secret: POST, the new secret printed once with where it goes.
    let out = psi_admin(
        endpoint.clone(),
        ADMIN,
        &["rotate-secret", "acme", "--instance", "test"],
    )
    .await;
    let (stdout, _) = text(&out);
    let post = api.seen().pop().unwrap();
    assert_eq!(
        (
            post.method.as_str(),
            post.path.as_str(),
            post.query.as_str()
        ),
        (
            "POST",
            "/prod/admin/orgs/acme/integration/secret",
            "instance=test"
        )
    );
    assert!(stdout.contains(&format!("{:064x}", 2)), "{stdout}");

    // purchase-info --json: the object for scripts.
    let out = psi_admin(
        endpoint.clone(),
        MEMBER,
        &["purchase-info", "acme", "--json"],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out).1);
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        info["punchout_setup_url"],
        "https://api.example/punchout/setup"
    );
    assert_eq!(api.seen().pop().unwrap().access_key, MEMBER_KEY);

    // messages --all follows the cursor (URL-encoded in the signed query).
    let out = psi_admin(
        endpoint.clone(),
        MEMBER,
        &["messages", "acme", "--all", "--limit", "1"],
    )
    .await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let pages: Vec<String> = api
        .seen()
        .iter()
        .rev()
        .take(2)
        .map(|s| s.query.clone())
        .collect();
    assert_eq!(pages, ["limit=1&before=cursor+1", "limit=1"]);
    assert!(
        stdout.contains("p2@buyer") && stdout.contains("p1@buyer"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("--before"),
        "the last page has no next: {stdout}"
    );
    assert!(api.refused().is_empty(), "{:?}", api.refused());
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_exit_non_zero_and_say_why() {
    let api = FakeApi::start("").await;
    let endpoint = api.endpoint("");
    let out = psi_admin(
        endpoint.clone(),
        ADMIN,
        &[
            "create",
            "acme",
            "--system",
            "coupa",
            "--name",
            "A",
            "--buyer-domain",
            "DUNS",
            "--buyer-identity",
            "a",
            "--invoice-url",
            "http://buyer.example/inv",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let (_, stderr) = text(&out);
    assert!(stderr.contains("(400); field invoice_url:"), "{stderr}");

    let out = psi_admin(
        endpoint.clone(),
        ADMIN,
        &[
            "create",
            "acme",
            "--system",
            "coupa",
            "--name",
            "A",
            "--buyer-domain",
            "DUNS",
            "--buyer-identity",
            "a",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out).1);

    let out = psi_admin(
        endpoint.clone(),
        MEMBER,
        &["update", "acme", "--name", "B", "--json"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let error: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(error["error"]["status"], 403);
    let out = psi_admin(endpoint.clone(), MEMBER, &["disable", "acme"]).await;
    assert!(
        text(&out)
            .1
            .contains("may not administer organisation acme (403)"),
        "{}",
        text(&out).1
    );

    // A wrong secret key: the signature does not match, and nothing is carried out.
    let before = api.seen().len();
    let out = psi_admin(
        endpoint.clone(),
        (ADMIN_KEY, "not-the-secret", Some(ADMIN_TOKEN)),
        &["show", "acme"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out)
            .1
            .contains("signature we calculated does not match"),
        "{}",
        text(&out).1
    );
    assert_eq!(api.seen().len(), before);
    assert_eq!(api.refused().len(), 1);

    // Nothing listening: the error names the endpoint.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let out = psi_admin(closed.clone(), ADMIN, &["show", "acme"]).await;
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out)
            .1
            .contains(&format!("could not reach the admin API at {closed}")),
        "{}",
        text(&out).1
    );
}
