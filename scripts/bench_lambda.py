#!/usr/bin/env python3
"""`make bench-lambda`: Lambda figures for what template.yaml deploys.

1. Builds the five functions as `sam build` does (BuildMethod rust-cargolambda:
   `cargo lambda build --release --arm64 --bin <Binary>`, zipped as Lambda takes them) and
   reports each zip's size.
2. Builds the same code for this machine (x86_64, release profile) and runs each binary under an
   emulated Lambda Runtime API (localstack/runtime_api.py) with the environment the template
   gives it, AWS answered from a recording (localstack/recorded_aws.py), and measures: init
   (process start to its first `next`), the first invocation (event handed out to response
   posted), warm p50/p99 over --invocations invocations, and peak RSS (VmHWM).
3. Checks every answer is the flow's success (else it fails loudly) and prints one table, then
   `verdict: ...`.

`--capture` makes the recording (localstack/recording/demo-table.json) instead: the demo seed
(`cargo run -p e2e --bin seed-demo`) and one production order against the capture server.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from localstack.recorded_aws import RecordedAws, load_recording  # noqa: E402
from localstack.resources import Moto  # noqa: E402
from localstack.runtime_api import Outcome, RuntimeApi  # noqa: E402
from localstack.template import Stack, load_template  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RECORDING = ROOT / "scripts/localstack/recording/demo-table.json"
EVENTS = ROOT / "events"
# The demo integration's invoice URL (procurement::demo): the buyer, answered by the server.
DEMO_BUYER = "http://127.0.0.1:9100"
# Not in the seed: the invoice key (Secrets Manager) the template creates with a random value.
INVOICE_KEY = "bench-invoice-key-0123456789abcdef0123456789abcdef"

INIT_TARGET_MS = 10.0
ZIP_TARGET_MB = 6.0
RSS_TARGET_MB = 32.0
MB = 1_000_000


def target_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")


# ---------------------------------------------------------------- flows


def http_event(path: str) -> dict:
    return json.loads((EVENTS / path).read_text())


def cxml_status(body: str) -> int | None:
    m = re.search(r"<Status\b[^>]*\bcode=\"(\d+)\"", body)
    return int(m.group(1)) if m else None


def check_cxml_200(outcome: Outcome, aws: RecordedAws) -> str | None:
    """None when the function answered HTTP 200 with a cXML Response of code 200."""
    if outcome.kind != "response":
        return f"invocation error: {outcome.body[:500]!r}"
    answer = outcome.json()
    body = answer.get("body") or ""
    if answer.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8", "replace")
    if answer.get("statusCode") != 200 or cxml_status(body) != 200:
        return f"HTTP {answer.get('statusCode')}, cXML {cxml_status(body)}: {body[:500]}"
    return None


def check_json_200(outcome: Outcome, aws: RecordedAws) -> str | None:
    if outcome.kind != "response":
        return f"invocation error: {outcome.body[:500]!r}"
    answer = outcome.json()
    if answer.get("statusCode") != 200:
        return f"HTTP {answer.get('statusCode')}: {str(answer.get('body'))[:500]}"
    json.loads(answer.get("body") or "null")
    return None


def check_batch(outcome: Outcome, aws: RecordedAws) -> str | None:
    """No batch item failure, and the buyer got the invoice."""
    if outcome.kind != "response":
        return f"invocation error: {outcome.body[:500]!r}"
    failures = outcome.json().get("batchItemFailures")
    if failures:
        return f"batch item failures: {failures}"
    if aws.calls.get("buyer:InvoiceDetailRequest", 0) < 1:
        return "no InvoiceDetailRequest reached the buyer"
    return None


def check_scheduled(outcome: Outcome, aws: RecordedAws) -> str | None:
    if outcome.kind != "response":
        return f"invocation error: {outcome.body[:500]!r}"
    out = outcome.json()
    if out.get("failed_steps") or out.get("charges_queued", 0) < 1:
        return f"scheduled run: {out}"
    return None


@dataclass
class Flow:
    binary: str
    function: str  # template logical id
    flow: str
    event: Callable[[dict], dict]
    check: Callable[[Outcome, RecordedAws], str | None]


def order_event(rec: dict) -> dict:
    """The Coupa fixture order, sent as a production order (the recording's Coupa integration
    is out of test mode)."""
    event = http_event("order-request/coupa-order-request.json")
    event["body"] = event["body"].replace('deploymentMode="test"', 'deploymentMode="production"')
    return event


def sqs_event(rec: dict) -> dict:
    event = json.loads((EVENTS / "invoice-dispatch/sqs-batch.json").read_text())
    record = event["Records"][0]
    record["body"] = json.dumps({"charge_id": rec["bench"]["charge_id"]})
    event["Records"] = [record]
    return event


FLOWS = [
    Flow("punchout-setup", "PunchOutSetupFunction", "Coupa PunchOutSetupRequest",
         lambda r: http_event("punchout-setup/coupa-setup-request.json"), check_cxml_200),
    Flow("admin-api", "AdminApiFunction", "GET integration (REST API)",
         lambda r: http_event("admin-api/admin-get-integration.json"), check_json_200),
    Flow("order-request", "OrderRequestFunction", "Coupa OrderRequest, new order",
         order_event, check_cxml_200),
    Flow("invoice-dispatch", "InvoiceDispatchFunction", "SQS batch of 1 invoice job",
         sqs_event, check_batch),
    Flow("offer-expiry-check", "OfferExpiryCheckFunction", "scheduled run, 1 due charge",
         lambda r: json.loads((EVENTS / "offer-expiry-check/scheduled.json").read_text()),
         check_scheduled),
]


# ---------------------------------------------------------------- the template


def function_settings() -> dict[str, dict]:
    """Logical id -> {"env", "memory", "timeout"} as the template gives them (local names)."""
    stack = Stack(load_template(), Moto(create=False))
    glob = (stack.t.get("Globals") or {}).get("Function") or {}
    out = {}
    for lid, fn in stack.functions().items():
        props = fn["props"]
        env = {}
        for source in (glob.get("Environment") or {}, props.get("Environment") or {}):
            for k, v in (source.get("Variables") or {}).items():
                env[k] = str(stack.resolve(v))
        out[lid] = {
            "binary": fn["name"],
            "env": env,
            "memory": int(props.get("MemorySize", glob.get("MemorySize", 128))),
            "timeout": int(props.get("Timeout", glob.get("Timeout", 3))),
            "arch": (props.get("Architectures") or glob.get("Architectures") or ["x86_64"])[0],
        }
    return out


# ---------------------------------------------------------------- builds


def run(cmd: list[str], **kw) -> None:
    print("$", " ".join(cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT, **kw)


def build_arm64(binaries: list[str]) -> dict[str, int]:
    """`cargo lambda build --release --arm64 --bin B` (what sam's rust-cargolambda runs), zipped."""
    env = dict(os.environ, PATH=f"{ROOT / '.venv/bin'}:{os.environ['PATH']}")
    sizes = {}
    for binary in binaries:
        run(["cargo", "lambda", "build", "--release", "--arm64", "--locked", "--bin", binary,
             "--output-format", "zip"], env=env)
        sizes[binary] = (target_dir() / "lambda" / binary / "bootstrap.zip").stat().st_size
    return sizes


def build_native(binaries: list[str]) -> dict[str, Path]:
    packages = sorted({{"admin-api": "punchout-setup"}.get(b, b) for b in binaries})
    cmd = ["cargo", "build", "--release", "--locked"]
    for p in packages:
        cmd += ["-p", p]
    run(cmd)
    return {b: target_dir() / "release" / b for b in binaries}


# ---------------------------------------------------------------- measuring


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def cpu_ms(pid: int) -> float:
    """CPU time the process's threads have run so far (schedstat, ns resolution): unlike the
    wall time, what a busy host's other processes take from it is not in it."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total / 1e6


def lambda_env(settings: dict, api: RuntimeApi, aws: RecordedAws, name: str) -> dict[str, str]:
    """What Lambda sets, and the template's variables; nothing of this shell's environment."""
    env = dict(settings["env"])
    env.update({
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(settings["memory"]),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]bench",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EXECUTION_ENV": "AWS_Lambda_provided.al2023",
        "_HANDLER": "bootstrap",
        "LAMBDA_TASK_ROOT": "/var/task",
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "AWS_ACCESS_KEY_ID": "ASIABENCHBENCHBENCH0",
        "AWS_SECRET_ACCESS_KEY": "bench-secret-access-key",
        "AWS_SESSION_TOKEN": "bench-session-token",
        "AWS_ENDPOINT_URL": aws.url,
        "AWS_EC2_METADATA_DISABLED": "true",
    })
    return env


@dataclass
class Result:
    flow: Flow
    init_ms: float
    init_aws_ms: float  # of init, answering its AWS requests (the recording server's time)
    init_cpu_ms: float  # the CPU time the function's threads ran during init
    first_ms: float
    p50_ms: float
    p99_ms: float
    aws_p50_ms: float  # of a warm invocation, the recording server's time (median)
    cpu_per_inv_ms: float  # the function's CPU time per warm invocation (mean)
    rss_kb: int
    calls: dict
    invocations: int
    memory: int
    inits_ms: list  # each cold start's init


class BenchFailure(Exception):
    pass


def run_instance(flow: Flow, binary: Path, settings: dict, aws: RecordedAws, event: bytes,
                 invocations: int, log_path: Path) -> dict:
    """One instance of the function: started, its init, its first invocation, then
    `invocations` warm ones; its peak RSS; stopped."""
    name = f"procurement-{flow.binary}"
    with RuntimeApi(f"arn:aws:lambda:us-east-1:123456789012:function:{name}") as api, \
            open(log_path, "wb") as log:
        env = lambda_env(settings, api, aws, name)
        aws.take_calls()
        started = time.perf_counter_ns()
        proc = subprocess.Popen([str(binary)], env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=tempfile.gettempdir())
        try:
            if not api.wait_for_init(30) or api.init_error:
                raise BenchFailure(f"{flow.binary}: no first `next` ({api.init_error!r}); log {log_path}")
            # Waiting on `next` now, it runs nothing until the event comes.
            out = {"init_ms": (api.first_next_ns - started) / 1e6, "init_aws_ms": aws.busy_ns / 1e6,
                   "init_cpu_ms": cpu_ms(proc.pid)}

            def once() -> Outcome:
                aws.take_calls()
                outcome = api.invoke(event, timeout=settings["timeout"] + 5,
                                     deadline_s=settings["timeout"])
                problem = flow.check(outcome, aws)
                if problem or aws.misses or api.unexpected:
                    raise BenchFailure(f"{flow.binary} ({flow.flow}): {problem or ''} "
                                       f"unrecorded AWS requests: {aws.misses[:5]} "
                                       f"runtime API: {api.unexpected[:5]}; log {log_path}")
                return outcome

            out["first_ms"] = once().duration_ns / 1e6
            out["warm"], out["warm_aws"], out["calls"] = [], [], {}
            cpu_before = cpu_ms(proc.pid)
            for n in range(invocations):
                outcome = once()
                if n == 0:
                    out["calls"] = dict(aws.calls)
                out["warm"].append(outcome.duration_ns / 1e6)
                out["warm_aws"].append(aws.busy_ns / 1e6)
            out["cpu_per_inv_ms"] = (cpu_ms(proc.pid) - cpu_before) / max(1, invocations)
            out["rss_kb"] = peak_rss_kb(proc.pid)
            return out
        finally:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def measure(flow: Flow, binary: Path, settings: dict, aws: RecordedAws, recording: dict,
            invocations: int, cold_starts: int, logs: Path) -> Result:
    """`cold_starts` instances (init and first invocation: their medians), the last of which
    also serves the warm invocations (and gives the peak RSS)."""
    event = json.dumps(flow.event(recording)).encode()
    colds = [run_instance(flow, binary, settings, aws, event, 0, logs / f"{flow.binary}.cold.log")
             for _ in range(cold_starts - 1)]
    last = run_instance(flow, binary, settings, aws, event, invocations, logs / f"{flow.binary}.log")
    colds.append(last)
    med = lambda key: statistics.median(c[key] for c in colds)  # noqa: E731
    return Result(flow, med("init_ms"), med("init_aws_ms"), med("init_cpu_ms"), med("first_ms"),
                  statistics.median(last["warm"]), percentile(last["warm"], 0.99),
                  statistics.median(last["warm_aws"]), last["cpu_per_inv_ms"],
                  max(c["rss_kb"] for c in colds),
                  last["calls"], invocations, settings["memory"],
                  [c["init_ms"] for c in colds])


# ---------------------------------------------------------------- report


def compact_calls(calls: dict) -> str:
    """Requests of one warm invocation by service: `ddb 11, sqs 1, ses 1`."""
    by_service: dict[str, int] = {}
    for key, n in calls.items():
        service = {"dynamodb": "ddb", "secretsmanager": "secrets"}.get(key.split(":")[0], key.split(":")[0])
        by_service[service] = by_service.get(service, 0) + n
    return ", ".join(f"{k} {v}" for k, v in by_service.items()) or "-"


def table(results: list[Result], zips: dict[str, int]) -> tuple[str, list[str]]:
    """The table, and the targets missed (`<function> <what>`)."""
    over: list[str] = []
    head = (f"{'function':<19} {'flow':<30} {'zip arm64':>9} {'init':>8} {'(AWS)':>7} {'init CPU':>8} {'first':>8} "
            f"{'warm p50':>9} {'(AWS)':>8} {'warm p99':>9} {'CPU/inv':>8} {'peak RSS':>8}  {'requests/inv':<26} verdicts")
    lines = [head, "-" * len(head)]
    for r in results:
        b = r.flow.binary
        verdicts = []
        zip_mb = zips.get(b, 0) / MB
        rss_mb = r.rss_kb * 1024 / MB
        for what, ok in (("zip", zip_mb <= ZIP_TARGET_MB if b in zips else None),
                         ("init", r.init_ms <= INIT_TARGET_MS),
                         ("RSS", rss_mb <= RSS_TARGET_MB)):
            if ok is None:
                continue
            verdicts.append(f"{what} {'ok' if ok else 'OVER'}")
            if not ok:
                over.append(f"{b} {what}")
        zip_text = f"{zip_mb:.2f} MB" if b in zips else "-"
        lines.append(
            f"{b:<19} {r.flow.flow:<30} {zip_text:>9} {r.init_ms:>5.1f} ms {r.init_aws_ms:>4.1f} ms {r.init_cpu_ms:>5.1f} ms "
            f"{r.first_ms:>5.2f} ms {r.p50_ms:>6.2f} ms {r.aws_p50_ms:>5.2f} ms {r.p99_ms:>6.2f} ms {r.cpu_per_inv_ms:>5.2f} ms "
            f"{rss_mb:>5.1f} MB  {compact_calls(r.calls):<26} {', '.join(verdicts)}")
    return "\n".join(lines), over


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--invocations", type=int, default=2000, help="warm invocations per function")
    ap.add_argument("--cold-starts", type=int, default=5,
                    help="instances started per function (init and first invocation: medians)")
    ap.add_argument("--no-build", action="store_true", help="use the binaries and zips already built")
    ap.add_argument("--no-arm64", action="store_true", help="skip the arm64 build (no zip sizes)")
    ap.add_argument("--capture", action="store_true", help="make the recording instead")
    ap.add_argument("functions", nargs="*", help="binaries to bench (default: all five)")
    args = ap.parse_args()

    settings = function_settings()
    flows = [f for f in FLOWS if not args.functions or f.binary in args.functions]
    for f in flows:
        s = settings[f.function]
        if s["binary"] != f.binary or s["arch"] != "arm64":
            raise SystemExit(f"template.yaml: {f.function} is {s['binary']} on {s['arch']}")
    binaries = [f.binary for f in flows]

    if args.capture:
        return capture(settings, build=not args.no_build)

    zips: dict[str, int] = {}
    if not args.no_arm64:
        if args.no_build:
            for b in binaries:
                z = target_dir() / "lambda" / b / "bootstrap.zip"
                if z.exists():
                    zips[b] = z.stat().st_size
        else:
            zips = build_arm64(binaries)
    native = build_native(binaries) if not args.no_build else \
        {b: target_dir() / "release" / b for b in binaries}

    logs = target_dir() / "bench-lambda"
    logs.mkdir(parents=True, exist_ok=True)
    raw = json.loads(RECORDING.read_text())
    results = []
    with RecordedAws() as aws:
        # The buyer's invoice URL in the recording is this server's.
        recording = load_recording(raw, base_url=aws.url)
        aws.load(recording)
        recording["bench"] = raw["bench"]
        for flow in flows:
            print(f"== {flow.binary}: {flow.flow}, {args.invocations} warm invocations",
                  file=sys.stderr, flush=True)
            try:
                results.append(measure(flow, native[flow.binary], settings[flow.function], aws,
                                       recording, args.invocations, max(1, args.cold_starts), logs))
            except BenchFailure as e:
                print(f"bench-lambda: FAILED: {e}", file=sys.stderr)
                return 1
    text, over = table(results, zips)
    print(f"\nLambda functions of template.yaml, x86_64 release builds on this machine "
          f"({results[0].memory if results else '-'} MB configured, not enforced); init and first: "
          f"medians of {max(1, args.cold_starts)} cold starts; warm over {args.invocations} "
          f"invocations; zip: cargo lambda build --release --arm64; (AWS): the recording "
          f"server's share of the time before it.")
    print(text)
    for r in results:
        print(f"init of each cold start, {r.flow.binary}: " + " ".join(f"{x:.1f}" for x in r.inits_ms) + " ms")
    print("verdict: " + (f"over target: {', '.join(over)}" if over else
                         f"all within target (init ≤ {INIT_TARGET_MS:g} ms, zip ≤ {ZIP_TARGET_MB:g} MB, "
                         f"RSS ≤ {RSS_TARGET_MB:g} MB)"))
    return 0


# ---------------------------------------------------------------- capture


def capture(settings: dict, build: bool = True) -> int:
    """The recording: the demo seed (its Coupa buyer out of test mode), and the charge one
    production Coupa order writes; what else the order wrote (its order, payload, agreement,
    outbox and the quote it marked ordered) is left out, so that the bench's order is a new
    one every time."""
    binaries = {"order-request": target_dir() / "release" / "order-request"}
    if build:
        binaries = build_native(["order-request"])
        run(["cargo", "build", "--locked", "-p", "e2e", "--bin", "seed-demo"])
    with RecordedAws(capture=True) as aws:
        env = dict(os.environ, AWS_ENDPOINT_URL=aws.url, AWS_REGION="us-east-1",
                   AWS_ACCESS_KEY_ID="capture", AWS_SECRET_ACCESS_KEY="capture",
                   AWS_EC2_METADATA_DISABLED="true", **settings["PunchOutSetupFunction"]["env"])
        env.pop("AWS_PROFILE", None)
        run([str(target_dir() / "debug" / "seed-demo")], env=env, stdout=subprocess.DEVNULL)
        aws.secrets[settings["InvoiceDispatchFunction"]["env"]["INVOICE_KEY_SECRET_ID"]] = INVOICE_KEY
        # Out of test mode, as after the buyer's testing: the order makes an agreement and charges.
        # (its integration, the credential's copy of it, and its quote)
        for item in aws.table.items.values():
            data = item.get("data", {}).get("S", "")
            if data.startswith('{"org_id":"demo-coupa-org"') or '"org_id":"demo-coupa-org"' in data[:80]:
                item["data"]["S"] = data.replace('"test_mode":true', '"test_mode":false') \
                    .replace('"test":true', '"test":false')
        seeded = {k: json.loads(json.dumps(v)) for k, v in aws.table.items.items()}
        flow = next(f for f in FLOWS if f.binary == "order-request")
        with RuntimeApi() as api:
            proc = subprocess.Popen([str(binaries["order-request"])],
                                    env=lambda_env(settings["OrderRequestFunction"], api, aws, "capture"),
                                    stdout=subprocess.DEVNULL)
            try:
                outcome = api.invoke(json.dumps(flow.event({})).encode())
            finally:
                proc.terminate()
                proc.wait()
        problem = check_cxml_200(outcome, aws)
        if problem:
            raise SystemExit(f"capture: the order failed: {problem}")
        snap = aws.snapshot(base_url=DEMO_BUYER)
    # The seeded items as seeded (the order's transaction rewrote its quote), and the charge.
    items = list(seeded.values())
    charges = []
    for item in snap["items"]:
        key = (item["PK"]["S"], item["SK"]["S"])
        if key not in seeded and key[0].startswith("CHARGE#"):
            items.append(item)
            charges.append(key[0][len("CHARGE#"):])
    items.sort(key=lambda i: (i["PK"]["S"], i["SK"]["S"]))
    if not charges:
        raise SystemExit("capture: the order wrote no charge")
    snap["items"] = items
    snap["bench"] = {"charge_id": sorted(charges)[0]}
    RECORDING.parent.mkdir(parents=True, exist_ok=True)
    RECORDING.write_text(json.dumps(snap, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    print(f"capture: {len(items)} items, charges {charges} -> {RECORDING.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
