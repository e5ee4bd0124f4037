#!/usr/bin/env bash
# Starts a fresh `pipewright serve` (debug build, temp data dir, built-in runner) and drives it
# with the real gitbeaker client (scripts/clients/gitbeaker/check.mjs). @gitbeaker/rest is
# installed from the npm registry, at the version pinned in package-lock.json, into
# target/gitbeaker-check (needs Node >= 18.20 and npm; installed with apt-get when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

port="${PIPEWRIGHT_CHECK_PORT:-18766}"
token="gitbeaker-check-token"
work="target/gitbeaker-check"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  # Debian's nodejs (18.20 on bookworm) is new enough for gitbeaker 43.
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q nodejs npm
fi

mkdir -p "$work"
cp scripts/clients/gitbeaker/package.json scripts/clients/gitbeaker/package-lock.json \
  scripts/clients/gitbeaker/check.mjs "$work/"
if ! cmp -s "$work/package-lock.json" "$work/node_modules/.package-lock.json.installed" 2>/dev/null; then
  (cd "$work" && npm ci --silent --no-audit --no-fund)
  cp "$work/package-lock.json" "$work/node_modules/.package-lock.json.installed"
fi

source scripts/lib/check-server.sh
run_against_fresh_server "$port" "$token" node "$work/check.mjs"
