//! The settings flags of `create` and `update`: one flag for every field of the admin API's
//! settings document (`shared/procurement/src/settings.rs`, `SettingsDocument`), each with
//! the JSON path it sets. The API validates; the tool only puts each value where it goes.
//!
//! A text flag given as an empty string clears the field (the API takes a blank or null
//! optional field as absent); the `--no-...` flags remove a whole nested object.

use serde_json::{Map, Value};

/// What a flag's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text; empty clears (JSON null).
    Text,
    /// on/off (also true/false, yes/no).
    Switch,
    /// A whole number (days).
    Number,
    /// A decimal, sent as a string (the API reads money-like values as decimal strings).
    Decimal,
    /// Repeatable: every occurrence is one line of a list.
    Lines,
    /// One of fixed values.
    Choice(&'static [&'static str]),
}

/// One settings field as a flag.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub flag: &'static str,
    pub path: &'static [&'static str],
    pub kind: Kind,
    pub help: &'static str,
}

/// The form encodings the API takes (`cxml::FormEncoding`).
pub const FORM_ENCODINGS: &[&str] = &["cxml-urlencoded", "cxml-base64"];
pub const SYSTEMS: &[&str] = &["coupa", "ariba"];

const fn field(
    flag: &'static str,
    path: &'static [&'static str],
    kind: Kind,
    help: &'static str,
) -> Field {
    Field {
        flag,
        path,
        kind,
        help,
    }
}

