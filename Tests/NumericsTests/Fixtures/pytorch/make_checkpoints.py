"""PyTorch checkpoints as torch.save writes them, for gradti's own unpickler, with `expected.safetensors`
holding every tensor (contiguous) to compare with; and damaged ones.

usage: make_checkpoints.py OUTDIR      (needs torch, safetensors)"""
import argparse, collections, io, sys, zipfile
from pathlib import Path

import torch
from safetensors.torch import save_file

out = Path(sys.argv[1])
torch.manual_seed(3)
base = torch.randn(3, 4)
state = collections.OrderedDict()
state["linear.weight"] = base
state["linear.weight_t"] = base.t()                     # strides (1, 4): not contiguous
state["rows.tail"] = base[1:]                           # a view at storage offset 4, sharing base's storage
state["half"] = torch.randn(5).half()
state["bfloat"] = torch.randn(2, 3).bfloat16()
state["double"] = torch.randn(2, 2, dtype=torch.float64)
state["steps"] = torch.arange(3)                        # int64
state["scalar"] = torch.tensor(2.5)                     # 0-d
state["param"] = torch.nn.Parameter(torch.randn(2))     # _rebuild_parameter
torch.save(state, out / "state-dict.bin")
save_file({k: v.detach().contiguous().clone() for k, v in state.items()}, out / "expected.safetensors")

# A Lightning-style checkpoint: the weights under state_dict, beside objects gradti ignores.
torch.save({"state_dict": collections.OrderedDict((k, state[k]) for k in ["linear.weight", "half"]), "epoch": 3,
            "hyper_parameters": argparse.Namespace(lr=0.1, name="x"), "optimizer_states": [{"step": 7}]},
           out / "lightning.ckpt")
# Embeddings: A1111's .pt and diffusers' learned_embeds.bin.
vectors = torch.randn(2, 32)
torch.save({"string_to_token": {"*": 265}, "string_to_param": {"*": vectors}, "name": "cat-toy", "step": 100,
            "sd_checkpoint": "abcd", "sd_checkpoint_name": "v1-5"}, out / "a1111-embedding.pt")
torch.save({"<cat-toy>": vectors[0].clone()}, out / "learned_embeds.bin")
save_file({"a1111": vectors, "diffusers": vectors[0].clone()}, out / "expected-embeddings.safetensors")

# Damaged: cut in the middle; the legacy (pre-1.6) format; an opcode gradti's unpickler refuses; a storage too short.
whole = (out / "state-dict.bin").read_bytes()
(out / "truncated.bin").write_bytes(whole[: len(whole) // 2])
torch.save(state, out / "legacy.bin", _use_new_zipfile_serialization=False)
def rewrite(name, change):
    source = zipfile.ZipFile(io.BytesIO(whole))
    with zipfile.ZipFile(out / name, "w", zipfile.ZIP_STORED) as target:
        for item in source.infolist():
            target.writestr(item, change(item.filename, source.read(item.filename)))
rewrite("bad-opcode.bin", lambda n, b: b.replace(b"\x80\x02", b"\x80\x02\x96", 1) if n.endswith("data.pkl") else b)
rewrite("short-storage.bin", lambda n, b: b[:8] if n.endswith("/data/0") else b)
print(sorted(p.name for p in out.iterdir()))
