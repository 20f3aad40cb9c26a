#!/usr/bin/env bash
# Tests that ./scripts/run stops everything it started, whichever way Confab ends: killed
# with SIGKILL (a crash), and the script itself stopped with SIGTERM (Ctrl-C is the same path).
# Uses the debug build (CONFAB_PROFILE=debug) and its own run folder. Called by scripts/test.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/mongo.sh

alive() { kill -0 "$1" 2>/dev/null; }
# wait_gone PID SECONDS: true once PID has exited.
wait_gone() {
  for _ in $(seq 1 $(($2 * 10))); do
    alive "$1" || return 0
    sleep 0.1
  done
  return 1
}
read_pid() {
  for _ in $(seq 1 600); do
    if [ -s "$1" ]; then cat "$1"; return 0; fi
    sleep 0.1
  done
  echo "no pid file $1" >&2
  return 1
}

check() {
  local how="$1" run_dir port runner confab demo mongo
  run_dir="$(mktemp -d)"
  port="$(free_port)"
  env -u MONGODB_URI -u OPENAI_API_BASE_URL -u MODELS_FILE \
    PORT="$port" CONFAB_RUN_DIR="$run_dir" CONFAB_PROFILE=debug CONFAB_SKIP_CLIENT_BUILD=1 \
    RUST_LOG=warn ./scripts/run >"$run_dir/run.log" 2>&1 &
  runner=$!
  if ! wait_for_port "$port" 120; then
    cat "$run_dir/run.log" >&2
    kill "$runner" 2>/dev/null || true
    return 1
  fi
  confab="$(read_pid "$run_dir/confab.pid")"
  demo="$(read_pid "$run_dir/demo-model.pid")"
  mongo="$(read_pid "$run_dir/mongo.pid")"
  case "$how" in
    "confab killed") kill -KILL "$confab" ;;
    "script stopped") kill -TERM "$runner" ;;
  esac
  local failed=0
  wait_gone "$runner" 30 || { echo "FAIL ($how): ./scripts/run is still running" >&2; failed=1; }
  for pair in "confab:$confab" "demo model:$demo" "MongoDB-protocol server:$mongo"; do
    if ! wait_gone "${pair##*:}" 10; then
      echo "FAIL ($how): the ${pair%%:*} (pid ${pair##*:}) was left running" >&2
      kill -KILL "${pair##*:}" 2>/dev/null || true
      failed=1
    fi
  done
  if [ "$failed" -ne 0 ]; then
    cat "$run_dir/run.log" >&2
    return 1
  fi
  log "scripts/run, $how: Confab, the demo model and the MongoDB-protocol server all stopped"
  rm -rf "$run_dir"
}

check "confab killed"
check "script stopped"
