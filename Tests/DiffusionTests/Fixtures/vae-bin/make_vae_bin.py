"""sd-tiny's VAE with its weights as a PyTorch checkpoint (`diffusion_pytorch_model.bin`, written by torch.save,
as diffusers folders published before safetensors hold them), for the test that such folders load.

usage: make_vae_bin.py      (needs torch, safetensors; run in this folder)"""
import collections, shutil
import torch
from safetensors.torch import load_file

source = "../sd-tiny/pipeline/vae"
state = load_file(f"{source}/diffusion_pytorch_model.safetensors")
torch.save(collections.OrderedDict(sorted(state.items())), "diffusion_pytorch_model.bin")
shutil.copy(f"{source}/config.json", "config.json")
