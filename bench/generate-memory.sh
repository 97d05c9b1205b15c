#!/usr/bin/env bash
# Peak memory and time of `buddies generate` at MPD scale (1M playlists), then of `buddies data check` reading it
# back. Writes bench/results/generate-memory.md and deletes the generated world.
#   USERS=250000 PLAYLISTS=1000000 SEED=1 OUT=/tmp/buddies-world-1m CHECK=1 bash bench/generate-memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${USERS:-250000}
PLAYLISTS=${PLAYLISTS:-1000000}
SEED=${SEED:-1}
OUT=${OUT:-/tmp/buddies-world-1m}
CHECK=${CHECK:-1}
RESULT=${RESULT:-bench/results/generate-memory.md}
LOG=$(mktemp -d /tmp/buddies-genbench.XXXXXX)

npm run build >/dev/null
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
rm -rf "$OUT"
cmd=(node bin/buddies.js generate --users "$USERS" --playlists "$PLAYLISTS" --seed "$SEED" --out "$OUT")
/usr/bin/time -v "${cmd[@]}" >"$LOG/gen.out" 2>"$LOG/gen.err"
field() { grep -F "$1" "$2" | sed 's/.*: //'; }
gen_wall=$(field 'Elapsed (wall clock)' "$LOG/gen.err")
gen_rss=$(field 'Maximum resident set size' "$LOG/gen.err")
bytes=$(du -sb "$OUT" | cut -f1)
files=$(find "$OUT" -type f | wc -l)
check_line=''
if [ "$CHECK" = 1 ]; then
  /usr/bin/time -v node bin/buddies.js data check "$OUT" >"$LOG/check.out" 2>"$LOG/check.err"
  check_line="| \`buddies data check $OUT\` (loaders, unique-track sets) | $(field 'Elapsed (wall clock)' "$LOG/check.err") | $(( $(field 'Maximum resident set size' "$LOG/check.err") / 1024 )) MiB | read back |"
fi
rm -rf "$OUT"

{
  echo "# buddies generate at MPD scale: peak memory"
  echo
  echo "Run by \`bench/generate-memory.sh\` on $(date -u +%Y-%m-%d), $(nproc) CPUs, $(node --version), load average at start: $load_before (the machine is shared)."
  echo "Peak memory is \`/usr/bin/time -v\` maximum resident set size. The world is deleted afterwards."
  echo
  echo "| command | wall time (h:mm:ss) | peak RSS | bytes written |"
  echo "|---|---|---|---|"
  echo "| \`${cmd[*]}\` | $gen_wall | $(( gen_rss / 1024 )) MiB | $bytes ($(( bytes / 1000000 )) MB, $files files) |"
  [ -n "$check_line" ] && echo "$check_line"
  echo
  echo "Generator summary:"
  echo
  echo '```'
  cat "$LOG/gen.out"
  echo '```'
  if [ "$CHECK" = 1 ]; then
    echo
    echo "Loader read-back (\`buddies data check\`):"
    echo
    echo '```'
    cat "$LOG/check.out"
    echo '```'
  fi
} >"$RESULT"
cat "$RESULT"
rm -rf "$LOG"
