#!/usr/bin/env bash
# Issue 13's stage of the GPU device check: at world size 1 on the device, NCCL's all-reduce, all-gather, reduce-scatter
# and broadcast through raw device pointers on stream 0 (float32 and bfloat16, plus a timed 64 MiB all-reduce), and an
# FSDP-sharded SD3 transformer against the plain one (gathered values exact, loss and gradients to float32 rounding,
# bf16 compute with float32 shard gradients). A few seconds on a GPU.
#
#   bash tools/device-check/distributed-check.sh BENCH DEVICE OUT
#     BENCH   the published benchmark (…/bench/Omni.Bench)
#     DEVICE  cuda (NCCL) or cpu (the one-process backend: checks the script itself)
#     OUT     folder for distributed.json
#
# gpu-check.sh runs it as a stage after the bench stage:
#   stage distributed 120 bash "$here/distributed-check.sh" "$bench" "$device" "$out"
# (build.sh copies this file into the travelling tree beside gpu-check.sh.)
set -uo pipefail
bench=${1:?usage: distributed-check.sh BENCH DEVICE OUT}
device=${2:?usage: distributed-check.sh BENCH DEVICE OUT}
out=${3:?usage: distributed-check.sh BENCH DEVICE OUT}
mkdir -p "$out"
exec "$bench" distributed-check --device "$device" --json "$out/distributed.json"
