//! The admin API: a buyer organisation's procurement integration settings.
//!
//! | route                                           | may call                       |
//! |-------------------------------------------------|--------------------------------|
//! | `GET  /admin/orgs/{org_id}/integration`         | management and member accounts |
//! | `PUT  /admin/orgs/{org_id}/integration`         | the management account         |
//! | `POST /admin/orgs/{org_id}/integration/secret`  | the management account         |
//! | `GET  /admin/orgs/{org_id}/integration/messages`| management and member accounts |
//!
//! `GET .../messages?limit=N&before=<cursor>` lists the organisation's message log (the cXML
//! exchanges of the last 30 days, [`procurement::message_log`]) newest first: `{"messages":
//! [...], "next": <cursor of the following page, or null>}`.
//!
//! `POST .../secret?instance=test` rotates the Coupa test instance's secret; without it (or
//! with `instance=production`) the production set's. `POST .../secret?kind=invoice` rotates
//! the organisation's invoice secret (what our invoices present as Sender SharedSecret) alone;
//! `kind=punchout` (the default) is the punchout secret of the instance named.
//!
//! Served by a function of its own (`admin-api`) behind an API Gateway REST API: API Gateway
//! checks the SigV4 signature (AWS_IAM on `ANY /admin/{proxy+}`) and the resource policy (which
//! AWS accounts may call at all), and hands us the calling account
//! ([`RestApiCaller`]); the organisation record decides what that account may do
//! ([`procurement::settings::authorize`]).

use axum::body::Bytes;
use axum::extract::{RawPathParams, RawQuery, Request, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use lambda_http::request::RequestContext;
use procurement::message_log::{self, Position};
use procurement::model::{Instance, Integration};
use procurement::paths;
use procurement::settings::{
    self, Action, MAX_DOCUMENT_BYTES, PurchaseInformation, Saved, SettingsRefused,
};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::AppState;
use crate::extract::RestApiCaller;
use crate::json::{JsonError, reply};

impl From<SettingsRefused> for JsonError {
    fn from(refused: SettingsRefused) -> Self {
        match refused {
            SettingsRefused::Unsigned => JsonError::Unauthorized {
                message: "sign the request with AWS SigV4 (IAM): the admin API needs to know the calling AWS account".into(),
                challenge: None,
            },
            SettingsRefused::UnknownOrganization(org_id) => {
                JsonError::NotFound(format!("no organisation {org_id}"))
            }
            SettingsRefused::Forbidden(message) => JsonError::Forbidden(message),
            SettingsRefused::NoIntegration(org_id) => JsonError::NotFound(format!(
                "organisation {org_id} has no procurement integration yet: PUT its settings to {}",
                paths::admin_integration(org_id.as_str())
            )),
            SettingsRefused::Invalid(invalid) => JsonError::BadRequest(invalid.0),
            SettingsRefused::CredentialTaken(credential) => JsonError::Conflict(format!(
                "the buyer credential {credential} is already used by another organisation's integration; check buyer_domain and buyer_identity"
            )),
            SettingsRefused::NetworkSecret => JsonError::BadRequest(
                "SAP Ariba integrations have no secret of their own: the Ariba Network presents the supplier's shared secret, set in the supplier's Ariba account and rotated in this deployment's Secrets Manager secret".into(),
            ),
            SettingsRefused::NoInvoiceKey => JsonError::Unavailable(
                "the invoice secret cannot be derived now (this deployment's invoice key is not available); retry later".into(),
            ),
            SettingsRefused::KeptChanging => JsonError::Conflict(
                "the integration kept changing while this request was applied (other admin requests at the same moment); read it again and retry".into(),
            ),
            SettingsRefused::NoRandomness(e) => JsonError::NoRandomness(e),
            SettingsRefused::Storage(e) => JsonError::Storage(e),
        }
    }
}

/// A REST API event's path as `lambda_http` hands it over starts with the stage
/// (`/v1/admin/...`, as in the URL the caller signed); the routes are the resource paths
/// (`/admin/...`), so the stage is taken off here, whatever the stage is called.
pub async fn without_stage(mut request: Request) -> Request {
    let stage = match request.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.stage.clone(),
        _ => None,
    };
    let Some(stage) = stage.filter(|s| !s.is_empty()) else {
        return request;
    };
    let prefix = format!("/{stage}");
    let uri = request.uri();
    let Some(rest) = uri.path().strip_prefix(&prefix) else {
        return request;
    };
    if !(rest.is_empty() || rest.starts_with('/')) {
        return request;
    }
    let rest = if rest.is_empty() { "/" } else { rest };
    let path_and_query = match uri.query() {
        Some(query) => format!("{rest}?{query}"),
        None => rest.to_string(),
    };
    if let Ok(stripped) = Uri::builder().path_and_query(path_and_query).build() {
        *request.uri_mut() = stripped;
    }
    request
}

