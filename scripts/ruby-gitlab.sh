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

source scripts/lib/check-server.sh
run_against_fresh_server "$port" "$token" ruby scripts/clients/ruby-gitlab/check.rb
