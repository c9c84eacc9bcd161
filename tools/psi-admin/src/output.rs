//! The readable output: settings, the purchase information with where each value goes, the
//! message log. (`--json` prints the API's answers instead.)

use std::fmt::Write;

use serde_json::Value;

/// Where each purchase-information value goes in Coupa (README, "Coupa test and production
/// instances": Compass "Punchout Site Settings" and the supplier record's PO Transmission).
const COUPA: &[(&str, &str)] = &[
    ("punchout_setup_url", "punchout site: Punchout URL"),
    (
        "order_url",
        "supplier record, PO Transmission (PO Method cXML): PO URL",
    ),
    (
        "buyer_domain",
        "punchout site: Domain; supplier record: Our Domain",
    ),
    (
        "buyer_identity",
        "punchout site: Identity; supplier record: Our Identity",
    ),
    ("sender_domain", "punchout site: Sender Domain"),
    ("sender_identity", "punchout site: Sender Identity"),
    ("supplier_domain", "supplier record: Supplier Domain"),
    ("supplier_identity", "supplier record: Supplier Identity"),
    (
        "shared_secret",
        "punchout site: Secret; supplier record: Shared Secret",
    ),
    (
        "invoice_url",
        "given by the customer: where its instance takes cXML invoices",
    ),
    (
        "invoice_shared_secret",
        "supplier record: the supplier's invoice secret (the Sender SharedSecret of our invoices)",
    ),
    ("open_buy_url", "Coupa Open Buy: the base URL"),
    (
        "open_buy_credentials",
        "Coupa Open Buy: the credentials (<domain>/<identity>:<shared secret>)",
    ),
];

/// Where each value goes for SAP Ariba (README, "SAP Ariba through the Ariba Network" and
/// "Publishing the Level 1 catalog item"): the supplier's Ariba account, not the buyer's.
const ARIBA: &[(&str, &str)] = &[
    (
        "punchout_setup_url",
        "supplier's Ariba account, cXML setup: the punchout URL; the catalog item's Supplier URL (cxml catalog --punchout-url)",
    ),
    (
        "order_url",
        "supplier's Ariba account, cXML setup (Electronic Order Routing): the order URL",
    ),
    (
        "supplier_anid",
        "the marketplace's ANID: the catalog's supplier ID (cxml catalog --supplier-id); buyers address it in To",
    ),
    (
        "buyer_domain",
        "the Network names the buyer by its ANID in From: nothing to enter",
    ),
    ("buyer_identity", "the buyer's production ANID"),
    (
        "buyer_test_identity",
        "the buyer's test account ANID: its documents always run in test mode",
    ),
    (
        "sender_domain",
        "the Ariba Network's Sender credential: nothing to enter",
    ),
    ("sender_identity", "the Ariba Network's Sender credential"),
];

/// The test instance's values go into the Coupa test instance, in the same places.
const COUPA_TEST: &[(&str, &str)] = &[
    (
        "punchout_setup_url",
        "test instance's punchout site: Punchout URL",
    ),
    ("order_url", "test instance's supplier record: PO URL"),
    (
        "buyer_domain",
        "test instance's punchout site: Domain; supplier record: Our Domain",
    ),
    (
        "buyer_identity",
        "test instance's punchout site: Identity; supplier record: Our Identity",
    ),
    (
        "sender_domain",
        "test instance's punchout site: Sender Domain",
    ),
    (
        "sender_identity",
        "test instance's punchout site: Sender Identity",
    ),
    (
        "supplier_domain",
        "test instance's supplier record: Supplier Domain",
    ),
    (
        "supplier_identity",
        "test instance's supplier record: Supplier Identity",
    ),
    (
        "shared_secret",
        "test instance's punchout site: Secret; supplier record: Shared Secret",
    ),
    (
        "invoice_url",
        "given by the customer: where the test instance takes cXML invoices",
    ),
];

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn rows(out: &mut String, info: &Value, places: &[(&str, &str)]) {
    let width = places.iter().map(|(f, _)| f.len()).max().unwrap_or(0);
    for (field, place) in places {
        let Some(value) = info.get(*field).filter(|v| !v.is_null()) else {
            continue;
        };
        let _ = writeln!(out, "  {field:<width$}  {}", text(value));
        let _ = writeln!(out, "  {:<width$}    -> {place}", "");
    }
}

