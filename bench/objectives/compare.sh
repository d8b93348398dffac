#!/usr/bin/env bash
# Compares the objectives on the shapes job at one wall-clock budget of training each, and writes a markdown table.
#
#   bench/objectives/compare.sh [budget_seconds=600] [out=runs/compare] [algorithms...]
#
# Each algorithm runs `omni train` on the bundled shapes model from scratch (--fresh) with its shapes-job defaults
# (ShapesJob.DefaultsFor) and `omni:time_budget_s=<budget>`: training stops after the step that reaches the budget, then the
# held-out reward is measured on the same 128 samples (32 held-out prompts × 4 seeds) as before training. The table reports
# the paired change with its 95% confidence interval. Held-out evaluations and grids are outside the budget. Extra
# settings for every run go in OMNI_COMPARE_SET (e.g. OMNI_COMPARE_SET="omni:heldout_seeds=8").
# The distillation objectives are not compared here: they optimise agreement with a teacher, not the reward.
set -euo pipefail
cd "$(dirname "$0")/../.."
budget=${1:-600}
out=${2:-runs/compare}
shift $(( $# > 2 ? 2 : $# ))
algorithms=("$@")
[ ${#algorithms[@]} -eq 0 ] && algorithms=(flow_grpo grpo_guard flow_dppo dpo diffusion_nft)

dotnet build src/Omni.Cli/Omni.Cli.csproj -c Release -v quiet -nologo >/dev/null
omni=src/Omni.Cli/bin/Release/net10.0/omni.dll
threads=$(nproc)
mkdir -p "$out"
extra=()
for pair in ${OMNI_COMPARE_SET:-}; do extra+=(--set "$pair"); done

for algorithm in "${algorithms[@]}"; do
  echo "== $algorithm: $budget s of training on $threads cores"
  started=$(date +%s)
  dotnet "$omni" train --run "$out/$algorithm" --fresh --steps 100000 \
    --set "actor_rollout_ref:model:algorithm=$algorithm" --set "omni:time_budget_s=$budget" "${extra[@]}" \
    | tee "$out/$algorithm.log"
  echo "$(( $(date +%s) - started ))" > "$out/$algorithm.wall_s"
done

python3 - "$out" "$budget" "$threads" "${algorithms[@]}" <<'PY'
import json, sys, os
out, budget, threads, algorithms = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]

def total(r):  # summary.json spells the evaluation's fields "Total" or "total" depending on the Omni version
    return r.get("Total", r.get("total"))

def half_width(s):
    if "absolute_gain_ci95" in s: return s["absolute_gain_ci95"]
    lower, upper = s["gain_ci95"]
    return (upper - lower) / 2

rows = ["| algorithm | loss | steps | s/step | held-out before | after | change (95% CI) |", "| --- | --- | --- | --- | --- | --- | --- |"]
samples = None
for a in algorithms:
    s = json.load(open(os.path.join(out, a, "summary.json")))
    metrics = [json.loads(l) for l in open(os.path.join(out, a, "metrics.jsonl"))]
    per_step = sum(m.get("time/step_s", 0) for m in metrics) / max(1, len(metrics))
    samples = s["after"].get("Samples", s["after"].get("samples"))
    rows.append(f"| {a} | {s.get('loss', a)} | {s['steps']} | {per_step:.1f} | {total(s['before']):.3f} | {total(s['after']):.3f} "
                f"| {s['absolute_gain']:+.3f} ± {half_width(s):.3f} |")
table = "\n".join(rows)
header = f"Training budget {budget} s per algorithm, {threads} cores; held-out: {samples} paired samples."
open(os.path.join(out, "table.md"), "w").write(header + "\n\n" + table + "\n")
print(header); print(); print(table)
PY
