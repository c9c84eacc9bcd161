//! The statistics of the paired benchmark (`benches/paired.rs`): median, spread, per-round
//! ratios, block order, the table and the verdict line `make bench` ends with.

#[path = "../benches/common/stats.rs"]
#[allow(dead_code)]
mod stats;

use stats::{Row, Step, Summary, order, quantile, ratios, table, verdict};

fn row(name: &str, parse_median: f64) -> Row {
    Row {
        name: name.into(),
        bytes: 1234,
        floor_ns: 5_600.0,
        rounds: 300,
        parse: Summary {
            median: parse_median,
            p10: parse_median - 0.1,
            p90: parse_median + 0.2,
        },
        tree: Summary {
            median: 1.25,
            p10: 1.2,
            p90: 1.3,
        },
    }
}

#[test]
fn median_of_odd_and_even_counts_and_unsorted_input() {
    assert_eq!(Summary::of(&[3.0, 1.0, 2.0]).unwrap().median, 2.0);
    assert_eq!(Summary::of(&[4.0, 1.0, 3.0, 2.0]).unwrap().median, 2.5);
    assert_eq!(Summary::of(&[7.0]).unwrap().median, 7.0);
    assert!(Summary::of(&[]).is_none());
    assert!(Summary::of(&[f64::NAN]).is_none());
}

#[test]
fn spread_is_the_10th_to_90th_percentile_and_ignores_one_outlier() {
    // 1.0 ..= 2.0 in steps of 0.1 (11 values): p10 = 1.1, p90 = 1.9.
    let mut values: Vec<f64> = (0..=10).map(|i| 1.0 + f64::from(i) / 10.0).collect();
    let s = Summary::of(&values).unwrap();
    assert!((s.median - 1.5).abs() < 1e-12, "{s:?}");
    assert!((s.p10 - 1.1).abs() < 1e-12, "{s:?}");
    assert!((s.p90 - 1.9).abs() < 1e-12, "{s:?}");
    // One block hit by a burst of noise moves neither the median much nor the spread's ends.
    values.push(50.0);
    let noisy = Summary::of(&values).unwrap();
    assert!((noisy.median - 1.55).abs() < 1e-12, "{noisy:?}");
    assert!(noisy.p90 < 2.1, "{noisy:?}");
}

#[test]
fn quantile_interpolates_between_ranks() {
    let sorted = [10.0, 20.0, 30.0, 40.0];
    assert_eq!(quantile(&sorted, 0.0), Some(10.0));
    assert_eq!(quantile(&sorted, 1.0), Some(40.0));
    assert_eq!(quantile(&sorted, 0.5), Some(25.0));
    assert_eq!(quantile(&sorted, 1.0 / 3.0), Some(20.0));
    assert_eq!(quantile(&[], 0.5), None);
}

#[test]
fn ratios_are_taken_per_round_and_skip_unmeasured_floors() {
    // Round 2 ran on a slow moment: both sides doubled, its ratio did not.
    let parse = [300.0, 600.0, 330.0, 999.0];
    let floor = [150.0, 300.0, 150.0, 0.0];
    assert_eq!(ratios(&parse, &floor), vec![2.0, 2.0, 2.2]);
    // The same numbers, compared as two separate runs, would not pair up like that.
    let median_of_ratios = Summary::of(&ratios(&parse, &floor)).unwrap().median;
    assert_eq!(median_of_ratios, 2.0);
}

#[test]
fn blocks_alternate_abc_and_cba() {
    assert_eq!(order(0), [Step::Parse, Step::Tree, Step::Floor]);
    assert_eq!(order(1), [Step::Floor, Step::Tree, Step::Parse]);
    assert_eq!(order(2), order(0));
    assert_eq!(order(301), order(1));
}

#[test]
fn verdict_names_every_document_over_target_and_nothing_else() {
    let rows = [row("a", 1.6), row("b", 2.0), row("c", 2.01)];
    assert_eq!(
        verdict(&rows[..2], 2.0),
        "verdict: all within 2.0x of the floor"
    );
    assert_eq!(verdict(&rows, 2.0), "verdict: over target: c");
    assert_eq!(verdict(&rows, 1.5), "verdict: over target: a, b, c");
    // Nothing measured is not a pass.
    assert_eq!(
        verdict(&[row("d", f64::NAN)], 2.0),
        "verdict: over target: d"
    );
}

#[test]
fn table_has_one_aligned_line_per_document_with_median_and_spread() {
    let out = table(&[row("punchout_setup_request", 1.8), row("x", 2.5)]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines[0].starts_with("document"), "{out}");
    assert!(lines[0].contains("parse/floor") && lines[0].contains("tree/floor"));
    assert!(lines[2].starts_with("punchout_setup_request "), "{out}");
    assert!(
        lines[2].contains("1.80x") && lines[2].contains("1.70–2.00"),
        "{out}"
    );
    assert!(
        lines[2].contains("1.25x") && lines[2].contains("1.20–1.30"),
        "{out}"
    );
    assert!(
        lines[2].contains("5.6 µs") && lines[2].contains("1234"),
        "{out}"
    );
    assert!(lines[3].contains("2.50x"), "{out}");
    let width = |l: &str| l.chars().count();
    assert!(lines.iter().all(|l| width(l) == width(lines[0])), "{out}");
}
