#!/usr/bin/env bash
# Replicas of `gradcore serve` behind HAProxy, all on loopback (docs/DEPLOY.md).
#
#   tools/cluster.sh start --replicas N --model M --port P [--run-dir D] [-- SERVE_OPTIONS...]
#   tools/cluster.sh status [--run-dir D]
#   tools/cluster.sh roll NEW_MODEL [--run-dir D] [--drain-seconds S]
#   tools/cluster.sh stop [--run-dir D]
#
# Ports: P is HAProxy's TCP frontend (the binary protocol), P+1 its HTTP
# frontend, P+2 its runtime API; replica i listens on P+10+i (TCP) and
# P+30+i (HTTP: /healthz, /metrics). D (default build/cluster) holds the
# generated haproxy.cfg, the reload token, every log and pid file.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
gradcore=${GRADCORE:-$root/build/tools/gradcore}
run_dir=$root/build/cluster

die() { echo "cluster.sh: $*" >&2; exit 1; }

# ---- the runtime API and replicas --------------------------------------------

admin() { echo "$1" | socat -t 2 stdio "tcp4:127.0.0.1:$ADMIN_PORT"; }

# One field of `show stat` for server rI of a backend: scur (current sessions)
# or status (UP, DOWN, DRAIN, MAINT; transitions such as "UP 1/2" as UP_1/2).
server_stat() {  # backend replica field
  local column
  case $3 in scur) column=5 ;; status) column=18 ;; *) die "unknown stat $3" ;; esac
  admin "show stat" | awk -F, -v b="$1" -v s="r$2" -v c="$column" '$1 == b && $2 == s { gsub(/ /, "_", $c); print $c }'
}

replica_tcp_port() { echo $((PORT + 10 + $1)); }
replica_http_port() { echo $((PORT + 30 + $1)); }

client() {  # replica args...
  local i=$1; shift
  "$gradcore" client --port "$(replica_tcp_port "$i")" --timeout-ms 10000 "$@"
}

replica_version() {  # replica; prints the version it serves, or "down"
  local health
  health=$(client "$1" health 2>/dev/null) || { echo down; return; }
  sed -n 's/.*model_version=\([0-9-]*\).*/\1/p' <<<"$health"
}

wait_until() {  # seconds description command...
  local seconds=$1 what=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" 2>/dev/null; do
    ((SECONDS < deadline)) || die "timed out after $seconds s waiting for $what"
    sleep 0.1
  done
}

replica_up() { [ "$(server_stat gradcore_tcp "$1" status)" = UP ]; }
replica_idle() { [ "$(server_stat gradcore_tcp "$1" scur)" = 0 ]; }
replica_serving() { [ "$(replica_version "$1")" != down ]; }

load_state() {
  [ -f "$run_dir/cluster.env" ] || die "no cluster in $run_dir (run: tools/cluster.sh start ...)"
  # shellcheck source=/dev/null
  source "$run_dir/cluster.env"
}

# ---- commands ---------------------------------------------------------------

start() {
  local replicas=0 model="" serve_options=()
  PORT=0
  while (($#)); do
    case $1 in
      --replicas) replicas=$2; shift 2 ;;
      --model) model=$2; shift 2 ;;
      --port) PORT=$2; shift 2 ;;
      --run-dir) run_dir=$2; shift 2 ;;
      --) shift; serve_options=("$@"); break ;;
      *) die "start: unknown option $1" ;;
    esac
  done
  ((replicas >= 1 && replicas <= 20)) || die "start: --replicas must be 1..20, got $replicas"
  ((PORT >= 1024 && PORT <= 65000)) || die "start: --port must be 1024..65000, got $PORT"
  [ -f "$model" ] || die "start: --model $model: no such file"
  [ -x "$gradcore" ] || die "$gradcore not built (cmake --build build)"
  command -v haproxy >/dev/null || die "haproxy not installed (tools/install-deps.sh)"
  [ -f "$run_dir/cluster.env" ] && die "a cluster is already running in $run_dir (tools/cluster.sh stop)"
  mkdir -p "$run_dir"
  ADMIN_PORT=$((PORT + 2))
  head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$run_dir/token"
  chmod 600 "$run_dir/token"
  printf 'PORT=%d\nADMIN_PORT=%d\nREPLICAS=%d\n' "$PORT" "$ADMIN_PORT" "$replicas" >"$run_dir/cluster.env"

  for ((i = 0; i < replicas; i++)); do
    "$gradcore" serve --model "$(realpath "$model")" --port "$(replica_tcp_port $i)" \
      --http-port "$(replica_http_port $i)" --token-file "$run_dir/token" "${serve_options[@]}" \
      2>"$run_dir/replica-$i.log" &
    echo $! >"$run_dir/replica-$i.pid"
  done
  for ((i = 0; i < replicas; i++)); do wait_until 30 "replica $i to serve" replica_serving $i; done

  local config=$run_dir/haproxy.cfg
  sed -e "s/@TCP_PORT@/$PORT/; s/@HTTP_PORT@/$((PORT + 1))/; s/@ADMIN_PORT@/$ADMIN_PORT/; s|@RUN_DIR@|$run_dir|" \
    "$root/deploy/haproxy/haproxy.cfg.template" >"$config"
  # Each line goes right after default-server, so the last replica first.
  for ((i = replicas - 1; i >= 0; i--)); do
    sed -i "/^backend gradcore_tcp/,/^$/ s/^    default-server.*/&\n    server r$i 127.0.0.1:$(replica_tcp_port $i) check port $(replica_http_port $i)/" "$config"
    sed -i "/^backend gradcore_http/,\$ s/^    default-server.*/&\n    server r$i 127.0.0.1:$(replica_http_port $i) check/" "$config"
  done
  haproxy -c -q -f "$config" || die "generated $config is not valid"
  haproxy -db -f "$config" 2>"$run_dir/haproxy.log" &
  echo $! >"$run_dir/haproxy.pid"
  wait_until 10 "the HAProxy runtime API" admin "show info" >/dev/null
  for ((i = 0; i < replicas; i++)); do wait_until 10 "HAProxy to mark r$i UP" replica_up $i; done

  echo "cluster up: $replicas replicas of $model"
  echo "  binary protocol  127.0.0.1:$PORT (HAProxy, leastconn)"
  echo "  HTTP             127.0.0.1:$((PORT + 1)) (/metrics, /healthz)"
  echo "  runtime API      127.0.0.1:$ADMIN_PORT"
  for ((i = 0; i < replicas; i++)); do
    echo "  replica r$i       127.0.0.1:$(replica_tcp_port $i), HTTP $(replica_http_port $i), log $run_dir/replica-$i.log"
  done
}

