"""A tiny random CLIPVisionModelWithProjection (transformers) and float64 reference outputs, for
gradti's parity test of its CLIP image encoder.

usage: make_clip_vision.py OUTDIR      (needs torch, transformers, safetensors)"""
import json, os, sys, torch
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection
from safetensors.torch import save_file

out = sys.argv[1]
torch.manual_seed(7)
config = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                          image_size=32, patch_size=8, projection_dim=16, hidden_act="quick_gelu")
model = CLIPVisionModelWithProjection(config)
with torch.no_grad():
    for p in model.parameters():
        p.add_(torch.randn_like(p) * 0.05)   # random init is too tame: make every path matter
model.save_pretrained(f"{out}/image_encoder", safe_serialization=True)
model = model.to(torch.float64).eval()
g = torch.Generator().manual_seed(99)
pixels = torch.randn(2, 3, 32, 32, generator=g, dtype=torch.float64)
with torch.no_grad():
    result = model(pixel_values=pixels)
save_file({"vision.pixel_values": pixels, "vision.last_hidden_state": result.last_hidden_state.contiguous(),
           "vision.image_embeds": result.image_embeds.contiguous()}, f"{out}/reference.safetensors")
json.dump({"made_with": {"torch": torch.__version__, "transformers": __import__("transformers").__version__}},
          open(f"{out}/reference.json", "w"), indent=1)
print({k: tuple(v.shape) for k, v in {"pixels": pixels, "last": result.last_hidden_state, "embeds": result.image_embeds}.items()})
