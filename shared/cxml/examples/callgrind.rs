//! Runs one step of the paired bench N times over one bench document, for instruction counts
//! that do not depend on the host's load:
//!
//!   valgrind --tool=callgrind ./callgrind <parse|tree|floor> <document> <n>
//!
//! The cost of one iteration is (Ir at n=101 − Ir at n=1) / 100.

#[allow(dead_code)]
#[path = "../benches/common/docs.rs"]
mod docs;

use std::hint::black_box;

use quick_xml::Reader;
use quick_xml::events::Event;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [step, name, n] = &args[..] else {
        eprintln!("usage: callgrind <parse|tree|floor> <document> <n>");
        std::process::exit(2);
    };
    let n: u32 = n.parse().expect("n");
    let (_, xml) = docs::all()
        .into_iter()
        .find(|(d, _)| d == name)
        .expect("no such document");
    let bytes = xml.as_bytes();
    for _ in 0..n {
        match step.as_str() {
            "parse" => {
                black_box(cxml::parse(black_box(bytes)).unwrap());
            }
            "tree" => {
                let text = cxml::dom::decode(black_box(bytes), cxml::Limits::default()).unwrap();
                black_box(cxml::dom::parse_document(&text).unwrap());
            }
            "floor" => {
                let mut r = Reader::from_str(black_box(&xml));
                while !matches!(black_box(r.read_event().unwrap()), Event::Eof) {}
            }
            other => panic!("unknown step {other}"),
        }
    }
}
