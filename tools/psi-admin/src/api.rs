//! The admin API as the tool calls it: the requests of each action, the settings documents it
//! PUTs, and what a refusal means (`shared/procurement-web/src/admin.rs` and `json.rs`).

use procurement::paths;
use serde_json::{Value, json};

use crate::cli::Instance;
use crate::fields::{self, Change};

/// One request to the admin API; `path` (with its query) is relative to the endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: &'static str,
    pub path: String,
    pub body: Option<Value>,
    /// The organisation it is about, for the error texts.
    pub org: String,
}

/// `GET .../integration`: the settings and the purchase information (never a secret).
pub fn read(org: &str) -> Request {
    Request {
        method: "GET",
        path: paths::admin_integration(org),
        body: None,
        org: org.into(),
    }
}

/// `PUT .../integration`: creates (201, new secret shown once) or replaces the settings.
pub fn save(org: &str, document: Value) -> Request {
    Request {
        method: "PUT",
        path: paths::admin_integration(org),
        body: Some(document),
        org: org.into(),
    }
}

/// `POST .../integration/secret[?instance=test|production]`.
pub fn rotate(org: &str, instance: Option<Instance>) -> Request {
    let query = match instance {
        None => "",
        Some(Instance::Production) => "?instance=production",
        Some(Instance::Test) => "?instance=test",
    };
    Request {
        method: "POST",
        path: format!("{}{query}", paths::admin_secret(org)),
        body: None,
        org: org.into(),
    }
}

/// `GET .../integration/messages[?limit=&before=]`: one page of the message log, newest first.
pub fn messages(org: &str, limit: Option<u32>, before: Option<&str>) -> Request {
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(limit) = limit {
        query.append_pair("limit", &limit.to_string());
    }
    if let Some(before) = before {
        query.append_pair("before", before);
    }
    let query = query.finish();
    let separator = if query.is_empty() { "" } else { "?" };
    Request {
        method: "GET",
        path: format!(
            "{}/messages{separator}{query}",
            paths::admin_integration(org)
        ),
        body: None,
        org: org.into(),
    }
}

/// A new integration's document: the seeds' defaults (test mode on: it protects the buyer
/// until they are ready; everything else the API's defaults), then the flags.
pub fn create_document(system: &str, changes: &[Change]) -> Value {
    let mut document = json!({"system": system, "test_mode": true});
    fields::apply(&mut document, changes);
    document
}

/// The current settings (a GET's `settings`, which the API takes back as they are) with
/// only the flags' changes applied.
pub fn update_document(current: &Value, changes: &[Change]) -> Result<Value, Failure> {
    let mut document = current
        .get("settings")
        .filter(|s| s.is_object())
        .cloned()
        .ok_or_else(|| Failure::Answer("the API's answer has no `settings` object".into()))?;
    fields::apply(&mut document, changes);
    Ok(document)
}

/// The settings fields (dotted paths) whose values differ between two documents.
pub fn changed_fields(old: &Value, new: &Value) -> Vec<String> {
    fn walk(prefix: &str, old: Option<&Value>, new: Option<&Value>, out: &mut Vec<String>) {
        match (old, new) {
            (Some(Value::Object(a)), Some(Value::Object(b))) => {
                let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
                keys.sort();
                keys.dedup();
                for key in keys {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    walk(&path, a.get(key), b.get(key), out);
                }
            }
            (a, b) => {
                let absent = |v: Option<&Value>| v.is_none_or(Value::is_null);
                if !(absent(a) && absent(b)) && a != b {
                    out.push(prefix.to_string());
                }
            }
        }
    }
    let mut out = Vec::new();
    walk("", Some(old), Some(new), &mut out);
    out
}

/// Why a command did not do what it was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Bad arguments or configuration (exit code 2).
    Usage(String),
    /// No AWS credentials to sign with (exit code 3).
    Credentials(String),
    /// The API could not be reached or did not answer (exit code 3).
    Connection { endpoint: String, detail: String },
    /// The API answered with an error status (exit code 1).
    Api {
        status: u16,
        message: String,
        /// The settings fields the message names (`field \`x\``), for a 400.
        fields: Vec<String>,
        org: String,
    },
    /// An answer the tool cannot read (exit code 1).
    Answer(String),
    /// The integration is not in the state the command needs (exit code 1).
    State(String),
}

impl Failure {
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Api { .. } | Self::Answer(_) | Self::State(_) => 1,
            Self::Usage(_) => 2,
            Self::Credentials(_) | Self::Connection { .. } => 3,
        }
    }

    /// The refusal of an error answer: the admin API's `{"error": {"status", "message"}}`,
    /// or API Gateway's own `{"message": ...}` (`Message` for some IAM denials).
    pub fn of_answer(status: u16, body: &str, org: &str) -> Self {
        let json: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        let message = [
            &json["error"]["message"],
            &json["message"],
            &json["Message"],
        ]
        .into_iter()
        .find_map(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| {
            let text = body.trim();
            if text.is_empty() {
                "(no message)".into()
            } else {
                text.chars().take(500).collect()
            }
        });
        let fields = if status == 400 {
            backticked(&message)
        } else {
            Vec::new()
        };
        Self::Api {
            status,
            message,
            fields,
            org: org.into(),
        }
    }

    /// The error as `--json` prints it.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Api {
                status,
                message,
                fields,
                org,
            } => {
                json!({"error": {"status": status, "message": message, "fields": fields, "org_id": org}})
            }
            other => {
                json!({"error": {"message": other.to_string(), "exit_code": other.exit_code()}})
            }
        }
    }
}

