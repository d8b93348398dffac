#!/usr/bin/env python3
"""Copies the small subset of the golden fixtures that `omni doctor` checks a device against.

Run from the repository root after the golden fixtures change:
    python3 tools/doctor-fixtures/make_subset.py
It needs only the Python standard library. The subset is the reference's own data, case for case and byte for byte;
tests/Golden/DoctorFixtureTests checks that it still is.
"""
import json
import os
import shutil
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOLDEN = os.path.join(ROOT, "tests", "Golden", "Fixtures")
OUT = os.path.join(ROOT, "src", "Omni.Cli", "Doctor", "Fixtures")

# Schedules computed on the host, then moved to the device; scale_noise runs on the device.
SCHEDULE_CASES = ["sd3_shift3_10", "dyn_exp", "karras", "qwen_10_512x512", "scale_noise_0_2", "scale_noise_1_7"]
MODELS = ["sd35_tiny"]


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    return header, data


def write_subset(name, cases):
    header, data = read_safetensors(os.path.join(GOLDEN, name + ".safetensors"))
    keys = sorted({v for c in cases for section in ("inputs", "outputs", "train_table") for v in (c.get(section) or {}).values()})
    out_header, chunks, offset = {}, [], 0
    for key in keys:
        entry = header[key]
        start, end = entry["data_offsets"]
        chunks.append(data[start:end])
        out_header[key] = {"dtype": entry["dtype"], "shape": entry["shape"], "data_offsets": [offset, offset + end - start]}
        offset += end - start
    blob = json.dumps(out_header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    with open(os.path.join(OUT, name + ".safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for chunk in chunks:
            f.write(chunk)
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump({"source": f"tests/Golden/Fixtures/{name}.json", "cases": cases}, f, indent=1)


def sde_subset(cases):
    # For every sampler and every mode that exercises the device (given x', per-sample timesteps, per-sample noise):
    # the first and the last case, so both ends of the schedule and two noise levels are covered.
    chosen = []
    for sde_type in ("sde", "cps", "dance_sde"):
        for mode in ("given", "per_sample_t", "seeded_list"):
            group = [c for c in cases if c.get("sde_type") == sde_type and c.get("mode") == mode]
            chosen.extend([group[0], group[-1]] if len(group) > 1 else group)
    return chosen


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(os.path.join(OUT, "models"))
    schedules = json.load(open(os.path.join(GOLDEN, "schedules.json")))["cases"]
    write_subset("schedules", [c for c in schedules if c["id"] in SCHEDULE_CASES])
    write_subset("sde_steps", sde_subset(json.load(open(os.path.join(GOLDEN, "sde_steps.json")))["cases"]))
    manifest = json.load(open(os.path.join(GOLDEN, "models", "models.json")))
    manifest["models"] = [m for m in manifest["models"] if m["name"] in MODELS]
    for m in manifest["models"]:
        shutil.copytree(os.path.join(GOLDEN, m["folder"]), os.path.join(OUT, m["folder"]))
    json.dump(manifest, open(os.path.join(OUT, "models", "models.json"), "w"), indent=1)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
