//! `cxml inspect FILE`: what a cXML document says, as JSON, for people debugging an
//! integration. Exits 0 for a document this project accepts; otherwise (also for a Request,
//! Response or Message type no cXML DTD declares) prints the cXML status it would answer
//! with and exits 1.
//!
//! `cxml catalog --supplier-id ANID --punchout-url URL [...]`: the CIF 3.0 file of the Level 1
//! punchout catalog item to upload to the SAP Ariba Network (see README, "SAP Ariba").

use std::process::ExitCode;

const USAGE: &str = "usage: cxml inspect FILE   (FILE may be - for standard input)
       cxml catalog --supplier-id ANID --punchout-url https://.../punchout/setup
                    [--supplier-id-domain NetworkID] [--part-id ID] [--unspsc CODE]
                    [--description TEXT] [--manufacturer NAME] [--currency USD]";

/// `cxml catalog ...`: writes the CIF file to standard output.
fn catalog(args: &[String]) -> ExitCode {
    let mut item = cxml::cif::PunchoutItem {
        supplier_id: String::new(),
        supplier_id_domain: "NetworkID".into(),
        supplier_part_id: "software-marketplace-catalog".into(),
        description:
            "Software Marketplace catalog: SaaS subscriptions, machine images, containers \
                      and more, requested for approval through your procurement system"
                .into(),
        unspsc: "43230000".into(),
        punchout_url: String::new(),
        manufacturer_name: "Software Marketplace".into(),
        currency: "USD".into(),
    };
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let Some(value) = rest.next() else {
            eprintln!("cxml catalog: {flag} needs a value\n{USAGE}");
            return ExitCode::from(2);
        };
        let target = match flag.as_str() {
            "--supplier-id" => &mut item.supplier_id,
            "--supplier-id-domain" => &mut item.supplier_id_domain,
            "--part-id" => &mut item.supplier_part_id,
            "--punchout-url" => &mut item.punchout_url,
            "--unspsc" => &mut item.unspsc,
            "--description" => &mut item.description,
            "--manufacturer" => &mut item.manufacturer_name,
            "--currency" => &mut item.currency,
            other => {
                eprintln!("cxml catalog: unknown option {other}\n{USAGE}");
                return ExitCode::from(2);
            }
        };
        *target = value.clone();
    }
    match cxml::cif::punchout_catalog(&item, time::OffsetDateTime::now_utc()) {
        Ok(cif) => {
            print!("{cif}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cxml catalog: {e}");
            ExitCode::from(2)
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("catalog") {
        return catalog(&args[1..]);
    }
    let path = match args.as_slice() {
        [cmd, path] if cmd == "inspect" => path,
        [flag] if flag == "--help" || flag == "-h" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let bytes = if path == "-" {
        let mut buf = Vec::new();
        if let Err(e) = std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf) {
            eprintln!("cxml: cannot read standard input: {e}");
            return ExitCode::from(2);
        }
        buf
    } else {
        match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("cxml: cannot read {path}: {e}");
                return ExitCode::from(2);
            }
        }
    };
    match cxml::parse(&bytes).and_then(|doc| match cxml::inspect::unknown_type(&doc) {
        Some(rejection) => Err(rejection),
        None => Ok(doc),
    }) {
        Ok(doc) => {
            let json = cxml::inspect::summary(&doc);
            println!(
                "{}",
                serde_json::to_string_pretty(&json).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Err(rejection) => {
            println!(
                "{}",
                serde_json::json!({
                    "accepted": false,
                    "status": {"code": rejection.code, "text": rejection.reason(), "reason": rejection.text},
                })
            );
            eprintln!("cxml: refused: {rejection}");
            ExitCode::from(1)
        }
    }
}
