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

source scripts/lib/check-server.sh
run_against_fresh_server "$port" "$token" perl scripts/clients/perl-gitlab-api/check.pl
