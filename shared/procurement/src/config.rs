//! Configuration from the environment variables `template.yaml` sets.

use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub table_name: String,
    pub invoice_queue_url: String,
    pub sender_email: String,
    /// Base URL of the HTTP API, without a trailing slash.
    pub public_base_url: String,
    /// The marketplace's own cXML credential (To on requests, From on what we send).
    pub supplier_domain: String,
    pub supplier_identity: String,
    /// How long a punchout session stays open.
    pub session_minutes: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration: environment variable {0} is not set")]
pub struct MissingVar(pub &'static str);

impl Config {
    pub fn from_env() -> Result<Self, MissingVar> {
        let vars: HashMap<String, String> = std::env::vars().collect();
        Self::from_map(&vars)
    }

    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self, MissingVar> {
        let get = |name: &'static str| -> Result<String, MissingVar> {
            vars.get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .ok_or(MissingVar(name))
        };
        let optional = |name: &str, default: &str| -> String {
            vars.get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_string())
        };
        Ok(Self {
            table_name: get("TABLE_NAME")?,
            invoice_queue_url: get("INVOICE_QUEUE_URL")?,
            sender_email: get("SENDER_EMAIL")?,
            public_base_url: get("PUBLIC_BASE_URL")?.trim_end_matches('/').to_string(),
            supplier_domain: optional("SUPPLIER_DOMAIN", "NetworkID"),
            supplier_identity: optional("SUPPLIER_IDENTITY", "marketplace"),
            session_minutes: optional("SESSION_MINUTES", "60").parse().unwrap_or(60),
        })
    }

    /// The host part of the public URL, used in payloadIDs.
    pub fn payload_host(&self) -> &str {
        let rest = self
            .public_base_url
            .split_once("://")
            .map(|(_, r)| r)
            .unwrap_or(&self.public_base_url);
        let host = rest.split(['/', ':']).next().unwrap_or("");
        if host.is_empty() {
            "marketplace.local"
        } else {
            host
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.public_base_url, path)
    }

    /// A configuration for tests and examples.
    pub fn example() -> Self {
        Self {
            table_name: "procurement".into(),
            invoice_queue_url: "https://sqs.us-east-1.amazonaws.com/000000000000/invoices".into(),
            sender_email: "no-reply@marketplace.example".into(),
            public_base_url: "https://api.marketplace.example".into(),
            supplier_domain: "NetworkID".into(),
            supplier_identity: "marketplace".into(),
            session_minutes: 60,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_missing_variable() {
        let vars = HashMap::from([("TABLE_NAME".to_string(), "t".to_string())]);
        assert_eq!(
            Config::from_map(&vars),
            Err(MissingVar("INVOICE_QUEUE_URL"))
        );
    }

    #[test]
    fn payload_host_is_the_url_host() {
        let mut c = Config::example();
        assert_eq!(c.payload_host(), "api.marketplace.example");
        c.public_base_url = "http://127.0.0.1:9000".into();
        assert_eq!(c.payload_host(), "127.0.0.1");
    }
}
