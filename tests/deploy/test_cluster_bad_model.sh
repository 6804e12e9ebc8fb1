#!/usr/bin/env bash
# Rolling a corrupt model: the first replica refuses it, the roll stops and
# says so, every replica keeps serving v1 and stays in rotation. A roll that
# fails at the second replica (it died) rolls the first back to v1.
source "$(dirname "$0")/lib.sh" "$@"
make_model "$work/v1.gcm" 1
make_model "$work/v2.gcm" 2
cp "$work/v2.gcm" "$work/corrupt.gcm"
printf '\x55' | dd of="$work/corrupt.gcm" bs=1 seek=200 conv=notrunc status=none
cluster start --replicas 3 --model "$work/v1.gcm" --port "$port" >/dev/null
start_load 4 16
if out=$(cluster roll "$work/corrupt.gcm" 2>&1); then fail "a corrupt model was rolled out: $out"; fi
echo "$out"
grep -q "r0 refused" <<<"$out" || fail "the refusal does not name the replica: $out"
grep -q "CRC-32C" <<<"$out" || fail "the refusal does not give the loader's reason: $out"
finish_load
[ "$(replicas_up_on 1)" = 3 ] || fail "not every replica UP on version 1: $(cluster status)"

# Partial roll: r1 is gone (killed), so the roll succeeds at r0 and fails at
# r1; r0 must be rolled back to v1.
kill -KILL "$(cat "$work/cluster/replica-1.pid")"
if out=$(cluster roll "$work/v2.gcm" 2>&1); then fail "a roll with a dead replica succeeded: $out"; fi
echo "$out"
grep -q "r1 refused" <<<"$out" || fail "the failure does not name r1: $out"
cluster status
replica_is r0 UP 1 || fail "r0 was not rolled back to v1"
replica_is r2 UP 1 || fail "r2 is not on v1"
echo PASS
