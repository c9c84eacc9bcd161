//! The Level 1 punchout catalog item a supplier publishes on the SAP Ariba Network, as a
//! CIF 3.0 (Catalog Interchange Format) file: buyers find the supplier's punchout in their
//! Ariba catalog through this one item and start the punchout from it.
//!
//! The Network accepts CIF and cXML index catalogs; some buyers accept only CIF for punchout
//! items, so CIF is what is written. A punchout item carries the punchout setup URL in the
//! `Supplier URL` field and `PunchOut Enabled` TRUE; price and unit of measure may stay empty
//! (the catalog's store-level item opens the whole catalog). Sources: SAP Ariba's CIF punchout
//! example "Work Chairs" (reproduced in public CIF readers), punchoutcommerce.com "CIF
//! Catalogs" (field limits), SAP KB0394369 (validation and publishing).

use std::fmt::Write as _;

use time::OffsetDateTime;
use time::macros::format_description;

/// Field limits of CIF 3.0 (punchoutcommerce.com "CIF Catalogs").
const MAX_ID: usize = 255;
const MAX_DESCRIPTION: usize = 2000;
const MAX_URL: usize = 255;
const MAX_CODE: usize = 40;

/// The columns written, in order.
const FIELDNAMES: [&str; 14] = [
    "Supplier ID",
    "Supplier Part ID",
    "Manufacturer Part ID",
    "Item Description",
    "SPSC Code",
    "Unit Price",
    "Unit of Measure",
    "Lead Time",
    "Manufacturer Name",
    "Supplier URL",
    "Manufacturer URL",
    "Market Price",
    "PunchOut Enabled",
    "PunchoutLevel",
];

/// The one punchout item of a Level 1 catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PunchoutItem {
    /// The supplier's ID in the domain `supplier_id_domain` (its ANID for `NetworkID`).
    pub supplier_id: String,
    pub supplier_id_domain: String,
    /// The catalog item's part ID (the punchout is for the whole catalog).
    pub supplier_part_id: String,
    /// What buyers see in their catalog search; the important words first.
    pub description: String,
    /// UNSPSC code buyers file the item under.
    pub unspsc: String,
    /// The punchout setup URL the buyer's Ariba sends its PunchOutSetupRequest to.
    pub punchout_url: String,
    pub manufacturer_name: String,
    /// ISO 4217; required in the header even when the item has no price.
    pub currency: String,
}

/// Why a catalog cannot be written as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl PunchoutItem {
    fn check(&self) -> Result<(), Invalid> {
        let field = |name: &str, value: &str, max: usize| -> Result<(), Invalid> {
            if value.trim().is_empty() {
                return Err(Invalid(format!("{name} must not be empty")));
            }
            if value.chars().count() > max {
                return Err(Invalid(format!("{name} must be at most {max} characters")));
            }
            if value.chars().any(char::is_control) {
                return Err(Invalid(format!(
                    "{name} must not contain line breaks or control characters"
                )));
            }
            Ok(())
        };
        field("the supplier ID", &self.supplier_id, MAX_ID)?;
        field("the supplier ID domain", &self.supplier_id_domain, MAX_ID)?;
        field("the supplier part ID", &self.supplier_part_id, MAX_ID)?;
        field("the description", &self.description, MAX_DESCRIPTION)?;
        field("the UNSPSC code", &self.unspsc, MAX_CODE)?;
        if !self.unspsc.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Invalid(format!(
                "the UNSPSC code must be digits, not '{}'",
                self.unspsc
            )));
        }
        field("the punchout URL", &self.punchout_url, MAX_URL)?;
        if !self
            .punchout_url
            .to_ascii_lowercase()
            .starts_with("https://")
        {
            return Err(Invalid(format!(
                "the punchout URL must be https://, not '{}'",
                self.punchout_url
            )));
        }
        field("the manufacturer name", &self.manufacturer_name, MAX_ID)?;
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(Invalid(format!(
                "the currency must be an ISO 4217 code such as USD, not '{}'",
                self.currency
            )));
        }
        Ok(())
    }
}

