"""A small random UNet2DConditionModel of the embedded model's architecture (models/gradti-emoji/unet:
three blocks, cross-attention in the outer two and the middle, one layer per block), narrower but with two
channels per norm group as in its first block (with one, a channel's bias would not matter and its gradient
would be zero), and the gradients of the denoising loss with respect to every weight (computed in float64,
stored in float32), for gradti's parity test of UNet training.

usage: make_unet_training.py OUTDIR      (needs torch, diffusers, safetensors)"""
import json, sys, torch
from diffusers import UNet2DConditionModel
from safetensors.torch import save_file

out = sys.argv[1]
torch.manual_seed(11)
unet = UNet2DConditionModel(sample_size=8, in_channels=4, out_channels=4, layers_per_block=1,
                            block_out_channels=(32, 32, 32), norm_num_groups=16, cross_attention_dim=24,
                            attention_head_dim=4, flip_sin_to_cos=True, freq_shift=0, act_fn="silu",
                            down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
                            up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"))
with torch.no_grad():
    for p in unet.parameters():
        p.add_(torch.randn_like(p) * 0.05)   # zero-initialised outputs would leave most gradients zero
unet.save_pretrained(f"{out}/unet", safe_serialization=True)
unet = unet.to(torch.float64)
g = torch.Generator().manual_seed(5)
x0 = torch.randn(2, 4, 8, 8, generator=g, dtype=torch.float64)
noise = torch.randn(2, 4, 8, 8, generator=g, dtype=torch.float64)
context = torch.randn(2, 77, 24, generator=g, dtype=torch.float64)
timestep = torch.tensor([90, 610])
betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2
alpha = torch.cumprod(1 - betas, 0)[timestep].view(-1, 1, 1, 1)
sample = alpha.sqrt() * x0 + (1 - alpha).sqrt() * noise
loss = ((unet(sample, timestep, encoder_hidden_states=context).sample - noise) ** 2).mean()
loss.backward()
tensors = {"unet.sample": sample, "unet.timestep": timestep, "unet.context": context, "unet.target": noise,
           "unet.loss": loss.detach().view(1)}
tensors.update({"grad." + name: p.grad.float() for name, p in unet.named_parameters()})
save_file({k: v.contiguous() for k, v in tensors.items()}, f"{out}/reference.safetensors")
json.dump({"made_with": {"torch": torch.__version__, "diffusers": __import__("diffusers").__version__}},
          open(f"{out}/reference.json", "w"), indent=1)
print(f"loss {loss.item():.6f}, {len(list(unet.parameters()))} weights, {sum(p.numel() for p in unet.parameters())} values")