/// The purchase information of an integration answer (GET, PUT or rotation), field by field.
pub fn purchase_information(answer: &Value) -> String {
    let info = &answer["purchase_information"];
    let org = text(&answer["org_id"]);
    let system = answer["settings"]["system"].as_str().unwrap_or_default();
    let mut out = String::new();
    let (name, places) = match system {
        "ariba" => ("SAP Ariba", ARIBA),
        _ => ("Coupa", COUPA),
    };
    let _ = writeln!(
        out,
        "Purchase information of organisation {org} ({name}{}): what to enter, and where",
        if system == "coupa" {
            ", production instance"
        } else {
            ""
        }
    );
    rows(&mut out, info, places);
    if let Some(notice) = info["shared_secret_notice"].as_str() {
        let _ = writeln!(out, "  Secret: {notice}");
    } else if system == "coupa" && info["shared_secret"].is_null() {
        let _ = writeln!(
            out,
            "  Secret: not shown (it is shown only when made); if it is lost: psi-admin rotate-secret {org}"
        );
    }
    let test = &info["test_instance"];
    if test.is_object() {
        let _ = writeln!(
            out,
            "\nCoupa test instance (its documents always run in test mode):"
        );
        rows(&mut out, test, COUPA_TEST);
        if let Some(notice) = test["shared_secret_notice"].as_str() {
            let _ = writeln!(out, "  Secret: {notice}");
        } else {
            let _ = writeln!(
                out,
                "  Secret: not shown; if it is lost: psi-admin rotate-secret {org} --instance test"
            );
        }
    }
    out
}

/// The settings as `field = value` lines, nested fields dotted.
pub fn settings(answer: &Value) -> String {
    fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    flatten(&path, value, out);
                }
            }
            Value::Array(items) if items.iter().all(Value::is_string) => out.push((
                prefix.into(),
                items.iter().map(text).collect::<Vec<_>>().join(" | "),
            )),
            other => out.push((prefix.into(), text(other))),
        }
    }
    let mut lines = Vec::new();
    flatten("", &answer["settings"], &mut lines);
    let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out = format!(
        "Settings of organisation {} (updated {}):\n",
        text(&answer["org_id"]),
        text(&answer["updated_at"])
    );
    for (key, value) in lines {
        let _ = writeln!(out, "  {key:<width$}  {value}");
    }
    out
}

