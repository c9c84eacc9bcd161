//! DynamoDB, SES v2 and SQS behind the domain's ports, and the one place SDK clients are built.

mod dynamo;
mod invoice_http;
mod network_secret;
#[cfg(feature = "test-util")]
pub mod recorded;
mod sdk_tls;
mod secrets;
mod ses;
mod sqs;

use std::sync::Arc;
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;

pub use dynamo::DynamoStore;
pub use invoice_http::HttpInvoiceSender;
pub use network_secret::{NoAribaNetwork, SecretsManagerNetwork};
use procurement::{Config, Deps};
pub use sdk_tls::{SdkTrust, sdk_http_client};
pub use secrets::{MIN_INVOICE_KEY_CHARS, read_invoice_key};
pub use ses::SesMailer;
pub use sqs::SqsQueue;

/// How long one attempt of a function's AWS call may take before it is abandoned and retried
/// (the SDK's standard retry, 3 attempts; DynamoDB transactions carry an idempotency token, the
/// same on each attempt). DynamoDB, SQS, SES and Secrets Manager answer in milliseconds from the
/// function's own region: an attempt this long is an endpoint that accepted and stalled.
pub const AWS_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a whole AWS call may take, its retries and back-off included. Without it a stalled
/// endpoint held a request until the function's timeout: for the HTTP functions API Gateway's
/// 30 s, and then the buyer's system got the gateway's own error with no cXML Response; now it
/// gets a cXML 500 it resends, with time to spare for the other calls of the flow.
pub const AWS_OPERATION_TIMEOUT: Duration = Duration::from_secs(10);

/// Loads AWS configuration (region, credentials, and `AWS_ENDPOINT_URL` for local stacks)
/// and builds the adapters. Call once per Lambda instance, in `main`.
pub async fn aws_deps(config: Config, app: &'static str) -> Deps {
    // The SDK names the function in its user agent (`app/<binary>`): CloudTrail shows which
    // function made a call, and the local stack applies that function's IAM policy
    // (scripts/localstack/iam.py).
    let loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(sdk_http_client(SdkTrust::from_env(|name| {
            std::env::var_os(name)
        })))
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(AWS_ATTEMPT_TIMEOUT)
                .operation_timeout(AWS_OPERATION_TIMEOUT)
                .build(),
        );
    let loader = match aws_config::AppName::new(app) {
        Ok(name) => loader.app_name(name),
        Err(_) => loader,
    };
    let sdk = loader.load().await;
    deps_with_sdk(config, &sdk).await
}

/// The adapters on an SDK configuration the caller built (tests point it at moto); reads the
/// Ariba Network account's secret and the invoice key, when they are configured.
pub async fn deps_with_sdk(mut config: Config, sdk: &aws_config::SdkConfig) -> Deps {
    if let Some(secret_id) = &config.invoice_key_secret_id {
        config.invoice_secret_key =
            secrets::load_invoice_key(&aws_sdk_secretsmanager::Client::new(sdk), secret_id).await;
    }
    let ariba_network: Arc<dyn procurement::ports::AribaNetworkAccount> =
        match &config.ariba_network_secret_id {
            Some(secret_id) => Arc::new(
                SecretsManagerNetwork::load(
                    aws_sdk_secretsmanager::Client::new(sdk),
                    secret_id,
                    config.ariba_secret_reread,
                )
                .await,
            ),
            None => Arc::new(NoAribaNetwork),
        };
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        &config.table_name,
    ));
    let mailer = Arc::new(SesMailer::new(
        aws_sdk_sesv2::Client::new(sdk),
        &config.sender_email,
    ));
    let queue = Arc::new(SqsQueue::new(
        aws_sdk_sqs::Client::new(sdk),
        &config.invoice_queue_url,
    ));
    Deps::new(
        config,
        store,
        ariba_network,
        mailer,
        queue,
        Arc::new(HttpInvoiceSender::new()),
    )
}

/// The most the functions ever log, whatever `RUST_LOG` says: debug. At trace, lambda_runtime
/// logs every raw event it receives ("raw JSON event received from Lambda", lambda_runtime
/// 1.5 `src/layers/api_response.rs`), cXML SharedSecrets and Open Buy credentials included,
/// and hyper/h2 log request bodies. The template's `LogLevel` allows no trace either.
pub const MAX_LOG_LEVEL: tracing_subscriber::filter::LevelFilter =
    tracing_subscriber::filter::LevelFilter::DEBUG;

/// JSON logs for CloudWatch, level from `RUST_LOG` (default info; an unreadable one: info),
/// never beyond [`MAX_LOG_LEVEL`], no ANSI colours.
pub fn init_logging() {
    let rust_log = std::env::var("RUST_LOG").ok();
    let _ = tracing::subscriber::set_global_default(log_subscriber(
        rust_log.as_deref(),
        std::io::stdout,
    ));
}

/// The functions' subscriber writing to `writer`: `rust_log`'s directives, clamped to
/// [`MAX_LOG_LEVEL`] (a global filter: an event passes only if both allow it).
pub fn log_subscriber<W>(
    rust_log: Option<&str>,
    writer: W,
) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::layer::SubscriberExt;
    let directives = rust_log
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .and_then(|d| EnvFilter::try_new(d).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    tracing_subscriber::registry()
        .with(MAX_LOG_LEVEL)
        .with(directives)
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_ansi(false)
                .with_target(false)
                .with_current_span(false)
                .without_time()
                .with_writer(writer),
        )
}

/// What every function's `main` does first: JSON logging, configuration from the
/// environment, SDK clients. Once per Lambda instance.
pub async fn deps_from_env(app: &'static str) -> Result<Deps, procurement::config::MissingVar> {
    init_logging();
    let config = Config::from_env()?;
    Ok(aws_deps(config, app).await)
}

#[cfg(test)]
mod logging_tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Log lines written into memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged(rust_log: Option<&str>) -> String {
        let out = Captured::default();
        let writer = out.clone();
        tracing::subscriber::with_default(log_subscriber(rust_log, move || writer.clone()), || {
            // What lambda_runtime logs at trace, under its own target.
            tracing::trace!(target: "lambda_runtime::layers::api_response", body = "<SharedSecret>hunter2</SharedSecret>", "raw JSON event received from Lambda");
            tracing::trace!("trace line");
            tracing::debug!("debug line");
            tracing::info!("info line");
        });
        String::from_utf8(out.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn trace_is_never_logged_whatever_rust_log_says() {
        for rust_log in [
            "trace",
            "TRACE",
            "lambda_runtime=trace",
            "info,lambda_runtime::layers=trace",
            "[{body}]=trace",
        ] {
            let out = logged(Some(rust_log));
            assert!(!out.contains("hunter2"), "{rust_log}: {out}");
            assert!(!out.contains("raw JSON event"), "{rust_log}: {out}");
            assert!(!out.contains("trace line"), "{rust_log}: {out}");
        }
        // Up to debug, what it says holds.
        let out = logged(Some("trace"));
        assert!(
            out.contains("debug line") && out.contains("info line"),
            "{out}"
        );
        let out = logged(Some("debug"));
        assert!(out.contains("debug line"), "{out}");
    }

    #[test]
    fn the_level_defaults_to_info() {
        for rust_log in [None, Some(""), Some("not a [directive")] {
            let out = logged(rust_log);
            assert!(out.contains("info line"), "{rust_log:?}: {out}");
            assert!(!out.contains("debug line"), "{rust_log:?}: {out}");
        }
    }
}
