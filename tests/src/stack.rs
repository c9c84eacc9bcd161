//! The running local stack, as `make run` leaves it: `.local/stack.env` names the moto
//! endpoint, the table, the queues and the API address.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use procurement::Config;
use procurement_aws::DynamoStore;
use serde_json::{Value, json};

use crate::Error;

/// An AWS account's access key, as its admin signs admin API requests with it.
#[derive(Debug, Clone)]
pub struct AdminCredentials {
    pub account_id: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

/// The headers SigV4 adds to an admin API request (service `execute-api`, the stack's region),
/// computed by `aws-sigv4` as AWS's SDKs and CLI compute them.
pub fn sign_admin_request(
    credentials: &AdminCredentials,
    method: &str,
    url: &str,
    body: &str,
) -> Result<Vec<(String, String)>, Error> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let identity = aws_sdk_dynamodb::config::Credentials::new(
        &credentials.access_key_id,
        &credentials.secret_access_key,
        None,
        None,
        "local-admin",
    )
    .into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("execute-api")
        .time(std::time::SystemTime::now())
        .settings(SigningSettings::default())
        .build()?
        .into();
    let host = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or("")
        .to_string();
    let headers = [
        ("host", host.as_str()),
        ("content-type", "application/json"),
    ];
    let signable = SignableRequest::new(
        method,
        url,
        headers.into_iter(),
        SignableBody::Bytes(body.as_bytes()),
    )?;
    let (instructions, _signature) = sign(signable, &params)?.into_parts();
    Ok(instructions
        .headers()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect())
}

/// A reply from the API: status, content type and body text.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

pub struct LocalStack {
    pub env: HashMap<String, String>,
    pub config: Config,
    /// The product's own adapters on moto, built once (as one function instance does).
    deps: procurement::Deps,
    pub api: String,
    pub moto: String,
    http: reqwest::Client,
    sdk: aws_config::SdkConfig,
}

/// The repository's `.local` directory (or `LOCAL_DIR`), where `make run` writes its state.
pub fn local_dir() -> PathBuf {
    std::env::var_os("LOCAL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.local"))
}

fn read_env_file(path: &Path) -> Result<HashMap<String, String>, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "{}: {e}; start the local stack first (`make run`)",
            path.display()
        )
    })?;
    Ok(text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect())
}

