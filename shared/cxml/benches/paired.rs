//! The paired benchmark: for each bench document, short blocks of (A) `cxml::parse`, (B) the
//! tree step alone (`dom::decode` + `dom::parse_document`, the flat tree `parse` reads from)
//! and (C) quick-xml's bare event loop over the same bytes (the floor), run in ABC, CBA, ABC,
//! ... order for a few hundred rounds.
//! Each round gives the ratios A/C and B/C of blocks run next to each other, so a noisy host
//! (other processes, frequency changes) moves single ratios, not the median. It prints, per
//! document, the median and the 10th–90th percentile of those ratios, then, last, the verdict:
//! `verdict: all within 2.0x of the floor` or `verdict: over target: <names>`.
//!
//!   cargo bench -p cxml --bench paired                    # what `make bench` runs
//!   cargo bench -p cxml --bench paired -- --rounds 600 --block-us 1000 --target 2.0
//!   cargo bench -p cxml --bench paired -- order_request   # only documents whose name matches
//!
//! Criterion (`benches/parse.rs`) stays for absolute times; this is for the ratios.

#[path = "common/docs.rs"]
mod docs;
#[path = "common/stats.rs"]
mod stats;

use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use quick_xml::Reader;
use quick_xml::events::Event;

use stats::{Row, Step, Summary};

/// quick-xml's bare event loop: the least any parse of these bytes can cost.
fn floor(s: &str) {
    let mut r = Reader::from_str(s);
    loop {
        match r.read_event() {
            Ok(Event::Eof) => break,
            Ok(e) => {
                black_box(e);
            }
            Err(e) => panic!("floor: malformed input at {}: {e}", r.error_position()),
        }
    }
}

fn tree(bytes: &[u8]) {
    let text = cxml::dom::decode(bytes, cxml::Limits::default()).unwrap();
    let doc = cxml::dom::parse_document(&text).unwrap();
    black_box(doc.root().children().count());
}

/// Time of one iteration of `step`, averaged over a block of `n` iterations, in ns.
fn block(step: Step, xml: &str, n: u32) -> f64 {
    let bytes = xml.as_bytes();
    let start = Instant::now();
    match step {
        Step::Parse => {
            for _ in 0..n {
                black_box(cxml::parse(black_box(bytes)).unwrap());
            }
        }
        Step::Tree => {
            for _ in 0..n {
                tree(black_box(bytes));
            }
        }
        Step::Floor => {
            for _ in 0..n {
                floor(black_box(xml));
            }
        }
    }
    start.elapsed().as_nanos() as f64 / f64::from(n)
}

struct Options {
    rounds: usize,
    block: Duration,
    target: f64,
    filter: Vec<String>,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        rounds: 300,
        block: Duration::from_micros(500),
        target: 2.0,
        filter: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |what: &str| {
            args.next()
                .ok_or_else(|| format!("{arg} needs a value ({what})"))
        };
        match arg.as_str() {
            // `cargo bench` passes --bench to every bench binary.
            "--bench" => {}
            "--rounds" => {
                o.rounds = value("a number of rounds")?
                    .parse()
                    .map_err(|e| format!("--rounds: {e}"))?;
                if o.rounds == 0 {
                    return Err("--rounds must be at least 1".into());
                }
            }
            "--block-us" => {
                let us: u64 = value("microseconds")?
                    .parse()
                    .map_err(|e| format!("--block-us: {e}"))?;
                o.block = Duration::from_micros(us.max(1));
            }
            "--target" => {
                o.target = value("a ratio, e.g. 2.0")?
                    .parse()
                    .map_err(|e| format!("--target: {e}"))?;
            }
            other if other.starts_with('-') => return Err(format!("unknown option {other}")),
            name => o.filter.push(name.to_string()),
        }
    }
    Ok(o)
}

fn measure(name: &str, xml: &str, o: &Options) -> Row {
    // Warm up (caches, allocator, branch predictors) and size the blocks: as many iterations
    // as fit in `o.block` of the slowest step (the parse), at least one.
    let warm_until = Instant::now() + Duration::from_millis(50);
    let mut parse_ns = f64::INFINITY;
    while Instant::now() < warm_until {
        parse_ns = parse_ns.min(block(Step::Parse, xml, 1));
        block(Step::Tree, xml, 1);
        block(Step::Floor, xml, 1);
    }
    let n = ((o.block.as_nanos() as f64 / parse_ns) as u32).max(1);

    let mut times = [
        Vec::with_capacity(o.rounds),
        Vec::with_capacity(o.rounds),
        Vec::with_capacity(o.rounds),
    ];
    for round in 0..o.rounds {
        for step in stats::order(round) {
            times[step as usize].push(block(step, xml, n));
        }
    }
    let [parse, tree, floor] = &times;
    let summary = |num: &[f64]| {
        Summary::of(&stats::ratios(num, floor)).unwrap_or(Summary {
            median: f64::NAN,
            p10: f64::NAN,
            p90: f64::NAN,
        })
    };
    Row {
        name: name.to_string(),
        bytes: xml.len(),
        floor_ns: Summary::of(floor).map_or(f64::NAN, |s| s.median),
        rounds: o.rounds,
        parse: summary(parse),
        tree: summary(tree),
    }
}

fn main() -> ExitCode {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("paired: {e}");
            return ExitCode::from(2);
        }
    };
    let docs: Vec<_> = docs::all()
        .into_iter()
        .filter(|(name, _)| o.filter.is_empty() || o.filter.iter().any(|f| name.contains(f)))
        .collect();
    if docs.is_empty() {
        eprintln!("paired: no bench document matches {:?}", o.filter);
        return ExitCode::from(2);
    }
    let started = Instant::now();
    let mut rows = Vec::new();
    for (name, xml) in &docs {
        docs::check(name, xml);
        rows.push(measure(name, xml, &o));
    }
    println!();
    println!(
        "paired: per round, one block of each step in ABC/CBA order (A parse, B tree, C floor), \
         ratios of blocks run side by side; median and p10–p90 over {} rounds, {:.1} s",
        o.rounds,
        started.elapsed().as_secs_f64()
    );
    print!("{}", stats::table(&rows));
    println!(
        "target: every parse/floor median within {:.1}x (floor = quick-xml's bare event loop; \
         tree = decode + element tree, no typed model)",
        o.target
    );
    println!("{}", stats::verdict(&rows, o.target));
    ExitCode::SUCCESS
}
