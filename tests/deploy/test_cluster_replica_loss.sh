#!/usr/bin/env bash
# Losing replicas under load behind HAProxy: one drained by SIGTERM, one
# killed with SIGKILL. HAProxy takes each out of rotation, the clients
# reconnect and resend, and no request fails.
source "$(dirname "$0")/lib.sh" "$@"
make_model "$work/v1.gcm" 1
cluster start --replicas 3 --model "$work/v1.gcm" --port "$port" >/dev/null
start_load 6 32
sleep 1.5
kill -TERM "$(cat "$work/cluster/replica-0.pid")"
sleep 1.5
kill -KILL "$(cat "$work/cluster/replica-1.pid")"
start=$SECONDS
until replica_is r1 DOWN -; do
  ((SECONDS - start < 5)) || fail "HAProxy did not mark the killed replica DOWN within 5 s"
  sleep 0.1
done
finish_load
grep -q '^reconnects' "$work/load.txt" || fail "no reconnects reported"
replica_is r2 UP 1 || fail "the surviving replica is not UP"
echo PASS
