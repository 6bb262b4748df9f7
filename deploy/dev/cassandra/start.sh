#!/usr/bin/env bash
# Launches a throwaway single-node Apache Cassandra 5.0 on 127.0.0.1:9042 from Maven Central
# jars, detached, and returns at once (deploy/dev/services.sh waits until it answers CQL).
#
# Needs OpenJDK 17 (Cassandra 5.0 runs on 11 and 17 only, not 21+) and Maven 3.8+ with access
# to Maven Central. The jars are resolved once into $CASSANDRA_LIB_DIR; the state (data, logs,
# pid) lives in $CASSANDRA_RUN_DIR and is wiped at every start, unless CASSANDRA_KEEP_DATA=1
# (a restart that keeps the data, for fault tests). Nothing is written next to this script, so it
# also works from a read-only checkout.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VERSION="5.0.8"   # keep in step with pom.xml
CACHE="${CODEBEGEN_DEV_CACHE_DIR:-$HOME/.cache/codebegen-dev}"
LIB="${CASSANDRA_LIB_DIR:-$CACHE/cassandra-$VERSION/lib}"
RUN="${CASSANDRA_RUN_DIR:-${CODEBEGEN_DEV_RUN_DIR:-/tmp/codebegen-dev}/cassandra}"
JAVA="${CASSANDRA_JAVA:-/usr/lib/jvm/java-17-openjdk-amd64/bin/java}"
[ -x "$JAVA" ] || JAVA=java
if ! "$JAVA" -version 2>&1 | grep -q 'version "17'; then
  echo "cassandra: need JDK 17 (set CASSANDRA_JAVA); found: $("$JAVA" -version 2>&1 | head -n1)" >&2
  exit 1
fi

# 1. Resolve the jars once (Maven keeps its own copy in ~/.m2 as well).
if [ ! -f "$LIB/.complete" ]; then
  echo "cassandra: resolving cassandra-all $VERSION and its runtime jars from Maven Central into $LIB" >&2
  rm -rf "$LIB"
  mkdir -p "$LIB"
  mvn -B -q -Dstyle.color=never -f "$HERE/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$LIB" -DincludeScope=runtime >&2
  touch "$LIB/.complete"
fi
JAMM="$(ls "$LIB"/jamm-*.jar | head -n1)"

# 2. Fresh state (unless kept), and a higher file-descriptor limit (Cassandra only warns when it
#    is low).
ulimit -n 100000 2>/dev/null || true
if [ "${CASSANDRA_KEEP_DATA:-0}" != 1 ]; then
  rm -rf "$RUN"
fi
mkdir -p "$RUN"/{data,logs,triggers,tmp}

# 3. Launch what bin/cassandra would, trimmed for tests, in its own session so that it
#    outlives this script and the caller's process group.
setsid "$JAVA" \
  -Xms1G -Xmx1G -Xss256k \
  -XX:+UseG1GC -XX:+ParallelRefProcEnabled -XX:MaxTenuringThreshold=1 -XX:MaxGCPauseMillis=300 \
  -XX:+ExitOnOutOfMemoryError -XX:+PerfDisableSharedMem -XX:+UseTLAB -XX:+ResizeTLAB \
  -ea -da:net.openhft... \
  -Djava.net.preferIPv4Stack=true -Dchronicle.analytics.disable=true \
  -Djava.io.tmpdir="$RUN/tmp" \
  -javaagent:"$JAMM" \
  @"$HERE/conf/jvm17-server.options" \
  -Dcassandra-foreground=yes \
  -Dcassandra.config="file://$HERE/conf/cassandra.yaml" \
  -Dcassandra.storagedir="$RUN" \
  -Dcassandra.triggers_dir="$RUN/triggers" \
  -Dcassandra.logdir="$RUN/logs" \
  -Dlogback.configurationFile="$HERE/conf/logback.xml" \
  -Dcassandra.skip_wait_for_gossip_to_settle=0 \
  -Dcassandra.unsafesystem=true \
  -cp "$HERE/conf:$LIB/*" \
  org.apache.cassandra.service.CassandraDaemon \
  </dev/null >"$RUN/logs/stdout.log" 2>&1 &
echo $! >"$RUN/cassandra.pid"
echo "cassandra: launched (pid $(cat "$RUN/cassandra.pid"), logs in $RUN/logs)" >&2
