//! `cxml inspect FILE`: what a cXML document says, as JSON, for people debugging an
//! integration. Exits 0 for a document this project accepts; otherwise prints the cXML
//! status it would answer with and exits 1.

use std::process::ExitCode;

const USAGE: &str = "usage: cxml inspect FILE   (FILE may be - for standard input)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
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
    match cxml::parse(&bytes) {
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
