//! A stand-in for API Gateway's IAM authorizer in front of the admin API, for driving
//! `psi-admin` against the local stack: it checks each request's SigV4 signature against
//! known local credentials (`psi_admin::sign::verify`, recomputed with `aws-sigv4`), and
//! hands a request that passes to the punchout-setup function with the account of those
//! credentials in the event's IAM authorizer block, as API Gateway does for a signature it
//! accepted (`procurement_web::testing::api_gateway_event`). A request that does not pass
//! gets API Gateway's own 403 and reaches no function.
//!
//! It models only the signature check: which accounts may call the API at all is the
//! deployed API's resource policy (issue 14, point 1), not this stand-in's.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use crate::{Error, LocalStack};

/// The region the stand-in checks signatures for (`psi-admin --region`).
pub const REGION: &str = "us-east-1";

/// Credentials the stand-in knows, and the AWS account each belongs to.
#[derive(Debug, Clone)]
pub struct Signer {
    pub credentials: Credentials,
    pub account_id: String,
}

impl Signer {
    /// Static credentials for `account_id` (access key derived from it, so each is unique).
    pub fn for_account(account_id: &str) -> Self {
        Self {
            credentials: Credentials::new(
                format!("AKIALOCAL{account_id}"),
                format!("local-secret-key-of-{account_id}"),
                None,
                None,
                "e2e",
            ),
            account_id: account_id.into(),
        }
    }

    /// The environment `psi-admin` (or any SDK tool) reads these credentials from.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            (
                "AWS_ACCESS_KEY_ID",
                self.credentials.access_key_id().to_string(),
            ),
            (
                "AWS_SECRET_ACCESS_KEY",
                self.credentials.secret_access_key().to_string(),
            ),
        ];
        if let Some(token) = self.credentials.session_token() {
            env.push(("AWS_SESSION_TOKEN", token.to_string()));
        }
        env
    }
}

/// The running stand-in; it stops with the test's runtime.
pub struct AdminGateway {
    addr: SocketAddr,
}

impl AdminGateway {
    pub async fn start(stack: Arc<LocalStack>, signers: Vec<Signer>) -> Result<Self, Error> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let signers = Arc::new(signers);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (stack, signers) = (stack.clone(), signers.clone());
                tokio::spawn(async move {
                    let service =
                        service_fn(move |request| forward(stack.clone(), signers.clone(), request));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { addr })
    }

    /// What `psi-admin --endpoint` takes.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn answer(status: u16, headers: &Value, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::builder().status(status);
    if let Some(headers) = headers.as_object() {
        for (name, value) in headers {
            if let Some(value) = value.as_str() {
                response = response.header(name.as_str(), value);
            }
        }
    }
    response
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::from_static(b"{}"))))
}

async fn forward(
    stack: Arc<LocalStack>,
    signers: Arc<Vec<Signer>>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await?.to_bytes();
    let known: Vec<Credentials> = signers.iter().map(|s| s.credentials.clone()).collect();
    let verdict = psi_admin::sign::verify(
        parts.method.as_str(),
        &parts.uri.to_string(),
        &parts.headers,
        &body,
        REGION,
        &known,
        SystemTime::now(),
    );
    let json_headers = json!({"content-type": "application/json"});
    let credentials = match verdict {
        Ok(credentials) => credentials,
        Err(refused) => {
            let message = json!({"message": refused.message()}).to_string();
            return Ok(answer(403, &json_headers, message));
        }
    };
    let account = signers
        .iter()
        .find(|s| s.credentials.access_key_id() == credentials.access_key_id())
        .map(|s| s.account_id.clone());
    let content_type = parts
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let text = (!body.is_empty()).then(|| String::from_utf8_lossy(&body).into_owned());
    let event = procurement_web::testing::api_gateway_event(
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query().unwrap_or_default(),
        content_type,
        text.as_deref(),
        account.as_deref(),
    );
    match stack.invoke("punchout-setup", &event).await {
        Ok(out) => {
            let status = out["statusCode"].as_u64().unwrap_or(502) as u16;
            let body = out["body"].as_str().unwrap_or_default().to_string();
            Ok(answer(status, &out["headers"], body))
        }
        Err(e) => Ok(answer(
            502,
            &json_headers,
            json!({"message": format!("the function did not answer: {e}")}).to_string(),
        )),
    }
}

/// The `psi-admin` binary of this workspace, built now if it is not up to date (cargo's own
/// answer for where it is: `--message-format=json`).
pub fn psi_admin_binary() -> Result<std::path::PathBuf, Error> {
    static BUILT: std::sync::OnceLock<Result<std::path::PathBuf, String>> =
        std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let out = std::process::Command::new(cargo)
                .args([
                    "build",
                    "-q",
                    "-p",
                    "psi-admin",
                    "--bin",
                    "psi-admin",
                    "--message-format=json",
                ])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .output()
                .map_err(|e| format!("cargo build -p psi-admin: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "cargo build -p psi-admin: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .find_map(|m| m["executable"].as_str().map(std::path::PathBuf::from))
                .ok_or_else(|| "cargo build -p psi-admin named no executable".to_string())
        })
        .clone()
        .map_err(Into::into)
}

/// What one `psi-admin` run printed.
#[derive(Debug, Clone)]
pub struct ToolRun {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl ToolRun {
    /// The standard output as JSON (`--json`), or Null.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or(Value::Null)
    }
}

/// Runs `psi-admin` against `endpoint`, signing as `signer` and nothing else: no AWS variable
/// or file of the caller's environment reaches it.
pub async fn psi_admin(endpoint: &str, signer: &Signer, args: &[&str]) -> Result<ToolRun, Error> {
    let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    args.extend([
        "--endpoint".into(),
        endpoint.into(),
        "--region".into(),
        REGION.into(),
    ]);
    let env = signer.env();
    // std's process (in a blocking task): tokio's `process` feature would rebuild the SDK stack.
    tokio::task::spawn_blocking(move || {
        let mut command = std::process::Command::new(psi_admin_binary()?);
        for (name, _) in std::env::vars() {
            if name.starts_with("AWS_") || name == "PSI_ADMIN_ENDPOINT" {
                command.env_remove(name);
            }
        }
        command
            .args(&args)
            .envs(env)
            .env("AWS_CONFIG_FILE", "/nonexistent/psi-admin/config")
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/psi-admin/credentials",
            )
            .env("AWS_EC2_METADATA_DISABLED", "true");
        let out = command.output()?;
        Ok(ToolRun {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    })
    .await?
}
