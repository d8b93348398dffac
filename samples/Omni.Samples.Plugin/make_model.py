"""Writes the sample plugin's model weights and prompt embeddings (stdlib only, deterministic).

The files are committed; this script says how they were made. A real model exports its state dict with
safetensors.torch.save_file under the names its C# module uses (here input_proj.* and output_proj.*).
"""
import json, struct

def write_safetensors(path, tensors, metadata=None):
    header, offset, blobs = {}, 0, []
    for name, (shape, values) in tensors.items():
        data = struct.pack(f"<{len(values)}f", *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))

state = 12345
def uniform(n, scale):
    global state
    out = []
    for _ in range(n):
        state = (1103515245 * state + 12345) % 2**31
        out.append((state / 2**31 * 2 - 1) * scale)
    return out

channels, prompt_dim, hidden = 4, 8, 32
inputs = channels + 1 + prompt_dim
write_safetensors("model/transformer/diffusion_pytorch_model.safetensors", {
    "input_proj.weight": ([hidden, inputs], uniform(hidden * inputs, inputs ** -0.5)),
    "input_proj.bias": ([hidden], uniform(hidden, 0.1)),
    "output_proj.weight": ([channels, hidden], uniform(channels * hidden, hidden ** -0.5)),
    "output_proj.bias": ([channels], uniform(channels, 0.1)),
}, {"format": "pt"})

prompts = ["a red dawn", "a blue lake", "green hills", "a yellow field", "a grey storm", "a purple dusk", "white snow", "an orange sun"]
tokens = 4
write_safetensors("prompts.safetensors", {
    "prompt_embeds": ([len(prompts), tokens, prompt_dim], uniform(len(prompts) * tokens * prompt_dim, 1.0)),
}, {"prompts": json.dumps(prompts)})