/// Every settings field but `system` (chosen by `create` only).
pub const FIELDS: &[Field] = &[
    field("name", &["name"], Kind::Text, "the integration's name"),
    field("description", &["description"], Kind::Text, "a description"),
    field(
        "test-mode",
        &["test_mode"],
        Kind::Switch,
        "test mode: every flow runs, nothing is subscribed or invoiced (on for a new integration)",
    ),
    field(
        "redirect",
        &["redirect"],
        Kind::Switch,
        "send the organisation's marketplace subscribe attempts to the procurement system",
    ),
    field(
        "preapprove-free",
        &["preapprove_free"],
        Kind::Switch,
        "Free products subscribe at once, without a requisition",
    ),
    field(
        "preapprove-byol",
        &["preapprove_byol"],
        Kind::Switch,
        "BYOL products subscribe at once, without a requisition",
    ),
    field(
        "form-encoding",
        &["form_encoding"],
        Kind::Choice(FORM_ENCODINGS),
        "how the cart travels back (default: cxml-urlencoded for Coupa, cxml-base64 for Ariba)",
    ),
    field(
        "enabled",
        &["enabled"],
        Kind::Switch,
        "off refuses every cXML request of the buyer and keeps every setting (see `disable`)",
    ),
    // SAP Ariba
    field(
        "ariba-network-id",
        &["ariba_network_id"],
        Kind::Text,
        "Ariba: the buyer's production ANID (AN and digits)",
    ),
    field(
        "ariba-test-network-id",
        &["ariba_test_network_id"],
        Kind::Text,
        "Ariba: the buyer's test account ANID (AN...-T)",
    ),
    field(
        "order-confirmations",
        &["order_confirmations"],
        Kind::Switch,
        "Ariba: send order confirmations to the Ariba Network (on by default)",
    ),
    // Coupa, production instance
    field(
        "buyer-domain",
        &["buyer_domain"],
        Kind::Text,
        "Coupa: the domain of the From credential Coupa sends (e.g. DUNS)",
    ),
    field(
        "buyer-identity",
        &["buyer_identity"],
        Kind::Text,
        "Coupa: the identity of the From credential",
    ),
    field(
        "sender-domain",
        &["sender_domain"],
        Kind::Text,
        "Coupa: the Sender credential's domain, when a network sends for the buyer (default: the buyer's)",
    ),
    field(
        "sender-identity",
        &["sender_identity"],
        Kind::Text,
        "Coupa: the Sender credential's identity",
    ),
    field(
        "invoice-url",
        &["invoice_url"],
        Kind::Text,
        "Coupa: where invoices go (https)",
    ),
    // Coupa, test instance
    field(
        "test-buyer-domain",
        &["test_instance", "buyer_domain"],
        Kind::Text,
        "Coupa test instance: the From credential's domain",
    ),
    field(
        "test-buyer-identity",
        &["test_instance", "buyer_identity"],
        Kind::Text,
        "Coupa test instance: the From credential's identity",
    ),
    field(
        "test-sender-domain",
        &["test_instance", "sender_domain"],
        Kind::Text,
        "Coupa test instance: the Sender credential's domain",
    ),
    field(
        "test-sender-identity",
        &["test_instance", "sender_identity"],
        Kind::Text,
        "Coupa test instance: the Sender credential's identity",
    ),
    field(
        "test-invoice-url",
        &["test_instance", "invoice_url"],
        Kind::Text,
        "Coupa test instance: where its invoices go (https)",
    ),
    // Coupa invoices
    field(
        "payment-term-days",
        &["invoicing", "payment_term_days"],
        Kind::Number,
        "Coupa invoices: PaymentTerm payInNumberOfDays (default 30)",
    ),
    field(
        "payment-term-code",
        &["invoicing", "payment_term_code"],
        Kind::Text,
        "Coupa invoices: the payment-term code (extrinsic PaymentTermCode)",
    ),
    field(
        "tax-category",
        &["invoicing", "tax", "category"],
        Kind::Text,
        "Coupa invoices: the tax category (sales, vat, gst, ...)",
    ),
    field(
        "tax-rate-percent",
        &["invoicing", "tax", "rate_percent"],
        Kind::Decimal,
        "Coupa invoices: the tax rate in percent (e.g. 19 or 7.25)",
    ),
    field(
        "tax-description",
        &["invoicing", "tax", "description"],
        Kind::Text,
        "Coupa invoices: the tax's description",
    ),
    field(
        "remit-to-name",
        &["invoicing", "remit_to", "name"],
        Kind::Text,
        "Coupa invoices: the remit-to name",
    ),
    field(
        "remit-to-code",
        &["invoicing", "remit_to", "code"],
        Kind::Text,
        "Coupa invoices: Coupa's remit-to code",
    ),
    field(
        "remit-to-street",
        &["invoicing", "remit_to", "street"],
        Kind::Lines,
        "Coupa invoices: a remit-to street line (repeat for each line)",
    ),
    field(
        "remit-to-city",
        &["invoicing", "remit_to", "city"],
        Kind::Text,
        "Coupa invoices: the remit-to city",
    ),
    field(
        "remit-to-state",
        &["invoicing", "remit_to", "state"],
        Kind::Text,
        "Coupa invoices: the remit-to state",
    ),
    field(
        "remit-to-postal-code",
        &["invoicing", "remit_to", "postal_code"],
        Kind::Text,
        "Coupa invoices: the remit-to postal code",
    ),
    field(
        "remit-to-country-code",
        &["invoicing", "remit_to", "country_code"],
        Kind::Text,
        "Coupa invoices: the remit-to country, ISO 3166 two letters",
    ),
    field(
        "remit-to-country",
        &["invoicing", "remit_to", "country"],
        Kind::Text,
        "Coupa invoices: the remit-to country's name",
    ),
    field(
        "supplier-tax-id-prefix",
        &["invoicing", "supplier_tax_id", "prefix"],
        Kind::Text,
        "Coupa invoices: the supplier's tax id prefix (taxPrefix)",
    ),
    field(
        "supplier-tax-id-number",
        &["invoicing", "supplier_tax_id", "number"],
        Kind::Text,
        "Coupa invoices: the supplier's tax id number (taxNumber)",
    ),
    field(
        "invoice-to-domain",
        &["invoicing", "to_domain"],
        Kind::Text,
        "Coupa invoices: the invoice's To domain (default: the buyer credential)",
    ),
    field(
        "invoice-to-identity",
        &["invoicing", "to_identity"],
        Kind::Text,
        "Coupa invoices: the invoice's To identity",
    ),
];

