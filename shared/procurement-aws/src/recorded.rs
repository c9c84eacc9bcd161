//! A DynamoDB client whose HTTP exchange is recorded and answered from a script, for testing the
//! adapter without moto (feature `test-util`): every request goes through the real SDK
//! (serialization, signing, error parsing), is recorded by operation with its JSON body, and
//! gets the next scripted answer, or `{}` (an empty success) when the script has run out
//! (or, for a recording [`RecordedDynamo::answered_by`] a responder, the responder's answer).
//!
//! Answers are what DynamoDB's JSON protocol sends: a 200 with the output document, or a 400
//! with the error's `__type` (ConditionalCheckFailedException, TransactionCanceledException
//! with its CancellationReasons, ...).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorFuture, SharedHttpConnector, http_client_fn,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use serde_json::{Value, json};

/// One request the SDK sent: the operation (from `X-Amz-Target`) and its JSON document.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub operation: String,
    pub body: Value,
}

/// What DynamoDB answers one request with.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    /// A success with this output document.
    pub fn ok(body: Value) -> Self {
        Self { status: 200, body }
    }

    /// A GetItem that found this item (attribute values in DynamoDB JSON).
    pub fn item(item: Value) -> Self {
        Self::ok(json!({ "Item": item }))
    }

    /// A Query (or Scan) page with these items, and the LastEvaluatedKey DynamoDB sends when
    /// more may follow.
    pub fn page(items: Vec<Value>, last_evaluated_key: Option<Value>) -> Self {
        let mut body = json!({ "Items": items, "Count": items.len() });
        if let Some(key) = last_evaluated_key {
            body["LastEvaluatedKey"] = key;
        }
        Self::ok(body)
    }

    /// An error of this type, as the JSON protocol reports it.
    pub fn error(type_name: &str, message: &str) -> Self {
        Self {
            status: 400,
            body: json!({
                "__type": format!("com.amazonaws.dynamodb.v20120810#{type_name}"),
                "message": message,
            }),
        }
    }

    /// A conditional write whose condition did not hold.
    pub fn condition_failed() -> Self {
        Self::error(
            "ConditionalCheckFailedException",
            "The conditional request failed",
        )
    }

    /// A transaction cancelled with these reason codes, one per step ("None",
    /// "ConditionalCheckFailed", "TransactionConflict", ...).
    pub fn cancelled(reasons: &[&str]) -> Self {
        let reasons: Vec<Value> = reasons.iter().map(|code| json!({"Code": code})).collect();
        Self {
            status: 400,
            body: json!({
                "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons",
                "CancellationReasons": reasons,
            }),
        }
    }

    /// The service failing (retryable by the SDK, so script it as often as the SDK retries).
    pub fn unavailable() -> Self {
        Self {
            status: 500,
            body: json!({
                "__type": "com.amazonaws.dynamodb.v20120810#InternalServerError",
                "message": "Internal server error",
            }),
        }
    }
}

/// What answers the requests no scripted answer is left for: a test's stand-in for the table.
#[derive(Clone)]
struct Responder(Arc<dyn Fn(&Call) -> Answer + Send + Sync>);

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Responder")
    }
}

#[derive(Debug, Default)]
struct Script {
    calls: Vec<Call>,
    answers: VecDeque<Answer>,
    responder: Option<Responder>,
}

/// The recording, shared by the client and the test.
#[derive(Debug, Clone, Default)]
pub struct RecordedDynamo {
    script: Arc<Mutex<Script>>,
}

impl RecordedDynamo {
    pub fn new() -> Self {
        Self::default()
    }

    /// A recording whose requests `respond` answers once the scripted answers are used up
    /// (instead of `{}`): a stand-in table, for tests that drive whole flows through the
    /// adapter and count what it sends.
    pub fn answered_by(respond: impl Fn(&Call) -> Answer + Send + Sync + 'static) -> Self {
        let recorded = Self::default();
        recorded.lock().responder = Some(Responder(Arc::new(respond)));
        recorded
    }

    /// Answers the next request not yet answered by earlier scripted answers.
    pub fn then(&self, answer: Answer) -> &Self {
        self.lock().answers.push_back(answer);
        self
    }

    /// Every request so far, oldest first.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// The operations so far, by name (GetItem, TransactWriteItems, ...).
    pub fn operations(&self) -> Vec<String> {
        self.calls().into_iter().map(|c| c.operation).collect()
    }

    /// How many scripted answers no request has taken yet.
    pub fn unanswered(&self) -> usize {
        self.lock().answers.len()
    }

    /// Forgets the requests recorded so far (the script stays).
    pub fn clear(&self) {
        self.lock().calls.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Script> {
        self.script.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A DynamoDB client whose requests this recording answers. The SDK's retries are off, so
    /// every call the adapter makes is one recorded request.
    pub fn client(&self) -> aws_sdk_dynamodb::Client {
        let connector = SharedHttpConnector::new(self.clone());
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
            .http_client(http_client_fn(move |_, _| connector.clone()))
            .build();
        aws_sdk_dynamodb::Client::from_conf(config)
    }
}

impl HttpConnector for RecordedDynamo {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let operation = request
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("")
            .to_string();
        let body = request
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or(Value::Null);
        let call = Call { operation, body };
        let (scripted, responder) = {
            let mut script = self.lock();
            script.calls.push(call.clone());
            (script.answers.pop_front(), script.responder.clone())
        };
        // The responder runs outside the lock: it may take its own.
        let answer = scripted
            .or_else(|| responder.map(|r| (r.0)(&call)))
            .unwrap_or_else(|| Answer::ok(json!({})));
        let status = StatusCode::try_from(answer.status)
            .unwrap_or_else(|_| StatusCode::try_from(500).expect("500 is a status code"));
        let mut response = HttpResponse::new(status, SdkBody::from(answer.body.to_string()));
        response
            .headers_mut()
            .insert("content-type", "application/x-amz-json-1.0");
        HttpConnectorFuture::ready(Ok(response))
    }
}
