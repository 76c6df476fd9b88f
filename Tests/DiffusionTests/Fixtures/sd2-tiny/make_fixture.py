"""Build a tiny random Stable-Diffusion-family pipeline in diffusers layout and reference
tensors computed by diffusers/transformers in float64, for parity tests of another implementation.

usage: CLIP_VOCAB=DIR make_fixture.py NAME OUTDIR   (NAME: sd-tiny, or one you add)
Needs: torch, diffusers, transformers, safetensors, ftfy (pip). DIR holds vocab.json and merges.txt
(fixtures/sd-tiny/pipeline/tokenizer/ has them)."""
import json, os, sys, torch
from diffusers import StableDiffusionPipeline, DDPMScheduler, DDIMScheduler, UNet2DConditionModel, AutoencoderKL
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer
from safetensors.torch import save_file

name, out = sys.argv[1], sys.argv[2]
VOCAB = os.environ.get("CLIP_VOCAB", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "sd-tiny", "pipeline", "tokenizer"))
torch.manual_seed(sum(map(ord, name)))

if name == "sd-tiny":          # the shape of SD 1.x: conv proj, one head size, eps prediction, quick_gelu CLIP
    text_cfg = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, hidden_act="quick_gelu")
    unet_cfg = dict(block_out_channels=(32, 64), layers_per_block=1, cross_attention_dim=32, attention_head_dim=8,
                    use_linear_projection=False, norm_num_groups=8, sample_size=8)
    vae_blocks, pred, res, dtype = (16, 32), "epsilon", 16, torch.float32
elif name == "sd2-tiny":      # the shape of SD 2.x: linear proj, a head count per block, v prediction, gelu CLIP, float16
    text_cfg = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, hidden_act="gelu")
    unet_cfg = dict(block_out_channels=(32, 64), layers_per_block=1, cross_attention_dim=32, attention_head_dim=(2, 4),
                    use_linear_projection=True, norm_num_groups=8, sample_size=8)
    vae_blocks, pred, res, dtype = (16, 32), "v_prediction", 16, torch.float16
else:
    sys.exit(f"unknown fixture {name}: add a config branch above (e.g. use_linear_projection=True, attention_head_dim per block, "
             "v_prediction, gelu text activation, float16 or bfloat16 weights, the transformers-5 layout without text_model.)")
nblk = len(unet_cfg["block_out_channels"])
unet = UNet2DConditionModel(in_channels=4, out_channels=4,
    down_block_types=("CrossAttnDownBlock2D",) * (nblk - 1) + ("DownBlock2D",),
    up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * (nblk - 1), **unet_cfg)
vae = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=vae_blocks, layers_per_block=1,
    norm_num_groups=8 if min(vae_blocks) % 8 == 0 else 4 if min(vae_blocks) % 4 == 0 else 2,
    down_block_types=("DownEncoderBlock2D",) * len(vae_blocks), up_block_types=("UpDecoderBlock2D",) * len(vae_blocks))
text = CLIPTextModel(CLIPTextConfig(vocab_size=49408, max_position_embeddings=77, bos_token_id=49406, eos_token_id=49407, pad_token_id=49407, **text_cfg))
# random weights are too tame at init: perturb every parameter so that every path matters
with torch.no_grad():
    for m in (unet, vae, text):
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.05)
tok = CLIPTokenizer(f"{VOCAB}/vocab.json", f"{VOCAB}/merges.txt", pad_token=os.environ.get("PAD_TOKEN", "<|endoftext|>"))
sched_cfg = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                 prediction_type=pred, steps_offset=1, clip_sample=False, set_alpha_to_one=False)
sched = DDIMScheduler(**sched_cfg)
pipe = StableDiffusionPipeline(vae=vae, text_encoder=text, tokenizer=tok, unet=unet, scheduler=sched,
                               safety_checker=None, feature_extractor=None, requires_safety_checker=False)
pipe.to(dtype)
os.makedirs(out, exist_ok=True)
pipe.save_pretrained(f"{out}/pipeline", safe_serialization=True)
classic = os.environ.get("LAYOUT", "classic") == "classic"   # classic = the layout of the published SD 1.x/2.x folders
if classic:
    import shutil
    from safetensors.torch import load_file
    p = f"{out}/pipeline/text_encoder/model.safetensors"
    w = load_file(p); save_file({"text_model." + k: v for k, v in w.items()}, p, metadata={"format": "pt"})
    os.remove(f"{out}/pipeline/tokenizer/tokenizer.json")
    shutil.copy(f"{VOCAB}/vocab.json", f"{out}/pipeline/tokenizer/vocab.json")
    shutil.copy(f"{VOCAB}/merges.txt", f"{out}/pipeline/tokenizer/merges.txt")
    json.dump({"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": tok.pad_token, "unk_token": "<|endoftext|>"},
              open(f"{out}/pipeline/tokenizer/special_tokens_map.json", "w"), indent=1)

