#!/usr/bin/env bash
# Starts a fresh `pipewright serve` (debug build, temp data dir, built-in runner) and drives it
# with the real python-gitlab client (scripts/python_gitlab_check.py). python-gitlab is
# installed from PyPI into target/python-gitlab-venv.
set -euo pipefail
cd "$(dirname "$0")/.."

port="${PIPEWRIGHT_CHECK_PORT:-18765}"
token="python-gitlab-check-token"
venv="target/python-gitlab-venv"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check "python-gitlab>=4,<9"

source scripts/lib/check-server.sh
run_against_fresh_server "$port" "$token" "$venv/bin/python" scripts/python_gitlab_check.py
