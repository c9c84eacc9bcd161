//! Validation against the official cXML 1.2.069 DTDs with xmllint: the one check every crate's
//! tests use for "every document we emit validates". Behind the `dtd-check` feature, for
//! tests only; xmllint must be installed (CI installs libxml2-utils).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The reference DTDs handed to the project, beside the checkout (`../shared/cxml/dtd`).
pub fn dtd_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/cxml/dtd/1.2.069")
}

/// Validates `xml` against the DTD file its DOCTYPE names (`cXML.dtd`, `InvoiceDetail.dtd`, ...),
/// read from [`dtd_dir`]; never from the network. Returns xmllint's complaint on failure.
pub fn validate(xml: &str) -> Result<(), String> {
    let named = xml
        .split_once("<!DOCTYPE")
        .and_then(|(_, rest)| rest.split_once('>'))
        .and_then(|(doctype, _)| doctype.rsplit('/').next())
        .map(|tail| tail.trim().trim_end_matches('"').trim().to_string())
        .filter(|name| name.ends_with(".dtd"))
        .ok_or_else(|| "the document has no DOCTYPE naming a cXML DTD".to_string())?;
    validate_against(xml, &named)
}

/// Validates `xml` against `dtd_file` in [`dtd_dir`].
pub fn validate_against(xml: &str, dtd_file: &str) -> Result<(), String> {
    let dtd = dtd_dir().join(dtd_file);
    assert!(
        dtd.is_file(),
        "DTD {} not found: the cXML 1.2.069 DTDs are expected beside the checkout",
        dtd.display()
    );
    let mut child = Command::new("xmllint")
        .args(["--noout", "--nonet", "--dtdvalid"])
        .arg(&dtd)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "xmllint could not be run ({e}): install libxml2-utils (apt-get install libxml2-utils)"
            )
        });
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(xml.as_bytes())
        .expect("xmllint reads the document");
    let output = child.wait_with_output().expect("xmllint finishes");
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}
