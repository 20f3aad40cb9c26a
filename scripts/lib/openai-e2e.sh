#!/usr/bin/env bash
# The OpenAI-compatible API through the official `openai` Python package:
#   scripts/lib/openai-e2e.sh BASE_URL UPSTREAM_CONTROL_URL
# BASE_URL is a running Confab server (e.g. http://127.0.0.1:8080) answering from the fake
# upstream whose control routes (/__requests, /__behaviour, /__reset) are at
# UPSTREAM_CONTROL_URL (e.g. http://127.0.0.1:9090). Installs the pinned packages of
# scripts/lib/openai-requirements.txt into .confab/venv-openai (again only when that file
# changed), then runs scripts/lib/openai_e2e.py and exits with its status.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/mongo.sh

if [ "$#" -ne 2 ]; then
  echo "usage: $0 BASE_URL UPSTREAM_CONTROL_URL" >&2
  exit 2
fi

OPENAI_VENV="$CONFAB_DIR/venv-openai"
OPENAI_REQUIREMENTS="scripts/lib/openai-requirements.txt"

# Installs the requirements into .confab/venv-openai when the venv is missing or was built from
# another version of the requirements file (a copy of it is kept inside the venv).
ensure_openai_venv() {
  local stamp="$OPENAI_VENV/.confab-requirements.txt"
  if [ -f "$stamp" ] && cmp -s "$OPENAI_REQUIREMENTS" "$stamp" && [ -x "$OPENAI_VENV/bin/python" ]; then
    return 0
  fi
  log "installing the OpenAI Python client ($(grep -E '^[A-Za-z]' "$OPENAI_REQUIREMENTS" | tr '\n' ' '))…"
  mkdir -p "$CONFAB_DIR"
  rm -f "$stamp"
  python3 -m venv "$OPENAI_VENV"
  "$OPENAI_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$OPENAI_REQUIREMENTS"
  cp "$OPENAI_REQUIREMENTS" "$stamp"
}

ensure_openai_venv
log "OpenAI-compatible API: the openai Python client against $1 (fake upstream $2)"
exec "$OPENAI_VENV/bin/python" scripts/lib/openai_e2e.py "$1" "$2"
