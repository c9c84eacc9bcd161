//! `psi-admin`: a buyer organisation's procurement integration through the admin API, signed
//! with SigV4 (service `execute-api`) with the caller's own AWS credentials.
//!
//! [`cli`] reads the command line, [`api`] knows the routes and documents, [`client`] signs
//! ([`sign`]) and sends, [`output`] prints; [`run`] carries out one command.

pub mod api;
pub mod cli;
pub mod client;
pub mod fields;
pub mod output;
pub mod sign;

use serde_json::{Value, json};

use api::Failure;
use cli::{Action, Instance, Invocation};
use client::Client;
use fields::Change;

/// Carries out one command and returns what it prints on standard output.
pub async fn run(invocation: &Invocation, client: &Client) -> Result<String, Failure> {
    let json_mode = invocation.global.json;
    let pretty = |value: &Value| serde_json::to_string_pretty(value).unwrap_or_default() + "\n";
    match &invocation.action {
        Action::Create {
            org,
            system,
            changes,
        } => {
            match client.send(&api::read(org)).await {
                Ok(_) => {
                    return Err(Failure::State(format!(
                        "organisation {org} already has an integration: change it with psi-admin update {org} ..., or see it with psi-admin show {org}"
                    )));
                }
                // No integration yet (or no such organisation, which the PUT answers).
                Err(Failure::Api { status: 404, .. }) => {}
                Err(other) => return Err(other),
            }
            let document = api::create_document(system, changes);
            let answer = client.send(&api::save(org, document)).await?.body;
            if json_mode {
                return Ok(pretty(&answer));
            }
            let test_mode = answer["settings"]["test_mode"].as_bool().unwrap_or(true);
            Ok(format!(
                "Created the integration of organisation {org}{}.\n\n{}",
                if test_mode {
                    " in test mode (nothing is subscribed or invoiced until psi-admin update --test-mode off)"
                } else {
                    ", test mode off"
                },
                output::purchase_information(&answer)
            ))
        }
        Action::Update { org, changes } => update(client, org, changes, json_mode).await,
        Action::SetEnabled { org, enabled } => {
            let current = client.send(&api::read(org)).await?.body;
            if current["settings"]["enabled"].as_bool() == Some(*enabled) {
                return Ok(if json_mode {
                    pretty(&current)
                } else {
                    format!(
                        "Organisation {org} is already {}: nothing changed.\n",
                        if *enabled { "enabled" } else { "disabled" }
                    )
                });
            }
            let answer = save_changes(
                client,
                org,
                &current,
                &[Change::Set(&["enabled"], json!(enabled))],
            )
            .await?;
            Ok(if json_mode {
                pretty(&answer)
            } else if *enabled {
                format!(
                    "Organisation {org} enabled: its cXML requests are accepted again, with its kept settings and secret.\n"
                )
            } else {
                format!(
                    "Organisation {org} disabled: every cXML request of the buyer is refused; its settings and secret are kept (psi-admin enable {org} turns it back on).\n"
                )
            })
        }
        Action::Show { org } => {
            let answer = client.send(&api::read(org)).await?.body;
            Ok(if json_mode {
                pretty(&answer)
            } else {
                format!(
                    "{}\n{}",
                    output::settings(&answer),
                    output::purchase_information(&answer)
                )
            })
        }
        Action::PurchaseInfo { org } => {
            let answer = client.send(&api::read(org)).await?.body;
            Ok(if json_mode {
                pretty(&answer["purchase_information"])
            } else {
                output::purchase_information(&answer)
            })
        }
        Action::RotateSecret { org, instance } => {
            let answer = client.send(&api::rotate(org, *instance)).await?.body;
            Ok(if json_mode {
                pretty(&answer)
            } else {
                let set = match instance {
                    Some(Instance::Test) => "the Coupa test instance's",
                    _ => "the production",
                };
                format!(
                    "New shared secret for {set} credential set of organisation {org}: the old one no longer works.\n\n{}",
                    output::purchase_information(&answer)
                )
            })
        }
        Action::Messages {
            org,
            limit,
            before,
            all,
            documents,
        } => {
            let mut page = client
                .send(&api::messages(org, *limit, before.as_deref()))
                .await?
                .body;
            if *all {
                let mut seen = std::collections::HashSet::new();
                while let Some(next) = page["next"].as_str().map(str::to_string) {
                    if !seen.insert(next.clone()) {
                        return Err(Failure::Answer(format!(
                            "the message log answered the cursor {next} twice"
                        )));
                    }
                    let more = client
                        .send(&api::messages(org, *limit, Some(&next)))
                        .await?
                        .body;
                    let mut messages = page["messages"].as_array().cloned().unwrap_or_default();
                    messages.extend(more["messages"].as_array().cloned().unwrap_or_default());
                    page = json!({"messages": messages, "next": more["next"]});
                }
            }
            if !page["messages"].is_array() {
                return Err(Failure::Answer(
                    "the message log's answer has no `messages` list".into(),
                ));
            }
            Ok(if json_mode {
                pretty(&page)
            } else {
                output::messages(org, &page, *documents)
            })
        }
    }
}

/// PUTs the current settings with the changes; the API's answer.
async fn save_changes(
    client: &Client,
    org: &str,
    current: &Value,
    changes: &[Change],
) -> Result<Value, Failure> {
    let document = api::update_document(current, changes)?;
    Ok(client.send(&api::save(org, document)).await?.body)
}

async fn update(
    client: &Client,
    org: &str,
    changes: &[Change],
    json_mode: bool,
) -> Result<String, Failure> {
    let current = client.send(&api::read(org)).await?.body;
    let document = api::update_document(&current, changes)?;
    if api::changed_fields(&current["settings"], &document).is_empty() {
        return Ok(if json_mode {
            serde_json::to_string_pretty(&current).unwrap_or_default() + "\n"
        } else {
            format!("Organisation {org}: the settings already are so; nothing changed.\n")
        });
    }
    let answer = client.send(&api::save(org, document)).await?.body;
    if json_mode {
        return Ok(serde_json::to_string_pretty(&answer).unwrap_or_default() + "\n");
    }
    let changed = api::changed_fields(&current["settings"], &answer["settings"]);
    let mut out = format!("Updated organisation {org}:");
    if changed.is_empty() {
        out.push_str(" the API kept the settings as they were.\n");
    } else {
        out.push('\n');
        for field in &changed {
            let value = field.split('.').fold(&answer["settings"], |v, key| &v[key]);
            out.push_str(&format!(
                "  {field} = {}\n",
                match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                }
            ));
        }
    }
    // A secret made by this change (a test instance added) is shown this once.
    let info = &answer["purchase_information"];
    if !info["shared_secret"].is_null() || !info["test_instance"]["shared_secret"].is_null() {
        out.push('\n');
        out.push_str(&output::purchase_information(&answer));
    }
    Ok(out)
}
