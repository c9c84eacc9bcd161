//! The command line: global options, the subcommands, and what each asks the API for.

use clap::{Arg, ArgAction, ArgMatches, Command};

use crate::fields::{self, Change, FIELDS, Kind, REMOVALS, SYSTEMS};

/// The environment variable that names the admin API when `--endpoint` is not given.
pub const ENDPOINT_ENV: &str = "PSI_ADMIN_ENDPOINT";

/// Options every subcommand takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Global {
    /// The API's base URL (with the stage path, if the API has one).
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub json: bool,
}

/// Which Coupa credential set a rotation is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Instance {
    Production,
    Test,
}

/// What the administrator asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A new integration: the seeds' defaults (test mode on), then the flags.
    Create {
        org: String,
        system: String,
        changes: Vec<Change>,
    },
    /// The current settings with only the flags given changed.
    Update { org: String, changes: Vec<Change> },
    /// Settings and purchase information.
    Show { org: String },
    /// The purchase information, field by field, with where each value goes.
    PurchaseInfo { org: String },
    RotateSecret {
        org: String,
        instance: Option<Instance>,
    },
    /// `enabled` off or on, every other setting kept.
    SetEnabled { org: String, enabled: bool },
    Messages {
        org: String,
        limit: Option<u32>,
        before: Option<String>,
        all: bool,
        documents: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    pub global: Global,
    pub action: Action,
}

fn org_arg() -> Arg {
    Arg::new("org")
        .required(true)
        .value_name("ORG_ID")
        .help("the buyer organisation's ID")
}

fn settings_args(command: Command) -> Command {
    let command = FIELDS.iter().fold(command, |command, field| {
        let value_name = match field.kind {
            Kind::Switch => "on|off",
            Kind::Number => "DAYS",
            Kind::Decimal => "PERCENT",
            Kind::Lines => "LINE",
            Kind::Choice(_) => "ENCODING",
            Kind::Text => "TEXT",
        };
        let arg = Arg::new(field.flag)
            .long(field.flag)
            .value_name(value_name)
            .help(field.help);
        let arg = if field.kind == Kind::Lines {
            arg.action(ArgAction::Append)
        } else {
            arg.action(ArgAction::Set)
        };
        command.arg(arg)
    });
    REMOVALS.iter().fold(command, |command, (flag, _, help)| {
        command.arg(
            Arg::new(*flag)
                .long(*flag)
                .action(ArgAction::SetTrue)
                .help(*help),
        )
    })
}

/// The whole command line.
pub fn command() -> Command {
    Command::new("psi-admin")
        .about("Administer a buyer organisation's procurement integration (Coupa, SAP Ariba) through the SigV4-signed admin API")
        .after_help(format!(
            "Credentials come from the usual AWS chain (environment, profile incl. SSO, container or instance role).\n\
             The endpoint is --endpoint or ${ENDPOINT_ENV}: the API's base URL, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com\n\
             Exit codes: 0 done; 1 the API refused or failed; 2 bad arguments; 3 no credentials or the API could not be reached."
        ))
        .subcommand_required(true)
        .arg_required_else_help(true)
        .arg(
            Arg::new("endpoint")
                .long("endpoint")
                .global(true)
                .value_name("URL")
                .help(format!("the admin API's base URL (default: ${ENDPOINT_ENV})")),
        )
        .arg(
            Arg::new("region")
                .long("region")
                .global(true)
                .value_name("REGION")
                .help("the API's region (default: from an execute-api endpoint's host, else the AWS configuration)"),
        )
        .arg(
            Arg::new("json")
                .long("json")
                .global(true)
                .action(ArgAction::SetTrue)
                .help("print the API's JSON answers (and errors as JSON) for scripts"),
        )
        .subcommand(settings_args(
            Command::new("create")
                .about("Create an organisation's integration: test mode on unless --test-mode off; prints the purchase information with the new secret, shown once")
                .arg(org_arg())
                .arg(
                    Arg::new("system")
                        .long("system")
                        .required(true)
                        .value_name("coupa|ariba")
                        .value_parser(SYSTEMS.to_vec())
                        .help("the procurement system"),
                ),
        )
        .mut_arg("name", |a| a.required(true)))
        .subcommand(settings_args(
            Command::new("update")
                .about("Change the given settings of an existing integration; every other setting is kept")
                .arg(org_arg()),
        ))
        .subcommand(
            Command::new("show")
                .about("The settings and the purchase information")
                .arg(org_arg()),
        )
        .subcommand(
            Command::new("purchase-info")
                .about("What to paste into Coupa or Ariba, field by field, with where each value goes")
                .arg(org_arg()),
        )
        .subcommand(
            Command::new("rotate-secret")
                .about("Draw a new shared secret (Coupa), shown once; the old one stops working at once")
                .arg(org_arg())
                .arg(
                    Arg::new("instance")
                        .long("instance")
                        .value_name("production|test")
                        .value_parser(["production", "test"])
                        .help("which credential set (default: production)"),
                ),
        )
        .subcommand(
            Command::new("disable")
                .about("Refuse every cXML request of the organisation; settings and secret are kept")
                .arg(org_arg()),
        )
        .subcommand(
            Command::new("enable")
                .about("Accept the organisation's cXML requests again, with its kept settings")
                .arg(org_arg()),
        )
        .subcommand(
            Command::new("messages")
                .about("The message log: the cXML documents exchanged with the organisation, newest first")
                .arg(org_arg())
                .arg(
                    Arg::new("limit")
                        .long("limit")
                        .value_name("N")
                        .value_parser(clap::value_parser!(u32).range(1..=1000))
                        .help("messages per page"),
                )
                .arg(
                    Arg::new("before")
                        .long("before")
                        .value_name("CURSOR")
                        .help("the page after the one that answered this cursor as `next`"),
                )
                .arg(
                    Arg::new("all")
                        .long("all")
                        .action(ArgAction::SetTrue)
                        .help("follow the cursor to the last page"),
                )
                .arg(
                    Arg::new("documents")
                        .long("documents")
                        .action(ArgAction::SetTrue)
                        .help("print each document (SharedSecrets removed) below its line"),
                ),
        )
}