status() {
  load_state
  printf '%-8s %-8s %-10s %-8s %s\n' replica haproxy sessions version pid
  for ((i = 0; i < REPLICAS; i++)); do
    printf '%-8s %-8s %-10s %-8s %s\n' "r$i" "$(server_stat gradcore_tcp $i status)" \
      "$(server_stat gradcore_tcp $i scur)" "$(replica_version $i)" "$(cat "$run_dir/replica-$i.pid")"
  done
}

set_state() {  # replica drain|ready
  admin "set server gradcore_tcp/r$1 state $2" >/dev/null
  admin "set server gradcore_http/r$1 state $2" >/dev/null
}

# Puts every replica back in rotation after a refused roll, the ones already
# on the new model rolled back first.
undo_roll() {  # replicas_done failed_replica
  for ((j = 0; j < $1; j++)); do
    client $j reload --rollback --token-file "$run_dir/token" >/dev/null || echo "cluster.sh: r$j: roll back failed" >&2
  done
  set_state "$2" ready
}

roll() {
  local model="" drain_seconds=2
  while (($#)); do
    case $1 in
      --run-dir) run_dir=$2; shift 2 ;;
      --drain-seconds) drain_seconds=$2; shift 2 ;;
      -*) die "roll: unknown option $1" ;;
      *) model=$1; shift ;;
    esac
  done
  [ -f "$model" ] || die "roll: $model: no such file"
  load_state
  model=$(realpath "$model")
  for ((i = 0; i < REPLICAS; i++)); do
    # Out of rotation: no new connections; wait for clients to leave, then
    # close what is left (clients reconnect through HAProxy and resend).
    set_state $i drain
    local deadline=$((SECONDS + drain_seconds))
    while ! replica_idle $i && ((SECONDS < deadline)); do sleep 0.1; done
    admin "shutdown sessions server gradcore_tcp/r$i" >/dev/null
    local answer
    if ! answer=$(client $i reload --path "$model" --token-file "$run_dir/token" 2>&1); then
      undo_roll $i $i
      die "roll: r$i refused $model, rolled every replica back to its previous model: $answer"
    fi
    set_state $i ready
    wait_until 10 "HAProxy to mark r$i UP" replica_up $i
    echo "r$i: $answer"
  done
  echo "rolled $REPLICAS replicas to $model"
}

stop() {
  load_state
  for pid_file in "$run_dir"/replica-*.pid "$run_dir/haproxy.pid"; do
    [ -f "$pid_file" ] && kill -TERM "$(cat "$pid_file")" 2>/dev/null || true
  done
  for pid_file in "$run_dir"/replica-*.pid "$run_dir/haproxy.pid"; do
    [ -f "$pid_file" ] || continue
    local pid
    pid=$(cat "$pid_file")
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$pid_file"
  done
  rm -f "$run_dir/cluster.env"
  echo "cluster stopped"
}

command=${1:-}
shift || true
# --run-dir may come anywhere; the commands parse their own options.
for ((a = 1; a <= $#; a++)); do
  if [ "${!a}" = --run-dir ]; then b=$((a + 1)); run_dir=${!b}; fi
done
case $command in
  start) start "$@" ;;
  status) status ;;
  roll) roll "$@" ;;
  stop) stop ;;
  *) die "usage: tools/cluster.sh start|status|roll|stop (see the comment at the top)" ;;
esac