impl LocalStack {
    /// Connects to the stack `make run` started; fails with a clear message if it is not up.
    pub async fn connect() -> Result<Self, Error> {
        let env = read_env_file(&local_dir().join("stack.env"))?;
        let config = Config::from_map(&env)?;
        let moto = env
            .get("AWS_ENDPOINT_URL")
            .ok_or("stack.env has no AWS_ENDPOINT_URL")?
            .clone();
        let region = env.get("AWS_REGION").cloned().unwrap_or("us-east-1".into());
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&moto)
            .region(aws_config::Region::new(region))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "testing",
                "testing",
                None,
                None,
                "local-stack",
            ))
            .load()
            .await;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let deps = procurement_aws::deps_with_sdk(config.clone(), &sdk).await;
        let stack = Self {
            api: config.public_base_url.clone(),
            env,
            deps,
            config,
            moto,
            http,
            sdk,
        };
        let status = stack.get("/punchout/setup").await.map_err(|e| {
            format!(
                "the API at {} does not answer ({e}); start it with `make run`",
                stack.api
            )
        })?;
        if status.status >= 500 {
            return Err(format!("the API at {} answers {}", stack.api, status.status).into());
        }
        Ok(stack)
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{}", self.api, path)
        }
    }

    /// The product's own adapters (DynamoDB, SES, SQS) on moto: the table through its ports,
    /// and for driving a domain handler in-process against the real services, as a function
    /// instance does.
    pub fn store(&self) -> procurement::Deps {
        self.deps.clone()
    }

    pub fn deps(&self) -> procurement::Deps {
        self.deps.clone()
    }

    /// The adapters of one more function instance: its own clients, its own cold start.
    pub async fn new_instance(&self) -> procurement::Deps {
        procurement_aws::deps_with_sdk(self.config.clone(), &self.sdk).await
    }

    /// The table through the product's own DynamoDB adapter, as one value (seeding).
    pub fn dynamo_store(&self) -> DynamoStore {
        DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&self.sdk),
            &self.config.table_name,
        )
    }

    pub fn sdk_config(&self) -> aws_config::SdkConfig {
        self.sdk.clone()
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk)
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk)
    }

    async fn reply(response: reqwest::Response) -> Result<Reply, Error> {
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = response.text().await?;
        Ok(Reply {
            status,
            content_type,
            body,
        })
    }

    /// Sends a request to `cargo lambda watch`. Rarely the emulator itself fails a request
    /// (a problem+json 500 our functions never produce: it lost the function's answer, seen
    /// once in about ten e2e runs); that one is sent again, once, and said so on stderr, so a
    /// flaw of the local emulator does not read as a product failure. Whatever our functions
    /// answer is returned as it is.
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Reply, Error> {
        let again = request.try_clone();
        let reply = Self::reply(request.send().await?).await?;
        match again {
            Some(again) if reply.status == 500 && reply.body.contains(EMULATOR_PROBLEM) => {
                eprintln!(
                    "cargo lambda watch failed the request itself ({}); sending it again",
                    reply.body
                );
                Self::reply(again.send().await?).await
            }
            _ => Ok(reply),
        }
    }

    pub async fn get(&self, path: &str) -> Result<Reply, Error> {
        self.send(self.http.get(self.url(path))).await
    }

    /// POSTs a cXML document as a procurement system does (text/xml).
    pub async fn post_cxml(&self, path: &str, xml: &str) -> Result<Reply, Error> {
        self.send(
            self.http
                .post(self.url(path))
                .header("content-type", "text/xml; charset=utf-8")
                .body(xml.to_string()),
        )
        .await
    }

    /// POSTs an HTML form as a browser does.
    pub async fn post_form(&self, url: &str, fields: &[(String, String)]) -> Result<Reply, Error> {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.send(
            self.http
                .post(self.url(url))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body),
        )
        .await
    }

    /// Gives the functions' connections to one AWS service (`dynamodb`, `sqs`, `ses`, or `*`
    /// for all) a fault: `refuse` (dropped unanswered, as by a stopped moto), `error500`, or
    /// `pass` to lift it. Only the functions are affected: the tests and the SQS poller reach
    /// moto directly. Needs the e2e stack's fault proxy (`FAULT_PROXY_URL` in stack.env).
    pub async fn set_fault(&self, service: &str, mode: &str) -> Result<(), Error> {
        let proxy = self
            .env
            .get("FAULT_PROXY_URL")
            .ok_or("the stack runs without a fault proxy: start it with FAULT_PROXY_PORT set")?;
        let reply = self
            .http
            .post(format!("{proxy}/__faults"))
            .json(&serde_json::json!({"service": service, "mode": mode}))
            .send()
            .await?;
        if !reply.status().is_success() {
            return Err(format!("fault proxy: {}", reply.text().await?).into());
        }
        Ok(())
    }

    /// Sends a raw Lambda event to a function through cargo lambda watch's invoke API:
    /// how tests run the scheduled function when they say so.
    pub async fn invoke(&self, function: &str, event: &Value) -> Result<Value, Error> {
        let reply = self
            .send(
                self.http
                    .post(self.url(&format!("/2015-03-31/functions/{function}/invocations")))
                    // The scheduled run may take its whole budget (280 s when run locally).
                    .timeout(Duration::from_secs(330))
                    .json(event),
            )
            .await?;
        if !(200..300).contains(&reply.status) {
            return Err(format!("invoke {function}: {}: {}", reply.status, reply.body).into());
        }
        Ok(serde_json::from_str(&reply.body)?)
    }

    /// The local keys of an AWS account (the admin REST API stand-in's
    /// `admin-credentials.json`, written when the stack starts).
    pub fn admin_credentials(&self, account_id: &str) -> Result<AdminCredentials, Error> {
        let path = local_dir().join("admin-credentials.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("{}: {e}; start the local stack first", path.display()))?;
        let all: Value = serde_json::from_str(&text)?;
        let account = &all[account_id];
        let field = |name: &str| {
            account[name]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("{}: no {name} for account {account_id}", path.display()))
        };
        Ok(AdminCredentials {
            account_id: account_id.to_string(),
            access_key_id: field("access_key_id")?,
            secret_access_key: field("secret_access_key")?,
        })
    }

    /// The admin API's base URL with its stage (the REST API stand-in; `AdminApiUrl` deployed).
    pub fn admin_api(&self) -> Result<&str, Error> {
        self.env
            .get("ADMIN_API_URL")
            .map(String::as_str)
            .ok_or_else(|| "stack.env has no ADMIN_API_URL: restart the local stack".into())
    }

    /// An admin API call through the admin REST API, SigV4-signed with `account_id`'s local
    /// keys (unsigned when None), as an organisation's admin sends it from its own account.
    pub async fn admin(
        &self,
        account_id: Option<&str>,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), Error> {
        let credentials = account_id
            .map(|account| self.admin_credentials(account))
            .transpose()?;
        self.admin_as(credentials.as_ref(), method, path, body)
            .await
    }

    /// [`Self::admin`] signed with the given keys (which may be wrong ones).
    pub async fn admin_as(
        &self,
        credentials: Option<&AdminCredentials>,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), Error> {
        let url = format!("{}{path}", self.admin_api()?);
        let body = body.map(Value::to_string).unwrap_or_default();
        let method = reqwest::Method::from_bytes(method.as_bytes())?;
        let mut request = self
            .http
            .request(method.clone(), &url)
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(credentials) = credentials {
            for (name, value) in sign_admin_request(credentials, method.as_str(), &url, &body)? {
                request = request.header(name, value);
            }
        }
        let reply = self.send(request).await?;
        Ok((
            reply.status,
            serde_json::from_str(&reply.body).unwrap_or(Value::Null),
        ))
    }

    /// Emails SES (moto) has accepted, oldest first: (to, subject, body).
    pub async fn sent_emails(&self) -> Result<Vec<SentEmail>, Error> {
        let data: Value = self
            .http
            // Only SES's models: the whole dump walks every DynamoDB item (scripts/moto_server.py).
            .get(format!("{}/moto-api/data.json?service=ses", self.moto))
            .send()
            .await?
            .json()
            .await?;
        // moto keeps SES v1 and v2 sends in one backend: `ses` -> `Message`.
        Ok(data["ses"]["Message"]
            .as_array()
            .map(|messages| messages.iter().map(SentEmail::from_moto).collect())
            .unwrap_or_default())
    }
}

