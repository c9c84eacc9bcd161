#!/usr/bin/env bash
# Runs the cxml parse/write benchmarks and prints a table: mean time, throughput and the
# ratio of each parse to its floor (quick-xml's bare event loop over the same bytes).
# The product target is every parse within 2x of its floor, judged by the paired bench
# (`cargo bench -p cxml --bench paired`, run by `make bench`): the ratios here come from
# separate criterion runs, seconds or minutes apart, and move with the host's noise.
#
#   scripts/bench-report.sh                 # short run (0.5 s warm-up, 2 s measurement)
#   scripts/bench-report.sh --no-run        # only print the table from the last run
#   scripts/bench-report.sh -- <criterion args>   # e.g. -- --measurement-time 10 parse/
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

run=1
if [[ "${1:-}" == "--no-run" ]]; then
    run=0
    shift
fi
if [[ "${1:-}" == "--" ]]; then
    shift
fi
if [[ $# -eq 0 ]]; then
    set -- --warm-up-time 0.5 --measurement-time 2
fi

if [[ $run -eq 1 ]]; then
    cargo bench -p cxml --bench parse -- "$@" >&2
fi

target_dir="${CARGO_TARGET_DIR:-$root/target}"
python3 - "$target_dir/criterion" <<'PY'
import json, os, sys

base = sys.argv[1]
TARGET = 2.0

def load(group, name):
    d = os.path.join(base, group, name, "new")
    try:
        with open(os.path.join(d, "estimates.json")) as f:
            est = json.load(f)
        with open(os.path.join(d, "benchmark.json")) as f:
            bench = json.load(f)
    except FileNotFoundError:
        return None
    return {
        "mean": est["mean"]["point_estimate"],
        "lo": est["mean"]["confidence_interval"]["lower_bound"],
        "hi": est["mean"]["confidence_interval"]["upper_bound"],
        "median": est["median"]["point_estimate"],
        "bytes": (bench.get("throughput") or {}).get("Bytes"),
    }

def fmt_time(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.2f} {unit}"
    return f"{ns:.0f} ns"

def fmt_thrpt(nbytes, ns):
    if not nbytes:
        return "-"
    return f"{nbytes / (ns / 1e9) / (1024 * 1024):.0f} MiB/s"

if not os.path.isdir(base):
    sys.exit(f"no criterion results under {base}: run the benchmarks first")

rows = []
for group in ("parse", "tree", "floor", "write"):
    gdir = os.path.join(base, group)
    if not os.path.isdir(gdir):
        continue
    for name in sorted(os.listdir(gdir)):
        r = load(group, name)
        if r:
            rows.append((group, name, r))

header = ("benchmark", "bytes", "mean", "95% CI", "median", "throughput", "x floor (mean)", "x floor (median)")
table = []
failed = []
for group, name, r in rows:
    ratio = ratio_med = ""
    if group in ("parse", "tree"):
        f = load("floor", name)
        if f:
            q = r["mean"] / f["mean"]
            qm = r["median"] / f["median"]
            mark = " !" if group == "parse" and q > TARGET else ""
            ratio, ratio_med = f"{q:.2f}x{mark}", f"{qm:.2f}x"
            if group == "parse" and q > TARGET:
                failed.append(name)
    table.append((
        f"{group}/{name}",
        str(r["bytes"] or "-"),
        fmt_time(r["mean"]),
        f"{fmt_time(r['lo'])} .. {fmt_time(r['hi'])}",
        fmt_time(r["median"]),
        fmt_thrpt(r["bytes"], r["mean"]),
        ratio,
        ratio_med,
    ))

widths = [max(len(str(row[i])) for row in [header] + table) for i in range(len(header))]
def line(row):
    return "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
print(line(header))
print("  ".join("-" * w for w in widths))
for row in table:
    print(line(row))
print()
print(f"target: every parse/* within {TARGET:.0f}x of floor/* (tree/* = decode + element tree only);")
print("these ratios are of separate runs: the paired bench (make bench) gives the verdict")
if failed:
    print("over target: " + ", ".join(failed))
PY
