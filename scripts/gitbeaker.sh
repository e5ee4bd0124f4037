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

cargo build --quiet -p pipewright
data="$(mktemp -d)"
log="$data/serve.log"
PIPEWRIGHT_INITIAL_ROOT_TOKEN="$token" target/debug/pipewright serve \
  --data-dir "$data" --listen "127.0.0.1:$port" --builtin-runners 2 >"$log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
  # /version needs a token, as on GitLab.
  if curl -fsS -H "PRIVATE-TOKEN: $token" "http://127.0.0.1:$port/api/v4/version" >/dev/null 2>&1; then
    break
  fi
  sleep 0.1
done

if ! node "$work/check.mjs" "http://127.0.0.1:$port" "$token"; then
  echo "--- server log ---"
  tail -n 50 "$log"
  exit 1
fi
