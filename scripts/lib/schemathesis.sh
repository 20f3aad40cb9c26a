# The API contract test: schemathesis (from PyPI) fuzzes every operation of the OpenAPI document
# served at /api/openapi.json against a running server. Source scripts/lib/mongo.sh first (log,
# CONFAB_DIR). Start that server with an access token that outlives the run
# (ACCESS_TOKEN_TTL_SECS=3600) and, like the e2e server, without the fair-use limits, or most
# requests of the fuzzed operations are answered 429.

SCHEMATHESIS_VERSION="4.32.5"
SCHEMATHESIS_VENV="$CONFAB_DIR/venv-schemathesis"

# Installs schemathesis into .confab/venv-schemathesis once.
ensure_schemathesis() {
  ensure_pip_package "$SCHEMATHESIS_VENV" schemathesis "$SCHEMATHESIS_VERSION" schemathesis \
    "the API contract checker"
}

# run_schemathesis BASE_URL: registers a throw-away user, then runs every phase (examples,
# coverage, fuzzing, stateful) with every check as that user. Non-zero on any failure; the
# JUnit report lands in .confab/schemathesis/junit.xml.
run_schemathesis() {
  local base="${1%/}" name token
  ensure_schemathesis
  name="st_$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  token="$("$SCHEMATHESIS_VENV/bin/python" - "$base" "$name" <<'PY'
import json, sys, urllib.request
base, name = sys.argv[1], sys.argv[2]
body = json.dumps({"username": name, "email": f"{name}@example.org", "password": f"{name}-pw-1"})
request = urllib.request.Request(f"{base}/api/auth/register", body.encode(),
                                 {"Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(request, timeout=30))["access_token"])
PY
)" || { log "schemathesis: could not register a user at $base"; return 1; }
  log "schemathesis $SCHEMATHESIS_VERSION against $base (user $name)"
  # --exclude-path /api/auth/logout: it would revoke the session whose token every request
  #   carries, and everything after it would be 401. Nothing else needs excluding.
  # --checks all: every check is a contract problem here (5xx, undocumented status or content
  #   type, body or SSE event not matching its schema, invalid input accepted, valid input
  #   refused, auth ignored, deleted resources still served…).
  # --max-examples 100 per operation and phase, 2 workers: 1–2 minutes on 2 cores.
  # --request-timeout 30: streamed answers (text/event-stream) are read to their end.
  # --continue-on-failure: report every failing case of an operation, not just the first.
  # --output-sanitize false: the token is a throw-away one, and sanitizing also hides
  #   `max_tokens` in the printed curl lines.
  # --generation-database none and HYPOTHESIS_STORAGE_DIRECTORY: nothing written to the work
  #   tree (hypothesis would create .hypothesis/ in the current folder).
  # Run from .confab/: schemathesis keeps a cache folder in the working directory.
  local config="$PWD/scripts/lib/schemathesis.toml"
  (cd "$CONFAB_DIR" && HYPOTHESIS_STORAGE_DIRECTORY="$CONFAB_DIR/hypothesis" \
    "$SCHEMATHESIS_VENV/bin/schemathesis" --no-color --config-file "$config" \
      run "$base/api/openapi.json" \
      --header "Authorization: Bearer $token" \
      --exclude-path /api/auth/logout \
      --phases examples,coverage,fuzzing,stateful \
      --checks all \
      --max-examples 100 \
      --workers 2 \
      --continue-on-failure \
      --request-timeout 30 \
      --output-sanitize false \
      --generation-database none \
      --report junit --report-junit-path "$CONFAB_DIR/schemathesis/junit.xml")
}
