#!/usr/bin/env bash
# Checks the Compose files without Docker (none runs here): every docker-compose*.yml in the
# repository root against the Compose Specification's JSON schema (vendored in
# deploy/compose-spec.json; an override file alone and merged onto docker-compose.yml), and
# every variable they pass to Confab against .env.example. The checks are in check_compose.py;
# jsonschema and PyYAML come from PyPI into .confab/venv-compose-check. Called by scripts/test.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/mongo.sh

JSONSCHEMA_VERSION="4.26.0"
PYYAML_VERSION="6.0.3"
COMPOSE_CHECK_VENV="$CONFAB_DIR/venv-compose-check"

ensure_pip_package "$COMPOSE_CHECK_VENV" jsonschema "$JSONSCHEMA_VERSION" python \
  "the JSON Schema validator for the Compose files"
ensure_pip_package "$COMPOSE_CHECK_VENV" PyYAML "$PYYAML_VERSION" python \
  "the YAML parser for the Compose files"
"$COMPOSE_CHECK_VENV/bin/python" scripts/lib/check_compose.py
