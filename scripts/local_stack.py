#!/usr/bin/env python3
"""The local stack: the AWS resources of template.yaml on a moto server, and the event sources
that API Gateway and Lambda would provide, for running the product without an AWS account.

    local_stack.py up                 start moto on 127.0.0.1:$MOTO_PORT, create the table, queues
                                      and email identity as template.yaml defines them, and write
                                      .local/stack.env (the functions' environment)
    local_stack.py down               stop everything started here (see `spawn`) and moto
    local_stack.py status             what runs, on which ports
    local_stack.py spawn NAME -- CMD  start CMD in the background in its own session,
                                      pid in .local/NAME.pid, output in .local/NAME.log
    local_stack.py sqs-poller         Lambda's SQS event source mapping: long-poll the queues of
                                      the template's SQS events, invoke the function through
                                      `cargo lambda watch`, delete what it did not report failed
    local_stack.py schedule           invoke the template's scheduled functions with an
                                      EventBridge "Scheduled Event", once or --every N seconds
    local_stack.py emails             the emails moto's SES has accepted
    local_stack.py fault-proxy --port P  the proxy between the functions and moto: refuses their
                                      DynamoDB calls that the template's IAM policies would not
                                      allow, and injects the e2e fault tier's faults
    local_stack.py ariba-network      the SAP Ariba Network stand-in on 127.0.0.1:$ARIBA_NETWORK_PORT:
                                      checks and records the order confirmations it receives
    local_stack.py admin-api          API Gateway's admin REST API on 127.0.0.1:$ADMIN_API_PORT: checks
                                      each request's SigV4 signature against the local accounts'
                                      keys (admin-credentials.json) and the template's resource
                                      policy, and invokes the admin function with the caller

Everything listens on 127.0.0.1 only. Environment: MOTO_PORT (5055), WATCH_PORT (9000),
ARIBA_NETWORK_PORT (9002), ADMIN_API_PORT (9004),
STACK_NAME (procurement-local), LOCAL_DIR (.local), LOCAL_PARAM_<Name> to override a template
parameter (e.g. LOCAL_PARAM_SenderEmail=me@example.com).

The schema is read from template.yaml: there is no second copy of it here.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import urllib.error
from pathlib import Path

# The work is done by the localstack package beside this script, one module per job. Python puts
# the script's directory first on sys.path, except with -P / PYTHONSAFEPATH: put it there anyway.
_SCRIPTS = str(Path(__file__).resolve().parent)
if _SCRIPTS not in sys.path:
    sys.path.insert(0, _SCRIPTS)

from localstack import admin_api, ariba_network, config, fault_proxy, iam, resources, scheduler, sqs_poller
from localstack.config import ENDPOINT, HOST, MOTO_PORT, WATCH_PORT, WATCH_URL, log
from localstack.resources import Moto
from localstack.supervisor import MANAGED, port_open, read_pid, spawn, stop, wait_http
from localstack.template import Stack, env_file_text, load_template, stack_env


def cmd_up(args: argparse.Namespace) -> int:
    config.LOCAL_DIR.mkdir(parents=True, exist_ok=True)
    if read_pid("moto") is None:
        if port_open(MOTO_PORT):
            log(f"port {MOTO_PORT} is taken by another program: set MOTO_PORT")
            return 1
        # moto_server, with DynamoDB calls isolated as DynamoDB isolates them (see the script).
        moto = Path(__file__).with_name("moto_server.py")
        spawn("moto", [sys.executable, str(moto), "-H", HOST, "-p", str(MOTO_PORT)])
    if not wait_http(f"{ENDPOINT}/moto-api/", 60, ok=lambda s: s == 200):
        log(f"moto did not answer on {ENDPOINT}; see {config.LOCAL_DIR / 'moto.log'}")
        return 1
    log(f"moto answers on {ENDPOINT}")
    # moto keeps its queues in memory: a ledger of an earlier stack's deliveries means nothing now.
    config.DELIVERIES.unlink(missing_ok=True)
    ariba_network.ledger().unlink(missing_ok=True)

    stack = Stack(load_template(), Moto(create=True))
    resources.create_all(stack)
    (config.LOCAL_DIR / "stack.env").write_text(env_file_text(stack_env(stack)))
    log(f"wrote {config.LOCAL_DIR / 'stack.env'}")
    # The local accounts' admin keys, new for each stack (as moto's data is).
    admin_api.create_credentials(stack)
    log(f"wrote {admin_api.credentials_file()}")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    for name in MANAGED:
        stop(name)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    for name in MANAGED:
        pid = read_pid(name)
        print(f"{name:13} {'pid ' + str(pid) if pid else 'not running'}")
    print(f"moto          {ENDPOINT}  ({'open' if port_open(MOTO_PORT) else 'closed'})")
    print(f"api           {WATCH_URL}  ({'open' if port_open(WATCH_PORT) else 'closed'})")
    network = config.ARIBA_NETWORK_PORT
    print(f"ariba network http://{HOST}:{network}/  ({'open' if port_open(network) else 'closed'})")
    admin = config.ADMIN_API_PORT
    print(f"admin api     http://{HOST}:{admin}/  ({'open' if port_open(admin) else 'closed'})")
    return 0


def cmd_spawn(args: argparse.Namespace) -> int:
    cmd = args.cmd[1:] if args.cmd and args.cmd[0] == "--" else args.cmd
    if not cmd:
        log("spawn: no command")
        return 2
    spawn(args.name, cmd)
    return 0


def cmd_sqs_poller(args: argparse.Namespace) -> int:
    stack = Stack(load_template(), Moto(create=False))
    return sqs_poller.run(stack, args.once, args.wait, args.visibility_timeout, args.compile_allowance)


def cmd_schedule(args: argparse.Namespace) -> int:
    stack = Stack(load_template(), Moto(create=False))
    targets = scheduler.scheduled_targets(stack, args.function)
    if not targets:
        log("no scheduled function matches")
        return 1
    return scheduler.run(targets, args.every, args.timeout)


def cmd_ariba_network(args: argparse.Namespace) -> int:
    """The SAP Ariba Network stand-in, until stopped."""
    env = Path(config.LOCAL_DIR / "stack.env").read_text().splitlines()
    values = dict(line.split("=", 1) for line in env if "=" in line)
    secret_id = values.get("ARIBA_NETWORK_SECRET_ID")
    if not secret_id:
        log("stack.env names no ARIBA_NETWORK_SECRET_ID: start the stack with `up` first")
        return 1
    server = ariba_network.serve(args.port, secret_id, Moto(create=False).client("secretsmanager"))
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()
    return 0


def cmd_admin_api(args: argparse.Namespace) -> int:
    """The admin REST API stand-in (admin_api.py), until stopped."""
    if not admin_api.credentials_file().exists():
        log(f"no {admin_api.credentials_file()}: start the stack with `up` first")
        return 1
    stack = Stack(load_template(), Moto(create=False))
    gateway = admin_api.Gateway(stack, admin_api.load_credentials())
    server = admin_api.serve(args.port, gateway)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()
    return 0


def cmd_fault_proxy(args: argparse.Namespace) -> int:
    """The fault-injecting proxy in front of moto (fault_proxy.py), until stopped."""
    # The template's IAM policies, enforced on the functions' DynamoDB calls (iam.py).
    policies = iam.Policies.of_template(load_template())
    server = fault_proxy.serve(HOST, args.port, ENDPOINT, policies=policies)
    log(f"fault proxy on http://{HOST}:{args.port} in front of {ENDPOINT}")
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()
    return 0


def cmd_emails(args: argparse.Namespace) -> int:
    """Emails accepted by moto's SES, from its internal data API."""
    try:
        messages = resources.sent_emails(ENDPOINT)
    except (urllib.error.URLError, ConnectionError) as e:
        log(f"moto does not answer on {ENDPOINT}: {e}")
        return 1
    print(json.dumps(messages, indent=2, default=str))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up").set_defaults(func=cmd_up)
    sub.add_parser("down").set_defaults(func=cmd_down)
    sub.add_parser("status").set_defaults(func=cmd_status)
    sp = sub.add_parser("spawn")
    sp.add_argument("name", choices=[n for n in MANAGED if n != "moto"])
    sp.add_argument("cmd", nargs=argparse.REMAINDER)
    sp.set_defaults(func=cmd_spawn)
    pp = sub.add_parser("sqs-poller")
    pp.add_argument("--once", action="store_true", help="one receive (and invocation), then exit")
    pp.add_argument("--wait", type=int, default=10, help="long-poll seconds (max 20)")
    pp.add_argument(
        "--visibility-timeout", type=int, default=None,
        help="seconds before a failed message is redelivered (default: the queue's own)",
    )
    pp.add_argument("--compile-allowance", type=int, default=900, help="extra invoke timeout for compiling")
    pp.set_defaults(func=cmd_sqs_poller)
    sc = sub.add_parser("schedule")
    sc.add_argument("--every", type=float, default=0, help="repeat every N seconds (default: once)")
    sc.add_argument("--function", default=None, help="only this scheduled function")
    sc.add_argument("--timeout", type=float, default=1200)
    sc.set_defaults(func=cmd_schedule)
    sub.add_parser("emails").set_defaults(func=cmd_emails)
    fp = sub.add_parser("fault-proxy")
    fp.add_argument("--port", type=int, required=True)
    fp.set_defaults(func=cmd_fault_proxy)
    an = sub.add_parser("ariba-network")
    an.add_argument("--port", type=int, default=config.ARIBA_NETWORK_PORT)
    an.set_defaults(func=cmd_ariba_network)
    ad = sub.add_parser("admin-api")
    ad.add_argument("--port", type=int, default=config.ADMIN_API_PORT)
    ad.set_defaults(func=cmd_admin_api)
    args = parser.parse_args()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
