# Shared by scripts/run and scripts/test: installs and starts a local MongoDB-protocol server
# (SecantusDB from PyPI; see ../shared/notes/mongodb-test-server.md). No Docker needed.

SECANTUS_VERSION="0.7.0b3"
CONFAB_DIR="${CONFAB_DIR:-$PWD/.confab}"
SECANTUS_VENV="$CONFAB_DIR/venv-mongo"

log() { printf '\033[1;34m[confab]\033[0m %s\n' "$*" >&2; }

# ensure_pip_package VENV PACKAGE VERSION COMMAND WHAT: installs PACKAGE==VERSION from PyPI
# into the virtualenv VENV once (a marker file remembers the version), unless COMMAND is there.
ensure_pip_package() {
  local venv="$1" package="$2" version="$3" command="$4" what="$5"
  local marker="$venv/.$package-$version"
  if [ -f "$marker" ] && [ -x "$venv/bin/$command" ]; then
    return 0
  fi
  log "installing $what ($package $version)…"
  mkdir -p "$CONFAB_DIR"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$package==$version"
  touch "$marker"
}

# Installs SecantusDB into .confab/venv-mongo once (about 20 s).
ensure_secantus() {
  ensure_pip_package "$SECANTUS_VENV" SecantusDB "$SECANTUS_VERSION" secantusd-py \
    "the local MongoDB-protocol server"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_for_port() {
  local port="$1" seconds="${2:-60}"
  for _ in $(seq 1 $((seconds * 10))); do
    if python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1',$port)))" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# start_secantus STORAGE PIDFILE LOGFILE → sets MONGO_PORT and MONGO_PID.
# STORAGE is a folder (data survives restarts) or :memory:.
start_secantus() {
  local storage="$1" pidfile="$2" logfile="$3"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    log "stopping a MongoDB-protocol server left over from an earlier run (pid $(cat "$pidfile"))"
    kill "$(cat "$pidfile")" 2>/dev/null || true
    sleep 1
  fi
  if [ "$storage" != ":memory:" ]; then mkdir -p "$storage"; fi
  MONGO_PORT="${CONFAB_MONGO_PORT:-$(free_port)}"
  "$SECANTUS_VENV/bin/secantusd-py" --host 127.0.0.1 --port "$MONGO_PORT" --storage-path "$storage" \
    >"$logfile" 2>&1 &
  MONGO_PID=$!
  echo "$MONGO_PID" >"$pidfile"
  if ! wait_for_port "$MONGO_PORT" 60; then
    log "the MongoDB-protocol server did not start; its log:"
    cat "$logfile" >&2
    return 1
  fi
  log "MongoDB-protocol server on 127.0.0.1:$MONGO_PORT (pid $MONGO_PID, storage $storage)"
}

stop_secantus() {
  if [ -n "${MONGO_PID:-}" ]; then
    kill "$MONGO_PID" 2>/dev/null || true
    wait "$MONGO_PID" 2>/dev/null || true
  fi
}

# Debian's Chromium for the browser tests (installed once; CI machines start without it).
ensure_chromium() {
  if [ -x /usr/bin/chromium ]; then
    return 0
  fi
  log "installing Chromium (Debian package) for the browser tests…"
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
}

# The web client's dependencies (npm ci when package-lock.json changed).
ensure_client_deps() {
  local stamp="client/node_modules/.confab-lock"
  if [ -f "$stamp" ] && cmp -s client/package-lock.json "$stamp"; then
    return 0
  fi
  (cd client && npm ci --no-audit --no-fund --loglevel=error)
  cp client/package-lock.json "$stamp"
}
