#!/usr/bin/env bash
# Installs what the tests and the local stack need on a fresh machine, idempotently:
# Debian packages with apt-get, Python tools into ./.venv, Rust components with rustup.
# Usage: scripts/ensure-tools.sh [rust] [xmllint] [python] [lambda] [browser] [fuzz]
set -euo pipefail
cd "$(dirname "$0")/.."

want() { [[ " $* " == *" all "* ]]; }
SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# cargo-lambda goes in without its one dependency, ziglang (~400 MB): `cargo lambda watch` and
# `cargo lambda invoke` run on this machine's cargo; only the arm64 cross-build needs zig.
CARGO_LAMBDA_REQUIREMENT='cargo-lambda==1.9.2'

python_tools() {
  # The stamp records which requirements were installed: editing them reinstalls.
  local stamp=.venv/.installed-requirements want_hash
  want_hash=$( (cat scripts/requirements.txt scripts/constraints.txt; echo "$CARGO_LAMBDA_REQUIREMENT") | sha256sum | cut -d' ' -f1)
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want_hash" ] && [ -x .venv/bin/python ] && return 0
  echo "== Python tools into .venv (moto server, cfn-lint, AWS SAM CLI, cargo-lambda, boto3)"
  python3 -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
  [ -x .venv/bin/python ] || python3 -m venv .venv
  local pip=(.venv/bin/pip install -q --no-cache-dir --disable-pip-version-check)
  "${pip[@]}" --upgrade pip
  "${pip[@]}" -r scripts/requirements.txt -c scripts/constraints.txt
  "${pip[@]}" --no-deps "$CARGO_LAMBDA_REQUIREMENT"
  echo "$want_hash" > "$stamp"
}

# `sam build` / `cargo lambda build --arm64` cross-compile for Graviton with the zig linker
# from PyPI's ziglang (the dependency cargo-lambda declares) and the Rust arm64 target.
lambda_tools() {
  python_tools
  .venv/bin/python -c 'import ziglang' 2>/dev/null \
    || .venv/bin/pip install -q --no-cache-dir --disable-pip-version-check 'ziglang>=0.10.0'
  rustup target list --installed 2>/dev/null | grep -qx 'aarch64-unknown-linux-gnu' \
    || rustup target add aarch64-unknown-linux-gnu
}

rust_components() {
  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
}

for what in "${@:-xmllint}"; do
  case "$what" in
    xmllint) command -v xmllint >/dev/null 2>&1 || apt_install libxml2-utils ;;
    python) python_tools ;;
    lambda) lambda_tools ;;
    rust) rust_components ;;
    browser) apt_install chromium chromium-driver ;;
    *) echo "ensure-tools: unknown tool set '$what'" >&2; exit 2 ;;
  esac
done
