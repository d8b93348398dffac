#!/usr/bin/env python3
"""diffusers' SD3Transformer2DModel at stable-diffusion-3.5-medium size in PyTorch eager, for the device check.

Same shapes as Omni's `bench sd35 --size medium`: 512x512 (64x64 latents, 1024 image tokens), 333 text tokens, batch 8,
random weights. Forward in bf16; training step = forward + backward + AdamW with float32 master weights under bf16
autocast (PyTorch's usual mixed precision). Skips (status "skipped", exit 0) when diffusers is not importable; set
DIFFUSERS_SRC to a diffusers checkout's src folder to use one without installing it.
"""
import argparse, json, os, sys, time

parser = argparse.ArgumentParser()
parser.add_argument("--json", required=True)
parser.add_argument("--repeat", type=int, default=5)
args = parser.parse_args()

def write(report):
    with open(args.json, "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps(report, indent=1))

if os.environ.get("DIFFUSERS_SRC"):
    sys.path.insert(0, os.environ["DIFFUSERS_SRC"])
try:
    import torch
    from diffusers import SD3Transformer2DModel
except Exception as e:  # no diffusers on this machine: nothing to compare against
    write({"status": "skipped", "reason": f"diffusers not importable: {e}"})
    sys.exit(0)

torch.backends.cuda.matmul.allow_tf32 = False
device = "cuda"
config = dict(sample_size=64, patch_size=2, in_channels=16, num_layers=24, attention_head_dim=64, num_attention_heads=24,
              joint_attention_dim=4096, caption_projection_dim=1536, pooled_projection_dim=2048, out_channels=16,
              pos_embed_max_size=384, dual_attention_layers=tuple(range(13)), qk_norm="rms_norm")
batch, text = 8, 333
g = torch.Generator("cpu").manual_seed(0)
x = torch.randn(batch, 16, 64, 64, generator=g).to(device)
enc = torch.randn(batch, text, 4096, generator=g).to(device)
pooled = torch.randn(batch, 2048, generator=g).to(device)
t = torch.full((batch,), 500.0, device=device)

def timed(fn):
    fn(); torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(args.repeat):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / args.repeat

model = SD3Transformer2DModel(**config).to(device)
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
def train():
    optimizer.zero_grad(set_to_none=True)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out = model(hidden_states=x, encoder_hidden_states=enc, pooled_projections=pooled, timestep=t).sample
    out.float().pow(2).mean().backward()
    optimizer.step()
train_s = timed(train)
del optimizer
model = model.to(torch.bfloat16).eval()
with torch.no_grad():
    forward_s = timed(lambda: model(hidden_states=x.bfloat16(), encoder_hidden_states=enc.bfloat16(),
                                    pooled_projections=pooled.bfloat16(), timestep=t).sample)
write({"status": "measured", "torch": torch.__version__, "diffusers": __import__("diffusers").__version__,
       "device": torch.cuda.get_device_name(0), "forward_s": forward_s, "train_s": train_s, "repeat": args.repeat})
