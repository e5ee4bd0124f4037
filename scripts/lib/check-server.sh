# Sourced by the client checks in scripts/: `run_against_fresh_server PORT TOKEN CMD...` builds
# the debug binary, starts `pipewright serve` on a temp data dir with TOKEN as the root token,
# waits for it, then runs CMD with the server's URL and the token appended. On failure the end of
# the server log is printed; the server and its data are removed either way.
run_against_fresh_server() {
  local port="$1" token="$2"
  shift 2
  cargo build --quiet -p pipewright
  local data
  data="$(mktemp -d)"
  PIPEWRIGHT_INITIAL_ROOT_TOKEN="$token" target/debug/pipewright serve \
    --data-dir "$data" --listen "127.0.0.1:$port" --builtin-runners 2 >"$data/serve.log" 2>&1 &
  local server=$!
  # Also when the check is interrupted: no server left behind.
  trap "kill $server 2>/dev/null || true; rm -rf '$data'" EXIT

  for _ in $(seq 1 100); do
    # /version needs a token, as on GitLab.
    if curl -fsS -H "PRIVATE-TOKEN: $token" "http://127.0.0.1:$port/api/v4/version" >/dev/null 2>&1; then
      break
    fi
    sleep 0.1
  done

  local status=0
  "$@" "http://127.0.0.1:$port" "$token" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "--- server log ---"
    tail -n 50 "$data/serve.log"
  fi
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$data"
  trap - EXIT
  return "$status"
}
