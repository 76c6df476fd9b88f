"""Checks that diffusers loads an embedding saved by gradti (`save embedding FILE`).

Run by hand in a virtual environment with torch, diffusers, transformers and safetensors (not part of the
test command, which has no torch):

    python Tests/diffusion/check_embedding_with_diffusers.py PIPELINE_FOLDER EMBEDDING.safetensors

It loads the pipeline with diffusers, calls `load_textual_inversion` on the file, and checks that the
token(s) exist and that their rows of the text encoder's embedding table equal the file's vectors."""
import sys

import torch
from diffusers import StableDiffusionPipeline
from safetensors.torch import load_file

pipeline_folder, embedding_file = sys.argv[1], sys.argv[2]
(token, vectors), = load_file(embedding_file).items()
pipe = StableDiffusionPipeline.from_pretrained(pipeline_folder, safety_checker=None, requires_safety_checker=False)
pipe.load_textual_inversion(embedding_file)
tokens = [token] + [f"{token}_{i}" for i in range(1, vectors.shape[0])]
ids = pipe.tokenizer.convert_tokens_to_ids(tokens)
assert all(i != pipe.tokenizer.unk_token_id for i in ids), f"diffusers did not add {tokens}"
rows = pipe.text_encoder.get_input_embeddings().weight[ids].detach()
# diffusers keeps the vectors in the text encoder's dtype (float16 for the embedded model): compare in it.
assert torch.equal(rows, vectors.to(rows.dtype)), "the loaded vectors differ from the file's"
print(f"ok: diffusers loaded {tokens} (ids {ids}) with the file's {tuple(vectors.shape)} vectors")
