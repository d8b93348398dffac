#!/usr/bin/env bash
# The device check, part 1 (on a development machine with the .NET SDK): publishes a self-contained, trimmed `omni` and
# the benchmark for linux-x64, runs the whole check in CPU mode from that publish, and packs what a GPU machine needs
# into artifacts/device-check/travel (under 64 MiB: libtorch's CPU libraries stay behind, the GPU machine's PyTorch
# provides libtorch).
#
#   bash tools/device-check/build.sh            # publish, CPU-mode check, pack
#   bash tools/device-check/build.sh --no-cpu   # publish and pack only
#
# Part 2, on a GPU machine with PyTorch >= 2.10 (CUDA) and no dotnet, from the repository root:
#   bash tools/device-check/gpu-check.sh --archive artifacts/device-check/travel/device-check.tar.xz
# It writes device-check.json and device-check.log (to $OUT when set, else ./device-check-results).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
stage=artifacts/device-check/stage
travel=artifacts/device-check/travel
rm -rf "$stage" "$travel"
mkdir -p "$stage" "$travel"

publish() { # project output
  # TrimMode=partial trims only the framework (Omni's assemblies and its packages use reflection for configuration
  # binding and JSON); trim-analysis warnings are about those reflective uses and are not errors here.
  dotnet publish "$1" -c Release -r linux-x64 --self-contained -p:PublishTrimmed=true -p:TrimMode=partial \
    -p:SuppressTrimAnalysisWarnings=true -p:TreatWarningsAsErrors=false -p:DebugType=none -p:GenerateDocumentationFile=false \
    -o "$2" >"$2.publish.log" 2>&1 || { tail -30 "$2.publish.log"; exit 1; }
}
echo "publishing omni and the benchmark (self-contained, trimmed, linux-x64)…"
publish src/Omni.Cli "$stage/omni"
publish bench/Omni.Bench "$stage/bench"
mkdir -p "$stage/models"
cp -r models/omni-shapes-tiny "$stage/models/"

if [ "${1:-}" != "--no-cpu" ]; then
  echo "CPU mode of the check, from the published executables…"
  (cd "$stage" && tar -cf "$root/$stage.cpu.tar" omni bench models)
  OUT="$root/artifacts/device-check/cpu-results" bash tools/device-check/gpu-check.sh --cpu --archive "$root/$stage.cpu.tar" \
    || echo "CPU mode failed: see artifacts/device-check/cpu-results/device-check.log"
  rm -f "$root/$stage.cpu.tar"
fi

# What travels: everything but libtorch's own libraries (the GPU machine's PyTorch brings them, and the CPU build is
# 475 MB). TorchSharp's bridge (libLibTorchSharp.so, with the Debian 12 load fix applied at publish) stays.
echo "packing…"
(cd "$stage" && XZ_OPT="-T0 -6" tar --exclude='libtorch*.so' --exclude='libc10*.so' --exclude='libgomp*' --exclude='libshm.so' \
   --exclude='libbackend_with_compiler.so' --exclude='libjitbackend_test.so' --exclude='libnnapi_backend.so' \
   --exclude='libaoti_custom_ops.so' --exclude='*.publish.log' -cJf "$root/$travel/device-check.tar.xz" omni bench models)
cp tools/device-check/gpu-check.sh tools/device-check/diffusers_sd3_bench.py tools/device-check/distributed-check.sh "$travel/"
size=$(du -sb "$travel" | cut -f1)
echo "travelling tree: $travel, $(( size / 1024 / 1024 )) MiB ($size bytes)"
[ "$size" -lt $(( 64 * 1024 * 1024 )) ] || { echo "error: the travelling tree is over 64 MiB" >&2; exit 1; }
