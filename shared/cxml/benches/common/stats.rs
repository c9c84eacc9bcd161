//! The statistics of the paired benchmark (`benches/paired.rs`), in their own file so that
//! `tests/bench_stats.rs` can include and test them (a `harness = false` bench runs no tests).
//!
//! Every figure is a ratio computed per round: the parse's time per iteration in one block
//! divided by the floor's time per iteration in the block run right next to it. A burst of
//! noise from another process slows one block, so it moves one ratio among hundreds and the
//! median stays put; two separate runs minutes apart have no such protection.

use std::fmt::Write as _;

/// The three steps measured per document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `cxml::parse`: decode, element tree, typed model.
    Parse,
    /// `cxml::dom::decode` + `cxml::dom::parse_document`: the tree step alone.
    Tree,
    /// quick-xml's bare event loop over the same bytes: the floor.
    Floor,
}

/// The order of the blocks in round `round`: ABC, CBA, ABC, ... so that no step always runs
/// first (a warm or cold cache, a frequency ramp) or always right after the same other step.
pub fn order(round: usize) -> [Step; 3] {
    if round.is_multiple_of(2) {
        [Step::Parse, Step::Tree, Step::Floor]
    } else {
        [Step::Floor, Step::Tree, Step::Parse]
    }
}

/// `numerators[i] / denominators[i]` for each round; rounds whose floor was not measured
/// (zero or not finite) are left out rather than turned into infinities.
pub fn ratios(numerators: &[f64], denominators: &[f64]) -> Vec<f64> {
    numerators
        .iter()
        .zip(denominators)
        .filter(|(_, d)| d.is_finite() && **d > 0.0)
        .map(|(n, d)| n / d)
        .filter(|r| r.is_finite())
        .collect()
}

/// The `q` quantile (0 ≤ q ≤ 1) of `sorted` (ascending), interpolating linearly between
/// the two nearest ranks (the "R-7" definition, numpy's default). `None` when empty.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let q = q.clamp(0.0, 1.0);
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64))
}

/// Median and spread (10th to 90th percentile) of a set of ratios.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub median: f64,
    pub p10: f64,
    pub p90: f64,
}

impl Summary {
    /// `None` when there is no finite value to summarise.
    pub fn of(values: &[f64]) -> Option<Summary> {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        Some(Summary {
            median: quantile(&sorted, 0.5)?,
            p10: quantile(&sorted, 0.1)?,
            p90: quantile(&sorted, 0.9)?,
        })
    }
}

/// One document's result.
#[derive(Debug, Clone)]
pub struct Row {
    pub name: String,
    pub bytes: usize,
    /// Median time of one floor iteration (ns), for scale only: the ratios are the figures.
    pub floor_ns: f64,
    /// Rounds measured (each one block of every step).
    pub rounds: usize,
    /// Parse / floor, per round.
    pub parse: Summary,
    /// Tree step / floor, per round.
    pub tree: Summary,
}

pub fn fmt_time(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn fmt_summary(s: &Summary) -> [String; 2] {
    [
        format!("{:.2}x", s.median),
        format!("{:.2}–{:.2}", s.p10, s.p90),
    ]
}

const COLUMNS: usize = 8;

/// The table: one line per document, parse/floor and tree/floor as median and p10–p90.
pub fn table(rows: &[Row]) -> String {
    let header = [
        "document",
        "bytes",
        "floor",
        "rounds",
        "parse/floor",
        "p10–p90",
        "tree/floor",
        "p10–p90",
    ]
    .map(String::from);
    let body: Vec<[String; COLUMNS]> = rows
        .iter()
        .map(|r| {
            let [pm, ps] = fmt_summary(&r.parse);
            let [tm, ts] = fmt_summary(&r.tree);
            [
                r.name.clone(),
                r.bytes.to_string(),
                fmt_time(r.floor_ns),
                r.rounds.to_string(),
                pm,
                ps,
                tm,
                ts,
            ]
        })
        .collect();
    let mut widths = [0usize; COLUMNS];
    for line in std::iter::once(&header).chain(&body) {
        for (w, cell) in widths.iter_mut().zip(line) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut push = |line: &[String; COLUMNS]| {
        for (i, (cell, w)) in line.iter().zip(widths).enumerate() {
            let pad = " ".repeat(w - cell.chars().count());
            if i == 0 {
                let _ = write!(out, "{cell}{pad}");
            } else {
                let _ = write!(out, "  {pad}{cell}");
            }
        }
        out.push('\n');
    };
    push(&header);
    push(&widths.map(|w| "-".repeat(w)));
    for line in &body {
        push(line);
    }
    out
}

/// The last line of the report: whether every parse's median ratio is within `target`.
/// A median that is not a number (nothing measured) counts as over target.
pub fn verdict(rows: &[Row], target: f64) -> String {
    let over: Vec<&str> = rows
        .iter()
        .filter(|r| r.parse.median.is_nan() || r.parse.median > target)
        .map(|r| r.name.as_str())
        .collect();
    if over.is_empty() {
        format!("verdict: all within {target:.1}x of the floor")
    } else {
        format!("verdict: over target: {}", over.join(", "))
    }
}