/// One CIF field: quoted when it holds a comma or a quote, quotes doubled.
fn field(value: &str) -> String {
    if value.contains([',', '"']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// The CIF 3.0 file of a Level 1 punchout catalog: one store-level punchout item.
pub fn punchout_catalog(item: &PunchoutItem, now: OffsetDateTime) -> Result<String, Invalid> {
    item.check()?;
    let timestamp = now
        .to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .map_err(|e| Invalid(format!("the timestamp cannot be written: {e}")))?;
    let row = [
        item.supplier_id.as_str(),
        item.supplier_part_id.as_str(),
        "",
        item.description.as_str(),
        item.unspsc.as_str(),
        "",
        "",
        "",
        item.manufacturer_name.as_str(),
        item.punchout_url.as_str(),
        "",
        "",
        "TRUE",
        "store",
    ];
    let mut out = String::new();
    // CIF lines end in CRLF, as the Network's own example files do.
    let mut line = |text: &str| {
        let _ = write!(out, "{text}\r\n");
    };
    line("CIF_I_V3.0");
    line("CHARSET: UTF-8");
    line("LOADMODE: F");
    line("CODEFORMAT: UNSPSC");
    line(&format!("CURRENCY: {}", item.currency));
    line(&format!("SUPPLIERID_DOMAIN: {}", item.supplier_id_domain));
    line("ITEMCOUNT: 1");
    line(&format!("TIMESTAMP: {timestamp}"));
    line("UNUOM: TRUE");
    line("COMMENTS: Level 1 punchout catalog item: opens the supplier's catalog");
    line(&format!("FIELDNAMES: {}", FIELDNAMES.join(",")));
    line("DATA");
    line(&row.map(field).join(","));
    line("ENDOFDATA");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn item() -> PunchoutItem {
        PunchoutItem {
            supplier_id: "AN01000000099".into(),
            supplier_id_domain: "NetworkID".into(),
            supplier_part_id: "software-marketplace".into(),
            description: "Software Marketplace catalog: SaaS, machine images, \"containers\""
                .into(),
            unspsc: "43230000".into(),
            punchout_url: "https://punchout.example.com/punchout/setup".into(),
            manufacturer_name: "Software Marketplace".into(),
            currency: "USD".into(),
        }
    }

    #[test]
    fn the_file_has_the_cif_header_one_punchout_row_and_the_end_marker() {
        let cif = punchout_catalog(&item(), datetime!(2026-12-01 10:00 UTC)).unwrap();
        let lines: Vec<&str> = cif.split("\r\n").collect();
        assert_eq!(lines[0], "CIF_I_V3.0");
        assert!(lines.contains(&"SUPPLIERID_DOMAIN: NetworkID"));
        assert!(lines.contains(&"TIMESTAMP: 2026-12-01 10:00:00"));
        assert!(lines.contains(&"ITEMCOUNT: 1"));
        let names = lines
            .iter()
            .find_map(|l| l.strip_prefix("FIELDNAMES: "))
            .unwrap();
        let data = lines.iter().position(|l| *l == "DATA").unwrap();
        assert_eq!(lines[data + 2], "ENDOFDATA");
        let row = lines[data + 1];
        assert!(
            row.starts_with("AN01000000099,software-marketplace,,\"Software Marketplace catalog: SaaS, machine images, \"\"containers\"\"\",43230000,"),
            "{row}"
        );
        // The columns line up: split the row respecting quotes.
        let mut fields = Vec::new();
        let (mut current, mut quoted, mut chars) = (String::new(), false, row.chars().peekable());
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    chars.next();
                    current.push('"');
                }
                ('"', _) => quoted = !quoted,
                (',', false) => fields.push(std::mem::take(&mut current)),
                (c, _) => current.push(c),
            }
        }
        fields.push(current);
        let names: Vec<&str> = names.split(',').collect();
        assert_eq!(fields.len(), names.len());
        let at = |name: &str| fields[names.iter().position(|n| *n == name).unwrap()].as_str();
        assert_eq!(
            at("Supplier URL"),
            "https://punchout.example.com/punchout/setup"
        );
        assert_eq!(at("PunchOut Enabled"), "TRUE");
        assert_eq!(at("SPSC Code"), "43230000");
        assert_eq!(at("Item Description"), item().description);
    }

    #[test]
    fn what_ariba_would_refuse_is_refused_here() {
        let now = datetime!(2026-12-01 10:00 UTC);
        let mut bad = item();
        bad.punchout_url = "http://punchout.example.com/setup".into();
        assert!(punchout_catalog(&bad, now).unwrap_err().0.contains("https"));
        let mut bad = item();
        bad.description = "two\nlines".into();
        assert!(punchout_catalog(&bad, now).is_err());
        let mut bad = item();
        bad.unspsc = "4323-0000".into();
        assert!(punchout_catalog(&bad, now).is_err());
        let mut bad = item();
        bad.description = "d".repeat(2001);
        assert!(punchout_catalog(&bad, now).unwrap_err().0.contains("2000"));
        let mut bad = item();
        bad.supplier_id = " ".into();
        assert!(punchout_catalog(&bad, now).is_err());
    }
}