# ---- reference tensors, float64 ----
pipe.to(torch.float64)
unet, vae, text = pipe.unet, pipe.vae, pipe.text_encoder
for m in (unet, vae, text):
    m.eval()
    for p in m.parameters(): p.requires_grad_(False)
ref = {}
g = torch.Generator().manual_seed(1234)
prompts = ["a photo of a cat toy", "An oil painting of <cat-toy>, 2 dogs & émoji 🐱!"]
ids = tok(prompts, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
ids_uncond = tok([""], padding="max_length", max_length=77, return_tensors="pt").input_ids
ref["text.input_ids"] = ids.to(torch.int64)
ref["text.uncond_input_ids"] = ids_uncond.to(torch.int64)
captured = {}
def keep(mod, inp, out):
    out = out.detach().clone().requires_grad_(True); out.retain_grad(); captured["emb"] = out; return out
hook = text.embeddings.token_embedding.register_forward_hook(keep)
hid = text(ids).last_hidden_state
hook.remove()
emb = captured["emb"]
ref["text.last_hidden_state"] = hid.detach().clone()
ref["text.pooler_output"] = text(ids).pooler_output.detach()
ref["text.uncond_last_hidden_state"] = text(ids_uncond).last_hidden_state.detach()

S = unet.config.sample_size
x0 = torch.randn(2, 4, S, S, generator=g, dtype=torch.float64)
noise = torch.randn(2, 4, S, S, generator=g, dtype=torch.float64)
t = torch.tensor([17, 733])
sch = DDPMScheduler(**{k: v for k, v in sched_cfg.items() if k not in ("set_alpha_to_one",)})
xt = sch.add_noise(x0, noise, t)
target = noise if pred == "epsilon" else sch.get_velocity(x0, noise, t)
ref.update({"scheduler.alphas_cumprod": sch.alphas_cumprod.to(torch.float64), "unet.x0": x0, "unet.noise": noise,
            "unet.timestep": t.to(torch.int64), "unet.sample": xt, "unet.target": target})
hid.retain_grad()
out_u = unet(xt, t, encoder_hidden_states=hid).sample
loss = ((out_u - target) ** 2).mean()
loss.backward()
ref["unet.out"] = out_u.detach()
ref["unet.loss"] = loss.detach().reshape(1)
ref["grad.encoder_hidden_states"] = hid.grad.detach().clone()
ref["grad.token_embeddings"] = emb.grad.detach().clone()

R = res
img = torch.rand(1, 3, R, R, generator=g, dtype=torch.float64) * 2 - 1
post = vae.encode(img).latent_dist
ref["vae.image"] = img
ref["vae.posterior_mean"] = post.mean.detach()
ref["vae.posterior_logvar"] = post.logvar.detach()
lat = torch.randn(1, 4, R // 2 ** (len(vae_blocks) - 1), R // 2 ** (len(vae_blocks) - 1), generator=g, dtype=torch.float64)
ref["vae.latents"] = lat
ref["vae.decoded"] = vae.decode(lat).sample.detach()

# DDIM sampling with classifier-free guidance, from fixed latents, 5 steps
ddim = DDIMScheduler(**sched_cfg); ddim.set_timesteps(5)
lat = torch.randn(1, 4, S, S, generator=g, dtype=torch.float64)
ref["ddim.initial_latents"] = lat.clone()
ref["ddim.timesteps"] = ddim.timesteps.to(torch.int64)
cond = ref["text.last_hidden_state"][:1]; unc = ref["text.uncond_last_hidden_state"]
with torch.no_grad():
    for tt in ddim.timesteps:
        e = unet(torch.cat([lat, lat]), tt, encoder_hidden_states=torch.cat([unc, cond])).sample
        eu, ec = e.chunk(2)
        e = eu + 7.5 * (ec - eu)
        lat = ddim.step(e, tt, lat).prev_sample
    ref["ddim.final_latents"] = lat
    ref["ddim.image"] = vae.decode(lat / vae.config.scaling_factor).sample
save_file({k: v.detach().clone().contiguous() for k, v in ref.items()}, f"{out}/reference.safetensors")
meta = {"name": name, "prompts": prompts, "guidance_scale": 7.5, "ddim_steps": 5, "prediction_type": pred,
        "weights_dtype": str(dtype).replace("torch.", ""), "loss": "mean((unet(sample, timestep, text.last_hidden_state) - target)^2)",
        "vae_scaling_factor": vae.config.scaling_factor, "made_with": {"torch": torch.__version__,
        "diffusers": __import__("diffusers").__version__, "transformers": __import__("transformers").__version__}}
json.dump(meta, open(f"{out}/reference.json", "w"), indent=1)
print(name, {k: tuple(v.shape) for k, v in ref.items()})