/// The names the API's messages quote as `` `name` `` (each error names its field so).
fn backticked(message: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (i, part) in message.split('`').enumerate() {
        let is_name = !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        if i % 2 == 1 && is_name && !names.iter().any(|n| n == part) {
            names.push(part.to_string());
        }
    }
    names
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Usage(message) | Self::State(message) => write!(f, "{message}"),
            Self::Credentials(message) => write!(f, "no AWS credentials to sign with: {message}"),
            Self::Connection { endpoint, detail } => {
                write!(f, "could not reach the admin API at {endpoint}: {detail}")
            }
            Self::Answer(message) => write!(f, "unexpected answer from the admin API: {message}"),
            Self::Api {
                status,
                message,
                fields,
                org,
            } => match status {
                400 if !fields.is_empty() => write!(
                    f,
                    "the API refused the request (400); field{} {}: {message}",
                    if fields.len() == 1 { "" } else { "s" },
                    fields.join(", ")
                ),
                400 => write!(f, "the API refused the request (400): {message}"),
                401 => write!(
                    f,
                    "the API did not take the request as signed (401): {message}"
                ),
                403 => write!(
                    f,
                    "the signing AWS account may not administer organisation {org} (403): {message}"
                ),
                404 => write!(f, "not found (404): {message}"),
                409 => write!(f, "conflict (409): {message}"),
                _ => write!(f, "the API answered {status}: {message}"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_action_has_its_route() {
        assert_eq!(read("acme").path, "/admin/orgs/acme/integration");
        assert_eq!(read("acme").method, "GET");
        let put = save("acme", json!({"name": "x"}));
        assert_eq!(
            (put.method, put.path.as_str()),
            ("PUT", "/admin/orgs/acme/integration")
        );
        assert_eq!(
            rotate("acme", None).path,
            "/admin/orgs/acme/integration/secret"
        );
        assert_eq!(rotate("acme", None).method, "POST");
        assert_eq!(
            rotate("acme", Some(Instance::Test)).path,
            "/admin/orgs/acme/integration/secret?instance=test"
        );
        assert_eq!(
            messages("acme", None, None).path,
            "/admin/orgs/acme/integration/messages"
        );
        assert_eq!(
            messages("acme", Some(20), Some("a b&c")).path,
            "/admin/orgs/acme/integration/messages?limit=20&before=a+b%26c"
        );
    }

    #[test]
    fn create_starts_in_test_mode_and_update_keeps_what_is_not_given() {
        let doc = create_document("ariba", &[Change::Set(&["name"], json!("A"))]);
        assert_eq!(
            doc,
            json!({"system": "ariba", "test_mode": true, "name": "A"})
        );
        let off = create_document("coupa", &[Change::Set(&["test_mode"], json!(false))]);
        assert_eq!(off["test_mode"], false, "a flag beats the default");

        let current = json!({"org_id": "acme", "settings": {
            "system": "coupa", "name": "Acme", "test_mode": true, "enabled": true,
            "buyer_domain": "DUNS", "invoice_url": null, "invoicing": {"payment_term_days": 30}}});
        let updated = update_document(
            &current,
            &[
                Change::Set(&["test_mode"], json!(false)),
                Change::Set(&["invoicing", "payment_term_code"], json!("Net 30")),
            ],
        )
        .unwrap();
        assert_eq!(
            updated,
            json!({"system": "coupa", "name": "Acme", "test_mode": false, "enabled": true,
                   "buyer_domain": "DUNS", "invoice_url": null,
                   "invoicing": {"payment_term_days": 30, "payment_term_code": "Net 30"}})
        );
        assert_eq!(
            changed_fields(&current["settings"], &updated),
            ["invoicing.payment_term_code", "test_mode"]
        );
        assert!(matches!(
            update_document(&json!({"error": {}}), &[]),
            Err(Failure::Answer(_))
        ));
    }

    #[test]
    fn refusals_name_the_fields_the_account_and_the_endpoint() {
        let bad = Failure::of_answer(
            400,
            r#"{"error": {"status": 400, "message": "field `invoice_url` must be an https:// URL with a host, not 'http://x'"}}"#,
            "acme",
        );
        assert_eq!(bad.exit_code(), 1);
        let text = bad.to_string();
        assert!(
            text.starts_with(
                "the API refused the request (400); field invoice_url: field `invoice_url` must"
            ),
            "{text}"
        );
        assert_eq!(bad.to_json()["error"]["fields"], json!(["invoice_url"]));
        let two = Failure::of_answer(
            400,
            r#"{"error": {"message": "fields `invoicing.to_domain` and `invoicing.to_identity` go together"}}"#,
            "acme",
        );
        assert!(
            two.to_string()
                .contains("fields invoicing.to_domain, invoicing.to_identity:"),
            "{two}"
        );

        let forbidden = Failure::of_answer(
            403,
            r#"{"error": {"status": 403, "message": "account 444444444444 does not belong to organisation acme"}}"#,
            "acme",
        );
        assert!(forbidden.to_string().starts_with("the signing AWS account may not administer organisation acme (403): account 444444444444"), "{forbidden}");
        let gateway = Failure::of_answer(
            403,
            r#"{"message":"The request signature we calculated does not match"}"#,
            "acme",
        );
        assert!(
            gateway.to_string().contains("signature we calculated"),
            "{gateway}"
        );
        let html = Failure::of_answer(502, "<html>Bad gateway</html>", "acme");
        assert_eq!(
            html.to_string(),
            "the API answered 502: <html>Bad gateway</html>"
        );

        let unreachable = Failure::Connection {
            endpoint: "https://abc.execute-api.eu-west-1.amazonaws.com".into(),
            detail: "connection refused".into(),
        };
        assert_eq!(unreachable.exit_code(), 3);
        assert!(
            unreachable
                .to_string()
                .contains("https://abc.execute-api.eu-west-1.amazonaws.com")
        );
    }
}