/// The `{org_id}` of the path as it was sent: organisation IDs are plain, so nothing is
/// decoded (a percent sign is simply part of an ID that names no organisation).
fn org_of(params: &RawPathParams) -> &str {
    params
        .iter()
        .find(|(name, _)| *name == "org_id")
        .map_or("", |(_, value)| value)
}

/// The settings and what the administrator pastes into Coupa or Ariba. Never the digest;
/// a secret only when it was just made (or, for the invoice secret, just rotated).
async fn document(
    deps: &AppState,
    integration: &Integration,
    new_secret: Option<&str>,
    new_test_secret: Option<&str>,
    new_invoice_secret: Option<&str>,
) -> Result<Value, JsonError> {
    let network = deps.ariba_network.current().await?;
    Ok(json!({
        "org_id": integration.org_id,
        "settings": integration.settings,
        "updated_at": integration.updated_at.format(&Rfc3339).unwrap_or_default(),
        "purchase_information":
            PurchaseInformation::of(deps, integration, network.as_ref(), new_secret)
                .with_test_secret(integration.org_id.as_str(), new_test_secret)
                .with_invoice_secret(integration.org_id.as_str(), new_invoice_secret),
    }))
}

/// GET: the settings and the purchase information (never a secret).
pub async fn read(
    State(deps): State<AppState>,
    RestApiCaller(caller): RestApiCaller,
    org_id: RawPathParams,
) -> Result<Response, JsonError> {
    let org = settings::authorize(&deps, caller.as_deref(), org_of(&org_id), Action::Read).await?;
    let integration = settings::read(&deps, &org).await?;
    Ok(reply(
        StatusCode::OK,
        document(&deps, &integration, None, None, None).await?,
        false,
    ))
}

/// PUT: creates the integration with a new shared secret (201, shown once), or replaces the
/// settings of the existing one and keeps its secret (200).
pub async fn save(
    State(deps): State<AppState>,
    RestApiCaller(caller): RestApiCaller,
    org_id: RawPathParams,
    body: Bytes,
) -> Result<Response, JsonError> {
    let org = settings::authorize(&deps, caller.as_deref(), org_of(&org_id), Action::Save).await?;
    if body.len() > MAX_DOCUMENT_BYTES {
        return Err(JsonError::TooLarge(format!(
            "the settings document must be at most {MAX_DOCUMENT_BYTES} bytes"
        )));
    }
    let document_settings =
        settings::parse_document(&body, deps.config.is_local()).map_err(SettingsRefused::from)?;
    let account = caller.as_deref().unwrap_or_default();
    let Saved {
        integration,
        created,
        changed,
        secret,
        test_secret,
    } = settings::save(&deps, &org, document_settings).await?;
    if created {
        tracing::info!(
            org_id = %org.org_id,
            account,
            system = ?integration.system(),
            enabled = integration.enabled(),
            test_mode = integration.test_mode(),
            new_secret = secret.is_some(),
            "procurement integration created"
        );
    } else {
        tracing::info!(
            org_id = %org.org_id,
            account,
            changed = ?changed,
            enabled = integration.enabled(),
            test_mode = integration.test_mode(),
            new_secret = secret.is_some(),
            "procurement integration updated"
        );
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    // An answer that carries a secret is shown this once, and never kept by a cache.
    Ok(reply(
        status,
        document(
            &deps,
            &integration,
            secret.as_deref(),
            test_secret.as_deref(),
            None,
        )
        .await?,
        secret.is_some() || test_secret.is_some(),
    ))
}

/// Which secret `POST .../secret` rotates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SecretKind {
    /// The punchout shared secret of one Coupa credential set.
    Punchout(Instance),
    /// The organisation's invoice secret (its invoices go from the production set only).
    Invoice,
}

/// Which secret the query names: `kind` (`punchout`, the default, or `invoice`) and, for the
/// punchout secret, `instance` (`production`, the default, or `test`).
fn secret_of_query(query: Option<&str>) -> Result<SecretKind, JsonError> {
    let mut instance = None;
    let mut invoice = false;
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match (key.as_ref(), value.as_ref()) {
            ("instance", "production") => instance = Some(Instance::Production),
            ("instance", "test") => instance = Some(Instance::Test),
            ("instance", other) => {
                return Err(JsonError::BadRequest(format!(
                    "query parameter `instance` must be `production` or `test`, not '{other}'"
                )));
            }
            ("kind", "punchout") => invoice = false,
            ("kind", "invoice") => invoice = true,
            ("kind", other) => {
                return Err(JsonError::BadRequest(format!(
                    "query parameter `kind` must be `punchout` or `invoice`, not '{other}'"
                )));
            }
            (other, _) => {
                return Err(JsonError::BadRequest(format!(
                    "unknown query parameter `{other}`: only `kind` (punchout or invoice) and `instance` (production or test) are taken"
                )));
            }
        }
    }
    match (invoice, instance) {
        (false, instance) => Ok(SecretKind::Punchout(
            instance.unwrap_or(Instance::Production),
        )),
        (true, None | Some(Instance::Production)) => Ok(SecretKind::Invoice),
        (true, Some(Instance::Test)) => Err(JsonError::BadRequest(
            "query parameter `instance=test` does not go with `kind=invoice`: the test instance is never invoiced, so it has no invoice secret".into(),
        )),
    }
}

