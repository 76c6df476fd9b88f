"""Checks that diffusers loads gradti's embedded model as a Stable Diffusion pipeline and generates from it.

Run by hand in a virtual environment with torch, diffusers and transformers (not part of the test command,
which has no torch):

    python Tests/diffusion/check_embedded_model_with_diffusers.py MODEL_FOLDER [OUT.png]

It loads the folder with `StableDiffusionPipeline.from_pretrained` (including the CLIP image encoder),
generates four scenes with DDIM (30 steps, guidance 5), embeds them with the image encoder, and writes the
images enlarged side by side."""
import sys

import numpy as np
import torch
from diffusers import DDIMScheduler, StableDiffusionPipeline
from PIL import Image

folder = sys.argv[1]
out = sys.argv[2] if len(sys.argv) > 2 else "diffusers-generations.png"
pipe = StableDiffusionPipeline.from_pretrained(folder, torch_dtype=torch.float32, safety_checker=None,
                                               requires_safety_checker=False)
assert isinstance(pipe.scheduler, DDIMScheduler), type(pipe.scheduler)
assert pipe.image_encoder is not None, "model_index.json names an image_encoder, but diffusers did not load it"
prompts = ["a crab on a yellow background, large, center", "a rocket on a blue background, medium, left",
           "a red apple on a white background, large, center", "a cat face on a green background, small, right"]
generator = torch.Generator().manual_seed(0)
result = pipe(prompts, num_inference_steps=30, guidance_scale=5.0, generator=generator, output_type="pil")
size = pipe.unet.config.sample_size * pipe.vae_scale_factor
assert all(image.size == (size, size) for image in result.images), [image.size for image in result.images]
pixels = torch.stack([torch.from_numpy(np.array(image)).permute(2, 0, 1).float() / 255 for image in result.images])
mean = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)
std = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)
with torch.no_grad():
    embeds = pipe.image_encoder(pixel_values=(pixels - mean) / std).image_embeds
print(f"ok: diffusers loaded {folder} and generated {len(result.images)} images of {size}x{size}; "
      f"image embeddings {tuple(embeds.shape)}")
scale = 4
grid = Image.new("RGB", (size * scale * len(result.images), size * scale), "white")
for i, image in enumerate(result.images):
    grid.paste(image.resize((size * scale, size * scale), Image.NEAREST), (i * size * scale, 0))
grid.save(out)
print(f"wrote {out}")
