#!/usr/bin/env bash
# The main job (README): the whole system on the local stack, with simulated users.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'USAGE'
usage: ./scripts/demo.sh [options]

Installs what is missing, starts the local stack (Kafka, schema registry, ClickHouse), creates the topics and
the warehouse schema, generates a synthetic world and imports it (playlists, plays, follows), starts every
process of the system: the gateway (WebSocket push, events API, dashboard), the live system (buddies start:
warehouse sink, live recommender, interaction windows; the first start trains and announces the track
embeddings), the trainer and the model lifecycle (canary, degradation monitor). Prints the dashboard's address,
then lets simulated users loose on it through the gateway for --duration, each an app with a token of its own,
with a live summary. Prints the online metrics per model version and what landed in ClickHouse. Ctrl-C stops
everything it started. Re-running reuses the world, the import, the models and each process's state.

  --users N        users of the generated world (default 2000)
  --playlists N    playlists of the generated world (default 5000)
  --seed S         world and simulation seed (default 1)
  --sim-users N    simulated users (default 300)
  --rate R         simulated events per second, at most (default 300)
  --duration D     simulation time per strategy, e.g. 60s, 5m (default 60s)
  --strategy LIST  recommenders to run one after the other: buddies, popular, random (default buddies;
                   try buddies,random to watch the online metrics tell them apart)
  --shift F:T:X@S  move X of community F's interest to T after S seconds (passed to buddies simulate)
  --via V          how simulated users reach the system: gateway (default) or kafka
  --port P         the gateway's port (default: BUDDIES_GATEWAY_PORT, 8080)
  -h, --help       this text
USAGE
}

users=2000 playlists=5000 seed=1 sim_users=300 rate=300 duration=60s strategies=buddies shift=() via=gateway port=${BUDDIES_GATEWAY_PORT:-8080}
while [ $# -gt 0 ]; do
  case "$1" in
    --users) users=$2; shift 2 ;;
    --playlists) playlists=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --sim-users) sim_users=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --strategy) strategies=$2; shift 2 ;;
    --shift) shift+=(--shift "$2"); shift 2 ;;
    --via) via=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "demo: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

step() { printf '\n== %s\n' "$1"; }
buddies() { node bin/buddies.js "$@"; }

step "install"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci --no-audit --no-fund; else npm run --silent build; fi

# Each world gets its own topics and database: generated worlds reuse playlist and user ids, so two
# worlds in the same topics would overwrite each other's playlists.
name="u$users-p$playlists-s$seed"
export BUDDIES_TOPIC_PREFIX="${BUDDIES_TOPIC_PREFIX-demo-$name.}"
export CLICKHOUSE_DATABASE="${CLICKHOUSE_DATABASE:-buddies_demo_${name//-/_}}"

step "local stack (topics $BUDDIES_TOPIC_PREFIX*, database $CLICKHOUSE_DATABASE)"
buddies stack up
buddies topics ensure >/dev/null
buddies warehouse migrate

stack_dir=${BUDDIES_STACK_DIR:-.stack}
world="$stack_dir/demo/world-$name"
step "world: $world"
if [ ! -f "$world/world.json" ]; then
  buddies generate --users "$users" --playlists "$playlists" --seed "$seed" --out "$world"
fi
step "import (resumable: a finished import is a no-op)"
buddies import mpd "$world"

logs="$stack_dir/logs"
mkdir -p "$logs"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

wait_for_line() { # file, pattern, seconds: polls the processor's log for its ready line
  local deadline=$((SECONDS + $3))
  until grep -q "$2" "$1" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then echo "demo: no '$2' in $1 after $3 s:" >&2; tail -20 "$1" >&2; exit 1; fi
    sleep 1
  done
}

export BUDDIES_GATEWAY_PORT=$port
step "gateway, trainer and model lifecycle (logs in $logs/demo-*.log)"
node bin/buddies.js gateway > "$logs/demo-gateway.log" 2>&1 & # not the function: $! must be node itself
pids+=($!)
wait_for_line "$logs/demo-gateway.log" "gateway running" 300
node bin/buddies.js trainer > "$logs/demo-trainer.log" 2>&1 &
pids+=($!)
node bin/buddies.js lifecycle > "$logs/demo-lifecycle.log" 2>&1 &
pids+=($!)
token=$(buddies gateway token demo-operator --operator --ttl-s 86400)
echo "dashboard: http://127.0.0.1:$port/dashboard/#token=$token"
echo "  (an operator token for a day; a user's app connects to ws://127.0.0.1:$port/v1/stream, docs/gateway.md)"

IFS=',' read -r -a list <<< "$strategies"
for strategy in "${list[@]}"; do
  step "the live system (recommender: $strategy) and $sim_users simulated users for $duration, through the $via"
  log="$logs/demo-start-$strategy.log"
  node bin/buddies.js start --strategy "$strategy" > "$log" 2>&1 &
  sys=$!
  pids+=($sys)
  wait_for_line "$log" "warehouse, recommender, windows running" 900
  buddies simulate --world "$world" --users "$sim_users" --rate "$rate" --duration "$duration" --seed "$seed" --via "$via" "${shift[@]}"
  kill -TERM "$sys"; wait "$sys" || true
done

step "what landed in ClickHouse (database $CLICKHOUSE_DATABASE)"
ch_url=${CLICKHOUSE_URL:-http://127.0.0.1:${BUDDIES_CLICKHOUSE_HTTP_PORT:-8123}}
query() { curl -sS --fail "$ch_url/?database=$CLICKHOUSE_DATABASE" --data-binary "$1 FORMAT PrettyCompactMonoBlock"; }
# FINAL: replays and duplicates fold only at merges otherwise (docs/analytics.md)
query "SELECT 'listen_events' AS table, count() AS rows FROM listen_events FINAL UNION ALL SELECT 'feedback_events', count() FROM feedback_events FINAL UNION ALL SELECT 'playlists', count() FROM playlists FINAL UNION ALL SELECT 'recommendations', count() FROM recommendations FINAL"
echo "online metrics per model version (buddies report model-rates, from the hourly reaction view):"
buddies report model-rates --since all
echo "more: buddies report --list (docs/analytics.md)"