fn usage(message: String) -> clap::Error {
    command().error(clap::error::ErrorKind::ValueValidation, message)
}

/// The settings changes the flags of `create`/`update` ask for, in the table's order.
fn changes(matches: &ArgMatches) -> Result<Vec<Change>, clap::Error> {
    let mut changes = Vec::new();
    for field in FIELDS {
        let Some(values) = matches.get_many::<String>(field.flag) else {
            continue;
        };
        let values: Vec<String> = values.cloned().collect();
        let value = fields::value_of(field, &values).map_err(usage)?;
        changes.push(Change::Set(field.path, value));
    }
    for (flag, path, _) in REMOVALS {
        if matches.get_flag(flag) {
            if let Some(set) = changes.iter().find_map(|c| match c {
                Change::Set(p, _) if p.starts_with(path) => Some(p.join(".")),
                _ => None,
            }) {
                return Err(usage(format!(
                    "--{flag} removes what the flag for `{set}` sets: give one of them"
                )));
            }
            changes.push(Change::Remove(path));
        }
    }
    Ok(changes)
}

/// Parses a command line (`args` with the program name first).
pub fn parse<I, T>(args: I) -> Result<Invocation, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matches = command().try_get_matches_from(args)?;
    let global = Global {
        endpoint: matches.get_one::<String>("endpoint").cloned(),
        region: matches.get_one::<String>("region").cloned(),
        json: matches.get_flag("json"),
    };
    let (name, sub) = matches
        .subcommand()
        .ok_or_else(|| usage("a subcommand is required".into()))?;
    let org = sub.get_one::<String>("org").cloned().unwrap_or_default();
    check_org(&org).map_err(usage)?;
    let action = match name {
        "create" => Action::Create {
            org,
            system: sub.get_one::<String>("system").cloned().unwrap_or_default(),
            changes: changes(sub)?,
        },
        "update" => {
            let changes = changes(sub)?;
            if changes.is_empty() {
                return Err(usage(
                    "update changes only the settings given: give at least one settings flag (see psi-admin update --help)".into(),
                ));
            }
            Action::Update { org, changes }
        }
        "show" => Action::Show { org },
        "purchase-info" => Action::PurchaseInfo { org },
        "rotate-secret" => Action::RotateSecret {
            org,
            instance: sub.get_one::<String>("instance").map(|i| match i.as_str() {
                "test" => Instance::Test,
                _ => Instance::Production,
            }),
        },
        "disable" => Action::SetEnabled {
            org,
            enabled: false,
        },
        "enable" => Action::SetEnabled { org, enabled: true },
        "messages" => Action::Messages {
            org,
            limit: sub.get_one::<u32>("limit").copied(),
            before: sub.get_one::<String>("before").cloned(),
            all: sub.get_flag("all"),
            documents: sub.get_flag("documents"),
        },
        other => return Err(usage(format!("unknown subcommand {other}"))),
    };
    Ok(Invocation { global, action })
}

