//! The buyer's side of the wire: a local HTTP endpoint standing in for the procurement
//! system's BrowserFormPost (where carts arrive) and its invoice URL (`/invoices`). It records
//! every request; the invoice URL answers as told: 200, an error status, or not at all.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::Error;

/// Where invoices are posted; the modes below apply to this path only, so carts (posted by
/// the browser to any other path) always arrive.
pub const INVOICE_PATH: &str = "/invoices";

/// How the invoice URL answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuyerMode {
    /// A cXML Response with this status code (200, 401, 500, ...), and the same HTTP status.
    Status(u16),
    /// Accept the connection, never answer.
    Hang,
    /// Check each invoice as Coupa does ([`crate::coupa::CoupaInvoices`]) and answer as
    /// Coupa answers.
    Coupa,
}

/// One request the endpoint received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Received {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[derive(Default)]
struct State {
    mode: Mutex<Option<BuyerMode>>,
    received: Mutex<Vec<Received>>,
    arrived: Notify,
    coupa: Mutex<crate::coupa::CoupaInvoices>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub struct BuyerEndpoint {
    pub addr: SocketAddr,
    state: Arc<State>,
    server: tokio::task::JoinHandle<()>,
}

impl BuyerEndpoint {
    /// Listens on 127.0.0.1:`port` (0 picks a free port).
    pub async fn start(port: u16) -> Result<Self, Error> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State::default());
        let shared = state.clone();
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| answer(state.clone(), req));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self {
            addr,
            state,
            server,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// How the invoice URL answers from now on (carts are always accepted).
    pub fn set_mode(&self, mode: BuyerMode) {
        *lock(&self.state.mode) = Some(mode);
    }

    /// The Coupa stand-in behind [`BuyerMode::Coupa`]: its credentials, POs, what it took.
    pub fn coupa(&self) -> std::sync::MutexGuard<'_, crate::coupa::CoupaInvoices> {
        lock(&self.state.coupa)
    }

    pub fn received(&self) -> Vec<Received> {
        lock(&self.state.received).clone()
    }

    /// Waits until `count` requests have arrived in all, or `timeout` passes.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.state.arrived.notified();
            let seen = self.received();
            if seen.len() >= count {
                return seen;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.received();
            }
        }
    }

    /// The first request that satisfies `condition`, waiting for one until `timeout` passes.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        condition: impl Fn(&Received) -> bool,
    ) -> Option<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.state.arrived.notified();
            if let Some(found) = self.received().into_iter().find(|r| condition(r)) {
                return Some(found);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.received().into_iter().find(|r| condition(r));
            }
        }
    }
}

impl Drop for BuyerEndpoint {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn answer(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = match req.into_body().collect().await {
        Ok(collected) => collected.to_bytes().to_vec(),
        Err(_) => Vec::new(),
    };
    let mode = if path.starts_with(INVOICE_PATH) {
        lock(&state.mode).clone().unwrap_or(BuyerMode::Status(200))
    } else {
        BuyerMode::Status(200)
    };
    // Judged before it is recorded, so a test that sees the request sees its verdict too.
    let coupa = (mode == BuyerMode::Coupa)
        .then(|| lock(&state.coupa).receive(&String::from_utf8_lossy(&body)));
    lock(&state.received).push(Received {
        method,
        path: path.clone(),
        content_type,
        body,
    });
    state.arrived.notify_waiters();
    let (code, text) = match mode {
        BuyerMode::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            (500, String::new())
        }
        BuyerMode::Coupa => coupa.unwrap_or((500, "Unexpected server error.".into())),
        BuyerMode::Status(code) if code < 300 => (code, "OK".into()),
        BuyerMode::Status(code) => (code, "Refused by the buyer endpoint".into()),
    };
    let text = crate::procurement_system::esc(&text);
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE cXML SYSTEM \"http://xml.cxml.org/schemas/cXML/1.2.069/cXML.dtd\">\n<cXML payloadID=\"{}@buyer.local\" timestamp=\"2026-11-24T10:00:00+00:00\"><Response><Status code=\"{code}\" text=\"{text}\"/></Response></cXML>\n",
        std::process::id()
    );
    let mut response = Response::new(Full::new(Bytes::from(xml)));
    *response.status_mut() =
        hyper::StatusCode::from_u16(code).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    Ok(response)
}