/// The flags that remove a nested object: (flag, path, help).
pub const REMOVALS: &[(&str, &[&str], &str)] = &[
    (
        "no-test-instance",
        &["test_instance"],
        "Coupa: remove the test instance (its credential and secret)",
    ),
    ("no-tax", &["invoicing", "tax"], "Coupa invoices: no tax"),
    (
        "no-remit-to",
        &["invoicing", "remit_to"],
        "Coupa invoices: no remit-to address",
    ),
    (
        "no-supplier-tax-id",
        &["invoicing", "supplier_tax_id"],
        "Coupa invoices: no supplier tax id",
    ),
];

/// One change a flag asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Set(&'static [&'static str], Value),
    Remove(&'static [&'static str]),
}

/// Reads an on/off value.
pub fn switch(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" => Ok(true),
        "off" | "false" | "no" => Ok(false),
        _ => Err(format!("'{text}' is not on or off")),
    }
}

/// The JSON value of one flag's values (several only for [`Kind::Lines`]).
pub fn value_of(field: &Field, values: &[String]) -> Result<Value, String> {
    let one = values.last().map(String::as_str).unwrap_or_default();
    let flag = field.flag;
    Ok(match field.kind {
        Kind::Text if one.trim().is_empty() => Value::Null,
        Kind::Text => Value::String(one.to_string()),
        Kind::Switch => Value::Bool(switch(one).map_err(|e| format!("--{flag}: {e}"))?),
        Kind::Number => Value::from(
            one.trim()
                .parse::<u64>()
                .map_err(|_| format!("--{flag}: '{one}' is not a whole number"))?,
        ),
        Kind::Decimal => {
            let text = one.trim();
            let digits = text.strip_prefix('-').unwrap_or(text);
            let well_formed = !digits.is_empty()
                && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
                && digits.matches('.').count() <= 1;
            if !well_formed {
                return Err(format!("--{flag}: '{one}' is not a decimal number"));
            }
            Value::String(text.to_string())
        }
        Kind::Lines => Value::Array(
            values
                .iter()
                .filter(|v| !v.trim().is_empty())
                .map(|v| Value::String(v.clone()))
                .collect(),
        ),
        Kind::Choice(choices) => {
            if !choices.contains(&one) {
                return Err(format!(
                    "--{flag}: '{one}' is not one of {}",
                    choices.join(", ")
                ));
            }
            Value::String(one.to_string())
        }
    })
}

/// Applies the changes to a settings document, creating nested objects as needed.
pub fn apply(document: &mut Value, changes: &[Change]) {
    for change in changes {
        match change {
            Change::Set(path, value) => {
                let (last, parents) = path.split_last().expect("paths are never empty");
                let mut at = &mut *document;
                for key in parents {
                    at = object(at).entry(key.to_string()).or_insert(Value::Null);
                }
                object(at).insert(last.to_string(), value.clone());
            }
            Change::Remove(path) => {
                let (last, parents) = path.split_last().expect("paths are never empty");
                let mut at = Some(&mut *document);
                for key in parents {
                    at = at.and_then(|v| v.get_mut(*key));
                }
                if let Some(Value::Object(map)) = at {
                    map.remove(*last);
                }
            }
        }
    }
}

