//! Driving `psi-admin` against the local stack: it signs with an account's local credentials
//! (the admin REST API stand-in's keys, `.local/admin-credentials.json`) and talks to that
//! stand-in (`scripts/localstack/admin_api.py`), which checks the signature and the resource
//! policy as API Gateway does before the admin function sees the request.

use aws_credential_types::Credentials;
use serde_json::Value;

use crate::{Error, LocalStack};

/// The region the stand-in checks signatures for (`psi-admin --region`).
pub const REGION: &str = "us-east-1";

/// An account's credentials, as the stand-in knows them.
#[derive(Debug, Clone)]
pub struct Signer {
    pub credentials: Credentials,
    pub account_id: String,
}

impl Signer {
    /// The local admin credentials of `account_id` (written when the stack starts).
    pub fn local(stack: &LocalStack, account_id: &str) -> Result<Self, Error> {
        let local = stack.admin_credentials(account_id)?;
        Ok(Self {
            credentials: Credentials::new(
                local.access_key_id,
                local.secret_access_key,
                None,
                None,
                "local-admin-api",
            ),
            account_id: account_id.into(),
        })
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
