"""A tiny random CLIPModel (transformers), saved as openai/clip-vit-large-patch14 is downloaded (config.json with
text_config, vision_config and projection_dim; model.safetensors, float16 to keep the file small: the CLIP
vocabulary's embedding table dominates it; vocab.json and merges.txt), and float64 reference features computed
from those float16 weights, for the parity test of gradti's evaluator (CLIP-I and CLIP-T).

usage: make_clip_model.py OUTDIR TOKENIZER_DIR      (needs torch, transformers, safetensors, ftfy)"""
import json, shutil, sys, torch
from transformers import CLIPConfig, CLIPModel, CLIPTokenizer
from safetensors.torch import save_file

out, tokenizer_dir = sys.argv[1], sys.argv[2]
torch.manual_seed(11)
config = CLIPConfig(
    text_config=dict(vocab_size=49408, hidden_size=8, intermediate_size=16, num_hidden_layers=2,
                     num_attention_heads=2, max_position_embeddings=77, hidden_act="quick_gelu"),
    vision_config=dict(hidden_size=24, intermediate_size=48, num_hidden_layers=2, num_attention_heads=2,
                       image_size=32, patch_size=8, hidden_act="quick_gelu"),
    projection_dim=16)
model = CLIPModel(config)
with torch.no_grad():
    for p in model.parameters():
        p.add_(torch.randn_like(p) * 0.05)   # random init is too tame: make every path matter
model = model.to(torch.float16)
model.save_pretrained(out, safe_serialization=True)
tokenizer = CLIPTokenizer.from_pretrained(tokenizer_dir)
for name in ["vocab.json", "merges.txt"]:   # the files openai's folder has too (transformers 5 writes tokenizer.json)
    shutil.copy(f"{tokenizer_dir}/{name}", f"{out}/{name}")
model = model.to(torch.float64).eval()
g = torch.Generator().manual_seed(5)
pixels = torch.randn(2, 3, 32, 32, generator=g, dtype=torch.float64)
prompts = ["a photo of a dog in the jungle", "a red teapot"]
ids = tokenizer(prompts, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
with torch.no_grad():
    image = model.get_image_features(pixel_values=pixels)
    text = model.get_text_features(input_ids=ids)
    image, text = [getattr(t, "pooler_output", t) for t in (image, text)]
save_file({"clip.pixel_values": pixels, "clip.input_ids": ids.contiguous(),
           "clip.image_embeds": image.contiguous(), "clip.text_embeds": text.contiguous()},
          f"{out}/reference.safetensors")
json.dump({"prompts": prompts, "made_with": {"torch": torch.__version__,
           "transformers": __import__("transformers").__version__}}, open(f"{out}/reference.json", "w"), indent=1)
print({k: tuple(v.shape) for k, v in {"pixels": pixels, "ids": ids, "image": image, "text": text}.items()})
