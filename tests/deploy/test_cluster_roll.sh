#!/usr/bin/env bash
# A rolling update v1 -> v2 across 3 replicas behind HAProxy, under 64
# closed-loop connections: zero failed requests, both versions answered, every
# replica ends on v2 and UP; then roll back by rolling v1 through.
source "$(dirname "$0")/lib.sh" "$@"
make_model "$work/v1.gcm" 1
make_model "$work/v2.gcm" 2
cluster start --replicas 3 --model "$work/v1.gcm" --port "$port" >/dev/null
start_load 8 64
sleep 1.5
cluster roll "$work/v2.gcm" || fail "roll refused"
finish_load
grep -q '^version     1 answered' "$work/load.txt" || fail "no answer from v1"
grep -q '^version     2 answered' "$work/load.txt" || fail "no answer from v2"
cluster status
[ "$(replicas_up_on 2)" = 3 ] || fail "not every replica UP on version 2"
cluster roll "$work/v1.gcm" >/dev/null || fail "roll back to v1 refused"
[ "$(replicas_up_on 1)" = 3 ] || fail "not every replica back on version 1"
echo PASS
