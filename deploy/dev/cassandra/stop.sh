#!/usr/bin/env bash
# Stops the Cassandra that start.sh launched, by the pid it recorded: SIGTERM (Cassandra's
# shutdown hook drains), then SIGKILL if it is still there after a deadline.
set -euo pipefail
RUN="${CASSANDRA_RUN_DIR:-${CODEBEGEN_DEV_RUN_DIR:-/tmp/codebegen-dev}/cassandra}"
DEADLINE_S="${CASSANDRA_STOP_TIMEOUT_S:-30}"
[ -f "$RUN/cassandra.pid" ] || exit 0
PID="$(cat "$RUN/cassandra.pid")"
rm -f "$RUN/cassandra.pid"
kill "$PID" 2>/dev/null || exit 0
end=$((SECONDS + DEADLINE_S))
while kill -0 "$PID" 2>/dev/null; do
  if [ "$SECONDS" -ge "$end" ]; then
    echo "cassandra: still running after ${DEADLINE_S}s, killing pid $PID" >&2
    kill -9 "$PID" 2>/dev/null || true
    break
  fi
  sleep 0.2
done
echo "cassandra: stopped (pid $PID)" >&2
