//! Configuration from the environment variables `template.yaml` sets.

use std::collections::HashMap;
use std::time::Duration;

use cxml::SharedSecret;

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
    /// HTTP timeout of one invoice POST (INVOICE_TIMEOUT_SECONDS, default 20, 1 to 60).
    pub invoice_timeout: Duration,
    /// The key each organisation's invoice shared secret is derived from (see
    /// [`crate::invoices::invoice_secret`]). Never from an environment variable (anyone with
    /// `lambda:GetFunctionConfiguration` reads those): the AWS side reads it from the Secrets
    /// Manager secret [`Self::invoice_key_secret_id`] once at cold start and sets it here.
    /// Only invoice-dispatch and the admin API know it; its Debug output is redacted.
    pub invoice_secret_key: Option<SharedSecret>,
    /// The Secrets Manager secret holding the invoice key (INVOICE_KEY_SECRET_ID, its ARN);
    /// none: invoices are not signed (kept for retry) and the admin API shows no invoice secret.
    pub invoice_key_secret_id: Option<String>,
    /// Where documents for Ariba buyers go: the SAP Ariba Network's cXML URL
    /// (ARIBA_NETWORK_URL, default the Network's production URL).
    pub ariba_network_url: String,
    /// The Secrets Manager secret holding the supplier's Ariba Network account
    /// (ARIBA_NETWORK_SECRET_ID); none: Ariba documents are refused.
    pub ariba_network_secret_id: Option<String>,
    /// How often a warm instance may read that secret again after a secret matched none of
    /// the known ones (ARIBA_SECRET_REREAD_SECONDS, default 60).
    pub ariba_secret_reread: Duration,
    /// How long a charge or confirmation handed to the invoice queue may stay unsettled before
    /// the scheduled run hands it over again (JOB_REQUEUE_MINUTES, default 1440): longer than the queue
    /// takes to dead-letter a job (visibility timeout x maxReceiveCount), so only a job that
    /// was dead-lettered or lost is handed over again.
    pub job_requeue_after: time::Duration,
    /// How many times a charge or confirmation is handed to the queue before it is recorded
    /// failed with the INVOICE_DEAD_LETTERED or CONFIRMATION_DEAD_LETTERED alarm (JOB_MAX_QUEUEINGS, default 3, at least 1).
    pub job_max_queueings: u32,
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
            invoice_timeout: Duration::from_secs(
                optional("INVOICE_TIMEOUT_SECONDS", "20")
                    .parse::<u64>()
                    .unwrap_or(20)
                    .clamp(1, 60),
            ),
            // Read from Secrets Manager at cold start, never from the environment.
            invoice_secret_key: None,
            invoice_key_secret_id: vars
                .get("INVOICE_KEY_SECRET_ID")
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty()),
            ariba_network_url: optional("ARIBA_NETWORK_URL", crate::network::DEFAULT_URL),
            ariba_network_secret_id: vars
                .get("ARIBA_NETWORK_SECRET_ID")
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty()),
            ariba_secret_reread: Duration::from_secs(
                optional("ARIBA_SECRET_REREAD_SECONDS", "60")
                    .parse()
                    .unwrap_or(60),
            ),
            job_requeue_after: time::Duration::minutes(
                optional("JOB_REQUEUE_MINUTES", "1440")
                    .parse::<i64>()
                    .unwrap_or(1440)
                    .max(1),
            ),
            job_max_queueings: optional("JOB_MAX_QUEUEINGS", "3")
                .parse::<u32>()
                .unwrap_or(3)
                .max(1),
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

    /// Whether this deployment runs on the developer's machine: its own public URL is on a
    /// loopback address, as the local stack's `cargo lambda watch` is (a deployed stack's is the
    /// API's https URL, see template.yaml). Only there may a buyer's URL be http or loopback
    /// ([`crate::urls::buyer_url`]).
    pub fn is_local(&self) -> bool {
        url::Url::parse(&self.public_base_url).is_ok_and(|u| crate::urls::is_loopback(&u))
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
            invoice_timeout: Duration::from_secs(20),
            invoice_secret_key: Some(SharedSecret::new(
                "example-invoice-secret-key-for-tests-only-0123456789",
            )),
            invoice_key_secret_id: None,
            ariba_network_url: "https://service.ariba.example/service/transaction/cxml.asp".into(),
            ariba_network_secret_id: None,
            ariba_secret_reread: Duration::from_secs(60),
            job_requeue_after: time::Duration::days(1),
            job_max_queueings: 3,
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
    fn invoice_settings_have_defaults_and_bounds() {
        let mut vars: HashMap<String, String> = [
            ("TABLE_NAME", "t"),
            ("INVOICE_QUEUE_URL", "q"),
            ("SENDER_EMAIL", "a@b.c"),
            ("PUBLIC_BASE_URL", "https://x.example"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let c = Config::from_map(&vars).unwrap();
        assert_eq!(c.invoice_timeout, Duration::from_secs(20));
        assert_eq!(c.invoice_key_secret_id, None);
        vars.insert("INVOICE_TIMEOUT_SECONDS".into(), "500".into());
        vars.insert(
            "INVOICE_KEY_SECRET_ID".into(),
            " arn:aws:secretsmanager:us-east-1:123456789012:secret:procurement/invoice-key-AbCdEf "
                .into(),
        );
        let c = Config::from_map(&vars).unwrap();
        assert_eq!(c.invoice_timeout, Duration::from_secs(60));
        assert_eq!(
            c.invoice_key_secret_id.as_deref(),
            Some(
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:procurement/invoice-key-AbCdEf"
            )
        );
    }

    #[test]
    fn the_invoice_key_is_never_taken_from_the_environment() {
        let vars: HashMap<String, String> = [
            ("TABLE_NAME", "t"),
            ("INVOICE_QUEUE_URL", "q"),
            ("SENDER_EMAIL", "a@b.c"),
            ("PUBLIC_BASE_URL", "https://x.example"),
            // What the template set before the key moved to Secrets Manager.
            ("INVOICE_SECRET_KEY", "k3y-from-an-environment-variable"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let c = Config::from_map(&vars).unwrap();
        assert_eq!(c.invoice_secret_key, None);
    }

    #[test]
    fn the_invoice_key_never_shows_in_debug() {
        let c = Config::example();
        let key = c.invoice_secret_key.as_ref().unwrap().expose().to_string();
        assert!(!format!("{c:?}").contains(&key));
    }

    #[test]
    fn payload_host_is_the_url_host() {
        let mut c = Config::example();
        assert_eq!(c.payload_host(), "api.marketplace.example");
        c.public_base_url = "http://127.0.0.1:9000".into();
        assert_eq!(c.payload_host(), "127.0.0.1");
    }

    #[test]
    fn a_deployment_is_local_when_its_own_url_is_on_loopback() {
        let mut c = Config::example();
        assert!(!c.is_local());
        for local in [
            "http://127.0.0.1:9000",
            "http://localhost:9000/",
            "http://[::1]:9",
        ] {
            c.public_base_url = local.into();
            assert!(c.is_local(), "{local}");
        }
        for deployed in [
            "https://abc.execute-api.us-east-1.amazonaws.com",
            "https://127.0.0.1.nip.io",
            "not a url",
        ] {
            c.public_base_url = deployed.into();
            assert!(!c.is_local(), "{deployed}");
        }
    }
}
