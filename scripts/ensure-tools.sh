#!/usr/bin/env bash
# Installs what the tests and the local stack need on a fresh machine, idempotently:
# Debian packages with apt-get, Python tools into ./.venv, Rust components with rustup.
# Usage: scripts/ensure-tools.sh [xmllint] [python] [lambda] [browser] [fuzz]
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

python_tools() {
  local stamp=.venv/.installed-v1
  [ -f "$stamp" ] && return 0
  echo "== Python tools into .venv (moto server, cfn-lint, AWS SAM CLI, cargo-lambda)"
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r scripts/requirements.txt
  touch "$stamp"
}

rust_components() {
  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
}

for what in "${@:-xmllint}"; do
  case "$what" in
    xmllint) command -v xmllint >/dev/null 2>&1 || apt_install libxml2-utils ;;
    python) python_tools ;;
    rust) rust_components ;;
    browser) apt_install chromium chromium-driver ;;
    *) echo "ensure-tools: unknown tool set '$what'" >&2; exit 2 ;;
  esac
done
