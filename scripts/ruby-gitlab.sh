#!/usr/bin/env bash
# Starts a fresh `pipewright serve` (debug build, temp data dir, built-in runner) and drives it
# with the real Ruby `gitlab` gem (scripts/clients/ruby-gitlab/check.rb). The gem comes from
# Debian's `ruby-gitlab` package (installed with apt-get when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

port="${PIPEWRIGHT_CHECK_PORT:-18767}"
token="ruby-gitlab-check-token"

if ! ruby -e 'require "gitlab"' >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q ruby-gitlab
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

if ! ruby scripts/clients/ruby-gitlab/check.rb "http://127.0.0.1:$port" "$token"; then
  echo "--- server log ---"
  tail -n 50 "$log"
  exit 1
fi