/// One message the local stack's SQS poller handed to a function, once its fate was settled
/// (a line of `sqs-deliveries.jsonl`, written by `scripts/local_stack.py sqs-poller`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Delivery {
    pub queue: String,
    pub function: String,
    pub message_id: String,
    pub receive_count: u32,
    pub body: String,
    /// `deleted` (the function took it: SQS never delivers it again) or `returned`.
    pub outcome: String,
}

impl Delivery {
    pub fn deleted(&self) -> bool {
        self.outcome == "deleted"
    }
}

impl LocalStack {
    /// Every delivery the SQS poller has settled so far, oldest first.
    pub fn deliveries(&self) -> Vec<Delivery> {
        let text =
            std::fs::read_to_string(local_dir().join("sqs-deliveries.jsonl")).unwrap_or_default();
        text.lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// Waits until a settled delivery satisfies `condition`, up to `within`; the deliveries seen
    /// so far either way (the caller asserts on them).
    pub async fn wait_for_delivery(
        &self,
        within: Duration,
        condition: impl Fn(&Delivery) -> bool,
    ) -> Vec<Delivery> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let seen = self.deliveries();
            if seen.iter().any(&condition) || tokio::time::Instant::now() >= deadline {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// One document the local SAP Ariba Network stand-in received (a line of `ariba-network.jsonl`,
/// written by `scripts/local_stack.py ariba-network`), its SharedSecret masked.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct NetworkReceipt {
    /// The cXML status the stand-in answered (200 accepted; 400/401 refused as the Network would).
    pub code: u16,
    pub text: String,
    #[serde(default)]
    pub r#type: Option<String>,
    #[serde(default)]
    pub order_id: Option<String>,
    #[serde(default)]
    pub order_payload_id: Option<String>,
    #[serde(default)]
    pub confirmation_type: Option<String>,
    #[serde(default)]
    pub from: Vec<String>,
    #[serde(default)]
    pub to: Vec<String>,
    #[serde(default)]
    pub sender: Vec<String>,
    pub body: String,
}

impl LocalStack {
    /// What the Ariba Network stand-in has received so far, oldest first.
    pub fn network_receipts(&self) -> Vec<NetworkReceipt> {
        std::fs::read_to_string(local_dir().join("ariba-network.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// Sets how the Ariba Network stand-in answers (`ok`, `status:<code>`, `hang`), as the
    /// fault tier needs; `ok` is the Network as usual.
    pub async fn set_network_mode(&self, mode: &str) -> Result<(), Error> {
        let reply = self
            .http
            .post(self.network_mode_url()?)
            .body(mode.to_string())
            .send()
            .await?;
        if !reply.status().is_success() {
            return Err(format!("Ariba Network stand-in: {}", reply.status()).into());
        }
        Ok(())
    }

    /// Where the Network stand-in takes its mode: beside the cXML URL the functions post to.
    pub fn network_mode_url(&self) -> Result<String, Error> {
        let url = self
            .env
            .get("ARIBA_NETWORK_URL")
            .ok_or("stack.env names no ARIBA_NETWORK_URL")?;
        let parsed = reqwest::Url::parse(url)?;
        Ok(parsed.join("/_mode")?.to_string())
    }

    /// The Secrets Manager secret of the stack's Ariba Network account.
    pub fn network_secret_id(&self) -> String {
        self.env
            .get("ARIBA_NETWORK_SECRET_ID")
            .cloned()
            .expect("stack.env names ARIBA_NETWORK_SECRET_ID")
    }

    /// Puts a new value into the Network account's secret, as an operator rotates it: the new
    /// shared secret becomes current, the one before it previous.
    pub async fn put_network_secret(&self, supplier_anid: &str, secret: &str) -> Result<(), Error> {
        aws_sdk_secretsmanager::Client::new(&self.sdk)
            .put_secret_value()
            .secret_id(self.network_secret_id())
            .secret_string(
                json!({"supplier_anid": supplier_anid, "shared_secret": secret}).to_string(),
            )
            .send()
            .await?;
        Ok(())
    }
}

/// How `cargo lambda watch` reports its own internal failures (RFC 7807 problem type).
const EMULATOR_PROBLEM: &str = "https://httpstatuses.com/500";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentEmail {
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
}

impl SentEmail {
    fn from_moto(m: &Value) -> Self {
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        let to = if m["destinations"]["ToAddresses"].is_array() {
            strings(&m["destinations"]["ToAddresses"])
        } else {
            strings(&m["destinations"])
        };
        Self {
            to,
            subject: m["subject"].as_str().unwrap_or_default().to_string(),
            body: m["body"].as_str().unwrap_or_default().to_string(),
        }
    }
}
