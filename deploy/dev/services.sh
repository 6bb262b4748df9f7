#!/usr/bin/env bash
# Real servers for the store tests, on loopback:
#   - Apache Cassandra 5.0 (from Maven Central jars, see cassandra/) on 127.0.0.1:9042;
#   - an S3-compatible server, moto (from PyPI, in a venv under the cache) on 127.0.0.1:$S3_PORT.
#
#   deploy/dev/services.sh start    # launches both, waits until both answer, prints export lines
#   deploy/dev/services.sh stop     # stops both (by the pids start recorded)
#   deploy/dev/services.sh status   # says what answers
#
# `start` prints only the export lines on stdout (progress goes to stderr), so
#   eval "$(deploy/dev/services.sh start)"
# sets CODEBEGEN_TEST_CQL and CODEBEGEN_TEST_S3 for the conformance tests. It needs only JDK 17,
# Maven, Python 3 and access to Maven Central and PyPI; downloads are cached in
# $CODEBEGEN_DEV_CACHE_DIR (default ~/.cache/codebegen-dev), state lives in
# $CODEBEGEN_DEV_RUN_DIR (default /tmp/codebegen-dev) and is wiped at every start (set
# CASSANDRA_KEEP_DATA=1 to restart Cassandra on its old data, e.g. in a fault test).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export CODEBEGEN_DEV_CACHE_DIR="${CODEBEGEN_DEV_CACHE_DIR:-$HOME/.cache/codebegen-dev}"
export CODEBEGEN_DEV_RUN_DIR="${CODEBEGEN_DEV_RUN_DIR:-/tmp/codebegen-dev}"
CQL_PORT=9042
S3_PORT="${CODEBEGEN_DEV_S3_PORT:-9000}"
START_TIMEOUT_S="${CODEBEGEN_DEV_START_TIMEOUT_S:-600}"
MOTO_VERSION="5.2.5"
MOTO_VENV="$CODEBEGEN_DEV_CACHE_DIR/moto-$MOTO_VERSION"
MOTO_RUN="$CODEBEGEN_DEV_RUN_DIR/s3"
PYTHON="${CODEBEGEN_DEV_PYTHON:-python3}"

log() { echo "services: $*" >&2; }

# One CQL OPTIONS request (protocol v4, stream 1); a SUPPORTED reply (opcode 0x06) means the
# native transport is up and answering.
cql_answers() {
  local reply
  reply="$(timeout 3 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "\x04\x00\x00\x01\x05\x00\x00\x00\x00" >&3
    head -c 5 <&3 | od -An -tx1 | tr -d " \n"' _ "$CQL_PORT" 2>/dev/null)" || return 1
  [ "$reply" = "8400000106" ]
}

# ListBuckets answered with 200.
s3_answers() {
  curl -fsS -o /dev/null --max-time 3 "http://127.0.0.1:$S3_PORT/" 2>/dev/null
}

port_taken() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

alive() {
  [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

start_cassandra() {
  if alive "$CODEBEGEN_DEV_RUN_DIR/cassandra/cassandra.pid" && cql_answers; then
    log "cassandra already running"
    return 0
  fi
  if port_taken "$CQL_PORT"; then
    log "port $CQL_PORT is taken by another process; stop it first"
    return 1
  fi
  "$HERE/cassandra/start.sh"
}

start_moto() {
  if alive "$MOTO_RUN/moto.pid" && s3_answers; then
    log "s3 (moto) already running"
    return 0
  fi
  if port_taken "$S3_PORT"; then
    log "port $S3_PORT is taken by another process; set CODEBEGEN_DEV_S3_PORT"
    return 1
  fi
  if [ ! -f "$MOTO_VENV/.complete" ]; then
    log "installing moto[server]==$MOTO_VERSION from PyPI into $MOTO_VENV"
    rm -rf "$MOTO_VENV"
    "$PYTHON" -m venv "$MOTO_VENV"
    "$MOTO_VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
    touch "$MOTO_VENV/.complete"
  fi
  rm -rf "$MOTO_RUN"
  mkdir -p "$MOTO_RUN"
  setsid "$MOTO_VENV/bin/moto_server" -H 127.0.0.1 -p "$S3_PORT" \
    </dev/null >"$MOTO_RUN/moto.log" 2>&1 &
  echo $! >"$MOTO_RUN/moto.pid"
  log "s3 (moto) launched (pid $(cat "$MOTO_RUN/moto.pid"), log $MOTO_RUN/moto.log)"
}

# Polls `check` until it succeeds, the process behind `pidfile` dies, or the deadline passes.
wait_for() {
  local name="$1" check="$2" pidfile="$3" logfile="$4" deadline="$5"
  while ! "$check"; do
    if ! alive "$pidfile"; then
      log "$name died during start-up; the end of $logfile:"
      tail -n 60 "$logfile" >&2 || true
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "$name did not answer within ${START_TIMEOUT_S}s; the end of $logfile:"
      tail -n 60 "$logfile" >&2 || true
      return 1
    fi
    sleep 0.25
  done
  log "$name answers ($((SECONDS - STARTED))s)"
}

start() {
  STARTED=$SECONDS
  mkdir -p "$CODEBEGEN_DEV_RUN_DIR" "$CODEBEGEN_DEV_CACHE_DIR"
  # The two launches (downloads included) run side by side.
  start_cassandra &
  local cassandra_launch=$!
  start_moto &
  local moto_launch=$!
  local failed=0
  wait "$cassandra_launch" || failed=1
  wait "$moto_launch" || failed=1
  if [ "$failed" -ne 0 ]; then
    stop
    return 1
  fi
  local deadline=$((STARTED + START_TIMEOUT_S))
  if ! wait_for "s3 (moto) on 127.0.0.1:$S3_PORT" s3_answers "$MOTO_RUN/moto.pid" "$MOTO_RUN/moto.log" "$deadline" \
    || ! wait_for "cassandra on 127.0.0.1:$CQL_PORT" cql_answers "$CODEBEGEN_DEV_RUN_DIR/cassandra/cassandra.pid" \
      "$CODEBEGEN_DEV_RUN_DIR/cassandra/logs/system.log" "$deadline"; then
    stop
    return 1
  fi
  log "both services answer after $((SECONDS - STARTED))s"
  echo "export CODEBEGEN_TEST_CQL=127.0.0.1:$CQL_PORT"
  echo "export CODEBEGEN_TEST_S3=http://127.0.0.1:$S3_PORT"
}

stop_moto() {
  local pidfile="$MOTO_RUN/moto.pid"
  [ -f "$pidfile" ] || return 0
  local pid
  pid="$(cat "$pidfile")"
  rm -f "$pidfile"
  kill "$pid" 2>/dev/null || return 0
  local end=$((SECONDS + 10))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$end" ]; then
      kill -9 "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
  done
  log "s3 (moto) stopped (pid $pid)"
}

stop() {
  stop_moto
  "$HERE/cassandra/stop.sh"
}

status() {
  local code=0
  if cql_answers; then log "cassandra answers on 127.0.0.1:$CQL_PORT"; else log "cassandra: not answering"; code=1; fi
  if s3_answers; then log "s3 answers on 127.0.0.1:$S3_PORT"; else log "s3: not answering"; code=1; fi
  return "$code"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
