#!/usr/bin/env bash
# Starts a fresh `pipewright serve` (debug build, temp data dir, built-in runner) and drives it
# with the real Perl client GitLab::API::v4 (scripts/clients/perl-gitlab-api/check.pl), from
# Debian's `libgitlab-api-v4-perl` package (installed with apt-get when missing; no CPAN).
set -euo pipefail
cd "$(dirname "$0")/.."

port="${PIPEWRIGHT_CHECK_PORT:-18768}"
token="perl-gitlab-api-check-token"

if ! perl -MGitLab::API::v4 -e 1 >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q libgitlab-api-v4-perl
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

if ! perl scripts/clients/perl-gitlab-api/check.pl "http://127.0.0.1:$port" "$token"; then
  echo "--- server log ---"
  tail -n 50 "$log"
  exit 1
fi
