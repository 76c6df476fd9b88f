"""sd-tiny's VAE with its attention stored under the names diffusers used before 0.14 (query, key, value,
proj_attn), as every Stable Diffusion VAE of 2022 holds them, for the test that they load.

usage: make_vae_old_attention.py      (needs safetensors and numpy; run in this folder)"""
import shutil
from safetensors.numpy import load_file, save_file

source = "../sd-tiny/pipeline/vae"
names = {".to_q.": ".query.", ".to_k.": ".key.", ".to_v.": ".value.", ".to_out.0.": ".proj_attn."}
state = load_file(f"{source}/diffusion_pytorch_model.safetensors")
renamed = {}
for key, value in state.items():
    for new, old in names.items():
        if ".attentions." in key and new in key:
            key = key.replace(new, old)
    renamed[key] = value
save_file(renamed, "diffusion_pytorch_model.safetensors")
shutil.copy(f"{source}/config.json", "config.json")