/// One page (or all pages) of the message log as a table, each document below its line
/// with `documents`.
pub fn messages(org: &str, page: &Value, documents: bool) -> String {
    const COLUMNS: [&str; 6] = [
        "at",
        "direction",
        "message_type",
        "payload_id",
        "order_id",
        "status",
    ];
    let empty = Vec::new();
    let messages = page["messages"].as_array().unwrap_or(&empty);
    if messages.is_empty() {
        return format!("No messages logged for organisation {org}.\n");
    }
    let row = |m: &Value| -> [String; 6] {
        let status = match (&m["status_code"], m["status_text"].as_str()) {
            (Value::Null, _) => "-".to_string(),
            (code, Some(t)) if !t.is_empty() => format!("{} {t}", text(code)),
            (code, _) => text(code),
        };
        [
            text(&m["at"]),
            text(&m["direction"]),
            text(&m["message_type"]),
            text(&m["payload_id"]),
            text(&m["order_id"]),
            status,
        ]
    };
    let table: Vec<[String; 6]> = messages.iter().map(row).collect();
    let mut widths = COLUMNS.map(str::len);
    for line in &table {
        for (w, cell) in widths.iter_mut().zip(line) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let format = |cells: &[String]| {
        let mut line = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<width$}  ", width = widths[i]);
            }
        }
        line.trim_end().to_string() + "\n"
    };
    let mut out = format(&COLUMNS.map(String::from));
    for (line, message) in table.iter().zip(messages) {
        out.push_str(&format(line));
        if documents && let Some(document) = message["document"].as_str() {
            for doc_line in document.lines() {
                let _ = writeln!(out, "    {doc_line}");
            }
        }
    }
    if let Some(next) = page["next"].as_str() {
        let _ = writeln!(
            out,
            "More: psi-admin messages {org} --before {next}   (or --all)"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn coupa_answer(secret: Option<&str>) -> Value {
        let mut info = json!({
            "punchout_setup_url": "https://api.example/punchout/setup",
            "order_url": "https://api.example/order",
            "supplier_domain": "DUNS", "supplier_identity": "marketplace",
            "buyer_domain": "DUNS", "buyer_identity": "acme",
            "sender_domain": "DUNS", "sender_identity": "acme",
            "invoice_url": "https://acme.coupahost.com/cxml/invoices",
            "open_buy_url": "https://api.example/openbuy",
            "open_buy_credentials": "DUNS/acme:<shared secret>",
            "test_instance": {"punchout_setup_url": "https://api.example/punchout/setup",
                "order_url": "https://api.example/order", "buyer_domain": "DUNS",
                "buyer_identity": "acme-test", "sender_domain": "DUNS",
                "sender_identity": "acme-test", "supplier_domain": "DUNS",
                "supplier_identity": "marketplace", "always_test_mode": true}
        });
        if let Some(secret) = secret {
            info["shared_secret"] = json!(secret);
            info["shared_secret_notice"] = json!("shown this once and not stored");
        }
        json!({"org_id": "acme", "updated_at": "2026-12-03T08:00:00Z",
               "settings": {"system": "coupa", "name": "Acme", "test_mode": true,
                            "invoicing": {"payment_term_days": 30,
                                          "remit_to": {"street": ["S1", "S2"]}}},
               "purchase_information": info})
    }

    #[test]
    fn coupa_values_say_where_they_go() {
        let out = purchase_information(&coupa_answer(Some("f00d")));
        let after = |field: &str| {
            let at = out
                .find(&format!("  {field} "))
                .unwrap_or_else(|| panic!("{field}:\n{out}"));
            out[at..].lines().take(2).collect::<Vec<_>>().join("\n")
        };
        assert!(after("punchout_setup_url").contains("https://api.example/punchout/setup"));
        assert!(after("punchout_setup_url").ends_with("-> punchout site: Punchout URL"));
        assert!(after("order_url").ends_with("PO URL"), "{out}");
        assert!(after("buyer_identity").contains("acme"));
        assert!(after("buyer_identity").ends_with("Our Identity"));
        assert!(after("shared_secret").contains("f00d"));
        assert!(after("shared_secret").ends_with("Shared Secret"));
        assert!(out.contains("Secret: shown this once"), "{out}");
        assert!(out.contains("Coupa test instance"), "{out}");
        assert!(out.contains("acme-test"));
        assert!(out.contains("rotate-secret acme --instance test"), "{out}");

        let read = purchase_information(&coupa_answer(None));
        assert!(!read.contains("f00d"));
        assert!(
            read.contains("not shown (it is shown only when made)"),
            "{read}"
        );
    }

    #[test]
    fn ariba_values_point_to_the_supplier_account() {
        let answer = json!({"org_id": "buyer", "settings": {"system": "ariba"},
            "purchase_information": {"punchout_setup_url": "https://api.example/punchout/setup",
                "order_url": "https://api.example/order", "supplier_anid": "AN01000000099",
                "buyer_domain": "NetworkID", "buyer_identity": "AN01000000001",
                "buyer_test_identity": "AN01000000001-T",
                "sender_domain": "AribaNetworkUserId", "sender_identity": "sysadmin@ariba.com",
                "shared_secret_notice": "the SAP Ariba Network presents the supplier's own shared secret"}});
        let out = purchase_information(&answer);
        assert!(out.contains("(SAP Ariba)"), "{out}");
        assert!(out.contains("AN01000000099"));
        assert!(out.contains("cxml catalog --supplier-id"));
        assert!(out.contains("AN01000000001-T"));
        assert!(
            out.contains("Secret: the SAP Ariba Network presents"),
            "{out}"
        );
        assert!(
            !out.contains("rotate-secret"),
            "Ariba has no secret of its own: {out}"
        );
    }

    #[test]
    fn settings_print_one_field_a_line() {
        let out = settings(&coupa_answer(None));
        assert!(out.starts_with("Settings of organisation acme (updated 2026-12-03T08:00:00Z):"));
        assert!(
            out.lines()
                .any(|l| l.trim() == "test_mode                   true"
                    || (l.contains("test_mode") && l.trim_end().ends_with("true"))),
            "{out}"
        );
        assert!(out.contains("invoicing.remit_to.street"));
        assert!(out.contains("S1 | S2"), "{out}");
    }

    #[test]
    fn the_message_log_is_a_table_with_the_next_page() {
        let page = json!({"messages": [
            {"at": "2026-12-03T08:00:00Z", "direction": "in", "message_type": "OrderRequest",
             "payload_id": "p1@buyer", "order_id": "PO-1", "status_code": 200, "status_text": "OK",
             "document": "<cXML>\n<Request/>\n</cXML>"},
            {"at": "2026-12-03T07:59:00Z", "direction": "in", "message_type": "PunchOutSetupRequest",
             "payload_id": "p0@buyer", "order_id": null, "status_code": 401, "status_text": "Unauthorized",
             "document": "<cXML/>"}], "next": "cursor-2"});
        let out = messages("acme", &page, false);
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[0].starts_with("at  ") || lines[0].starts_with("at "),
            "{out}"
        );
        assert!(
            lines[1].contains("OrderRequest")
                && lines[1].contains("PO-1")
                && lines[1].ends_with("200 OK"),
            "{out}"
        );
        assert!(
            lines[2].contains("PunchOutSetupRequest") && lines[2].ends_with("401 Unauthorized")
        );
        // Columns line up: each row's payload ID starts where the header's does.
        let column = lines[0].find("payload_id").unwrap();
        assert_eq!(lines[1].find("p1@buyer"), Some(column), "{out}");
        assert_eq!(lines[2].find("p0@buyer"), Some(column), "{out}");
        assert!(!out.contains("<Request/>"));
        assert!(out.contains("psi-admin messages acme --before cursor-2"));
        let with_documents = messages("acme", &page, true);
        assert!(
            with_documents.contains("    <Request/>"),
            "{with_documents}"
        );
        let last = messages("acme", &json!({"messages": [], "next": null}), false);
        assert_eq!(last, "No messages logged for organisation acme.\n");
    }
}
