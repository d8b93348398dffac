#!/usr/bin/env bash
# The device check, part 2: runs on the GPU machine (PyTorch >= 2.10 with CUDA, no dotnet) from the archive built by
# tools/device-check/build.sh, in at most 5 minutes:
#   1. PyTorch: version, CUDA, where its torch/lib is;
#   2. the preload check and `omni doctor --device cuda` in one process under LD_BIND_NOW=1 (every symbol of
#      TorchSharp's bridge bound at load: an ABI gap fails here, cleanly);
#   3. `omni train --device cuda` on the shapes job (the bundled model, default settings), timed;
#   4. the SD3.5-Medium benchmark (bench sd35 --device cuda);
#   5. the distributed check (distributed-check.sh: NCCL collectives and the FSDP unit, float32 and bf16 compute, at
#      world size 1);
#   6. diffusers' SD3Transformer2DModel in PyTorch eager on the same GPU, where diffusers is importable.
# Results: device-check.json (every stage's exit code, time and figures) and device-check.log, in $OUT when set
# (the device tool's output folder), else ./device-check-results.
#   --cpu       the same stages on the CPU at a small size (how the development machine checks the script)
#   --archive   the archive (default: device-check.tar.xz beside this script)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mode=cuda
archive=$here/device-check.tar.xz
while [ $# -gt 0 ]; do
  case $1 in
    --cpu) mode=cpu ;;
    --archive) archive=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
out=${OUT:-$PWD/device-check-results}
mkdir -p "$out"
log=$out/device-check.log
: >"$log"
exec > >(tee -a "$log") 2>&1
started=$(date +%s)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "device check ($mode) at $(date -u +%FT%TZ) on $(hostname); archive $archive"
tar -xf "$archive" -C "$work" || { echo "cannot extract $archive"; exit 1; }
omni=$work/omni/omni
bench=$work/bench/Omni.Bench
stages=$out/stages.tsv
: >"$stages"

stage() { # name timeout-seconds command...
  local name=$1 limit=$2; shift 2
  echo; echo "=== $name: $*"
  local t0=$(date +%s%N)
  timeout --kill-after=10 "$limit" "$@"
  local rc=$?
  local t1=$(date +%s%N)
  printf '%s\t%s\t%s\n' "$name" "$rc" "$(( (t1 - t0) / 1000000 ))" >>"$stages"
  echo "=== $name: exit $rc"
  return $rc
}

if [ "$mode" = cuda ]; then
  stage pytorch 60 python3 -c 'import torch, os, json; print(json.dumps({"torch": torch.__version__, "cuda": torch.version.cuda, "cuda_available": torch.cuda.is_available(), "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None, "lib": os.path.join(os.path.dirname(torch.__file__), "lib")}))' | tee "$out/pytorch.json"
  device=cuda
  limit=240
  train_args=()
  bench_args=(--size medium)
else
  device=cpu
  limit=900   # two held-out evaluations of 128 samples on a 2-core CPU
  train_args=(--steps 1 --set training:PromptsPerStep=2 --set training:GroupSize=2 --set training:MicroBatchSize=4)
  bench_args=(--size small --repeat 1)
fi

LD_BIND_NOW=1 stage doctor 90 "$omni" doctor --device "$device" --json "$out/doctor.json"
stage train "$limit" "$omni" train --device "$device" --model "$work/models/omni-shapes-tiny" --run "$work/run" --fresh "${train_args[@]}"
cp "$work/run/summary.json" "$out/train-summary.json" 2>/dev/null
cp "$work/run/metrics.jsonl" "$out/train-metrics.jsonl" 2>/dev/null
stage bench "$limit" "$bench" sd35 --device "$device" "${bench_args[@]}" --json "$out/bench.json"
stage distributed 120 bash "$here/distributed-check.sh" "$bench" "$device" "$out"
if [ "$mode" = cuda ]; then
  stage diffusers 120 python3 "$here/diffusers_sd3_bench.py" --json "$out/diffusers.json"
fi

python3 - "$out" "$mode" "$started" <<'PY'
import json, os, sys, time
out, mode, started = sys.argv[1], sys.argv[2], int(sys.argv[3])
def load(name):
    path = os.path.join(out, name)
    try:
        with open(path) as f:
            return json.load(f)
    except Exception:
        return None
stages = []
for line in open(os.path.join(out, "stages.tsv")):
    name, rc, milliseconds = line.rstrip("\n").split("\t")
    stages.append({"stage": name, "exit_code": int(rc), "seconds": round(int(milliseconds) / 1000, 1)})
bench, diffusers = load("bench.json"), load("diffusers.json")
comparison = None
if bench and diffusers and diffusers.get("status") == "measured":
    omni = {l["What"]: l["Seconds"] for l in bench["lines"]}
    comparison = {k: diffusers[k + "_s"] / omni[v] for k, v in (("forward", "forward"), ("train", "train full fine-tuning")) if k + "_s" in diffusers and v in omni}
report = {
    "mode": mode, "total_seconds": int(time.time()) - started, "stages": stages,
    "pytorch": load("pytorch.json"), "doctor": load("doctor.json"), "train_summary": load("train-summary.json"),
    "bench": bench, "distributed": load("distributed.json"), "diffusers": diffusers, "omni_throughput_vs_diffusers": comparison,
}
with open(os.path.join(out, "device-check.json"), "w") as f:
    json.dump(report, f, indent=1)
print(json.dumps({"stages": stages, "total_seconds": report["total_seconds"]}, indent=1))
PY
echo "results: $out/device-check.json, $out/device-check.log"
awk -F'\t' '$2 != 0 { bad = 1 } END { exit bad }' "$stages"