/// POST .../secret: a new secret (one credential set's punchout secret, or the invoice
/// secret) replaces the old one at once, shown this once.
pub async fn rotate(
    State(deps): State<AppState>,
    RestApiCaller(caller): RestApiCaller,
    org_id: RawPathParams,
    RawQuery(query): RawQuery,
) -> Result<Response, JsonError> {
    let org =
        settings::authorize(&deps, caller.as_deref(), org_of(&org_id), Action::Rotate).await?;
    let kind = secret_of_query(query.as_deref())?;
    let account = caller.as_deref().unwrap_or_default();
    let body = match kind {
        SecretKind::Punchout(instance) => {
            let (integration, secret) = settings::rotate_instance(&deps, &org, instance).await?;
            tracing::info!(org_id = %org.org_id, account, ?instance, "shared secret rotated");
            let (production, test) = match instance {
                Instance::Production => (Some(secret.as_str()), None),
                Instance::Test => (None, Some(secret.as_str())),
            };
            document(&deps, &integration, production, test, None).await?
        }
        SecretKind::Invoice => {
            let (integration, secret) = settings::rotate_invoice_secret(&deps, &org).await?;
            tracing::info!(
                org_id = %org.org_id,
                account,
                invoice_secret_version = integration.invoice_secret_version,
                "invoice secret rotated"
            );
            document(&deps, &integration, None, None, Some(&secret)).await?
        }
    };
    Ok(reply(StatusCode::OK, body, true))
}

/// `?limit=` and `?before=` of a message log listing.
fn listing_of_query(query: Option<&str>) -> Result<(usize, Option<Position>), JsonError> {
    let mut limit = message_log::DEFAULT_PAGE;
    let mut before = None;
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "limit" => {
                limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=message_log::MAX_PAGE).contains(n))
                    .ok_or_else(|| {
                        JsonError::BadRequest(format!(
                            "query parameter `limit` must be a whole number from 1 to {}",
                            message_log::MAX_PAGE
                        ))
                    })?;
            }
            "before" => {
                before = Some(Position::from_cursor(&value).ok_or_else(|| {
                    JsonError::BadRequest(
                        "query parameter `before` must be the `next` cursor of an earlier page"
                            .into(),
                    )
                })?);
            }
            other => {
                return Err(JsonError::BadRequest(format!(
                    "unknown query parameter `{other}`: only `limit` and `before` are taken"
                )));
            }
        }
    }
    Ok((limit, before))
}

/// GET .../messages: one page of the organisation's message log, newest first.
pub async fn messages(
    State(deps): State<AppState>,
    RestApiCaller(caller): RestApiCaller,
    org_id: RawPathParams,
    RawQuery(query): RawQuery,
) -> Result<Response, JsonError> {
    let org = settings::authorize(&deps, caller.as_deref(), org_of(&org_id), Action::Read).await?;
    let (limit, before) = listing_of_query(query.as_deref())?;
    let page = message_log::list(
        &deps,
        &org.org_id,
        limit,
        before.as_ref(),
        OffsetDateTime::now_utc(),
    )
    .await?;
    let messages: Vec<Value> = page
        .items
        .iter()
        .map(|m| {
            json!({
                "at": cxml::format_timestamp(m.at),
                "direction": m.direction,
                "message_type": m.message_type,
                "payload_id": m.payload_id,
                "order_id": m.order_id,
                "status_code": m.status_code,
                "status_text": m.status_text,
                "document": m.document,
            })
        })
        .collect();
    Ok(reply(
        StatusCode::OK,
        json!({"messages": messages, "next": page.next}),
        // Purchase orders and invoices: not for shared caches.
        true,
    ))
}

pub async fn messages_method_not_allowed(method: axum::http::Method) -> JsonError {
    JsonError::method_not_allowed(
        "GET",
        format!("{method} is not allowed here: GET lists the organisation's message log"),
    )
}

pub async fn integration_method_not_allowed(method: axum::http::Method) -> JsonError {
    JsonError::method_not_allowed(
        "GET, PUT",
        format!(
            "{method} is not allowed here: GET reads the integration settings, PUT creates or replaces them"
        ),
    )
}

pub async fn secret_method_not_allowed(method: axum::http::Method) -> JsonError {
    JsonError::method_not_allowed(
        "POST",
        format!("{method} is not allowed here: POST rotates the shared secret"),
    )
}