/// Organisation IDs are plain (the API takes the path segment as it is, undecoded): anything
/// that would change the path is refused here rather than sent somewhere else.
fn check_org(org: &str) -> Result<(), String> {
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~');
    if org.is_empty() || !org.chars().all(plain) || org == "." || org == ".." {
        return Err(format!(
            "'{org}' is not an organisation ID: letters, digits, '-', '_', '.' and '~' only"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_line(line: &str) -> Result<Invocation, clap::Error> {
        parse(std::iter::once("psi-admin").chain(line.split_whitespace()))
    }

    #[test]
    fn create_takes_the_system_the_name_and_any_settings_flag() {
        let invocation = parse_line(
            "create acme --system coupa --name Acme --buyer-domain DUNS --buyer-identity acme \
             --invoice-url https://acme.example/inv --remit-to-street S1 --remit-to-street S2 \
             --tax-rate-percent 19 --json --endpoint http://127.0.0.1:1",
        )
        .unwrap();
        assert_eq!(
            invocation.global,
            Global {
                endpoint: Some("http://127.0.0.1:1".into()),
                region: None,
                json: true
            }
        );
        let Action::Create {
            org,
            system,
            changes,
        } = invocation.action
        else {
            panic!("not create");
        };
        assert_eq!((org.as_str(), system.as_str()), ("acme", "coupa"));
        assert_eq!(
            changes,
            [
                Change::Set(&["name"], json!("Acme")),
                Change::Set(&["buyer_domain"], json!("DUNS")),
                Change::Set(&["buyer_identity"], json!("acme")),
                Change::Set(&["invoice_url"], json!("https://acme.example/inv")),
                Change::Set(&["invoicing", "tax", "rate_percent"], json!("19")),
                Change::Set(&["invoicing", "remit_to", "street"], json!(["S1", "S2"])),
            ]
        );
        assert!(
            parse_line("create acme --name Acme").is_err(),
            "system required"
        );
        assert!(
            parse_line("create acme --system coupa").is_err(),
            "name required"
        );
        assert!(parse_line("create acme --system sap --name A").is_err());
    }

    #[test]
    fn update_needs_a_change_and_refuses_contradictions() {
        let Action::Update { changes, .. } = parse_line("update acme --test-mode off --no-tax")
            .unwrap()
            .action
        else {
            panic!("not update");
        };
        assert_eq!(
            changes,
            [
                Change::Set(&["test_mode"], json!(false)),
                Change::Remove(&["invoicing", "tax"])
            ]
        );
        let e = parse_line("update acme").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("at least one"), "{e}");
        let e = parse_line("update acme --no-tax --tax-category vat").unwrap_err();
        assert!(e.to_string().contains("--no-tax"), "{e}");
        assert!(parse_line("update acme --test-mode perhaps").is_err());
        assert!(
            parse_line("update acme --system ariba").is_err(),
            "system is create's"
        );
    }

    #[test]
    fn the_other_subcommands() {
        let action = |line: &str| parse_line(line).unwrap().action;
        assert_eq!(
            action("disable acme"),
            Action::SetEnabled {
                org: "acme".into(),
                enabled: false
            }
        );
        assert_eq!(
            action("enable acme"),
            Action::SetEnabled {
                org: "acme".into(),
                enabled: true
            }
        );
        assert_eq!(
            action("rotate-secret acme --instance test"),
            Action::RotateSecret {
                org: "acme".into(),
                instance: Some(Instance::Test)
            }
        );
        assert_eq!(
            action("messages acme --limit 5 --before c1 --documents"),
            Action::Messages {
                org: "acme".into(),
                limit: Some(5),
                before: Some("c1".into()),
                all: false,
                documents: true
            }
        );
        assert!(parse_line("messages acme --limit 0").is_err());
        assert_eq!(
            action("purchase-info acme --region eu-west-1"),
            Action::PurchaseInfo { org: "acme".into() }
        );
    }

    #[test]
    fn an_org_id_that_would_change_the_path_is_refused() {
        for org in ["a/b", "a?b", "..", "a%2Fb", "a#b"] {
            let e = parse_line(&format!("show {org}")).unwrap_err();
            assert!(
                e.to_string().contains("not an organisation ID"),
                "{org}: {e}"
            );
        }
        assert!(parse_line("show e2e-admin-1.2_x~y").is_ok());
    }
}