/// The object at `value`, made one if it is anything else (null, absent).
fn object(value: &mut Value) -> &mut Map<String, Value> {
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    match value {
        Value::Object(map) => map,
        _ => unreachable!("just made an object"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn by_flag(flag: &str) -> &'static Field {
        FIELDS.iter().find(|f| f.flag == flag).unwrap()
    }

    #[test]
    fn every_document_field_has_a_flag() {
        // The fields of `SettingsDocument` (and its nested objects), as the API names them.
        let document_fields = [
            "name",
            "description",
            "test_mode",
            "redirect",
            "preapprove_free",
            "preapprove_byol",
            "form_encoding",
            "enabled",
            "ariba_network_id",
            "ariba_test_network_id",
            "order_confirmations",
            "buyer_domain",
            "buyer_identity",
            "sender_domain",
            "sender_identity",
            "invoice_url",
            "test_instance.buyer_domain",
            "test_instance.buyer_identity",
            "test_instance.sender_domain",
            "test_instance.sender_identity",
            "test_instance.invoice_url",
            "invoicing.payment_term_days",
            "invoicing.payment_term_code",
            "invoicing.tax.category",
            "invoicing.tax.rate_percent",
            "invoicing.tax.description",
            "invoicing.remit_to.name",
            "invoicing.remit_to.code",
            "invoicing.remit_to.street",
            "invoicing.remit_to.city",
            "invoicing.remit_to.state",
            "invoicing.remit_to.postal_code",
            "invoicing.remit_to.country_code",
            "invoicing.remit_to.country",
            "invoicing.supplier_tax_id.prefix",
            "invoicing.supplier_tax_id.number",
            "invoicing.to_domain",
            "invoicing.to_identity",
        ];
        let paths: Vec<String> = FIELDS.iter().map(|f| f.path.join(".")).collect();
        for name in document_fields {
            assert!(paths.contains(&name.to_string()), "no flag sets {name}");
        }
        assert_eq!(paths.len(), document_fields.len(), "{paths:?}");
    }

    #[test]
    fn values_become_the_json_the_api_takes() {
        let v = |flag: &str, values: &[&str]| {
            value_of(
                by_flag(flag),
                &values.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            )
        };
        assert_eq!(v("test-mode", &["off"]), Ok(json!(false)));
        assert_eq!(v("redirect", &["ON"]), Ok(json!(true)));
        assert!(
            v("redirect", &["maybe"])
                .unwrap_err()
                .contains("--redirect")
        );
        assert_eq!(v("invoice-url", &[""]), Ok(Value::Null), "blank clears");
        assert_eq!(v("name", &["Acme"]), Ok(json!("Acme")));
        assert_eq!(v("payment-term-days", &["45"]), Ok(json!(45)));
        assert!(v("payment-term-days", &["soon"]).is_err());
        assert_eq!(v("tax-rate-percent", &["7.25"]), Ok(json!("7.25")));
        assert!(v("tax-rate-percent", &["7,25"]).is_err());
        assert_eq!(
            v("remit-to-street", &["Hauptstr. 1", "Hof 2"]),
            Ok(json!(["Hauptstr. 1", "Hof 2"]))
        );
        assert_eq!(
            v("form-encoding", &["cxml-base64"]),
            Ok(json!("cxml-base64"))
        );
        assert!(
            v("form-encoding", &["base64"])
                .unwrap_err()
                .contains("cxml-urlencoded")
        );
    }

    #[test]
    fn changes_land_at_their_path_and_removals_take_the_object() {
        let mut doc = json!({"system": "coupa", "name": "Old", "invoicing": {"payment_term_days": 30},
                             "test_instance": null});
        apply(
            &mut doc,
            &[
                Change::Set(&["name"], json!("New")),
                Change::Set(&["invoicing", "tax", "rate_percent"], json!("19")),
                Change::Set(&["test_instance", "buyer_identity"], json!("acme-test")),
            ],
        );
        assert_eq!(
            doc,
            json!({"system": "coupa", "name": "New",
                   "invoicing": {"payment_term_days": 30, "tax": {"rate_percent": "19"}},
                   "test_instance": {"buyer_identity": "acme-test"}})
        );
        apply(
            &mut doc,
            &[
                Change::Remove(&["invoicing", "tax"]),
                Change::Remove(&["test_instance"]),
                Change::Remove(&["invoicing", "remit_to"]),
            ],
        );
        assert_eq!(
            doc,
            json!({"system": "coupa", "name": "New", "invoicing": {"payment_term_days": 30}})
        );
    }
}
