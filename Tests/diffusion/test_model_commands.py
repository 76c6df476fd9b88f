"""`gradti tokenize`, `gradti eval` and `gradti check` as people checking a checkpoint use them."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from safetensors.numpy import load_file, save_file

FIXTURES = Path(__file__).resolve().parents[1] / "DiffusionTests" / "Fixtures"


def gradti(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    binary = KernelSpecManager().get_kernel_spec("gradti").argv[0]
    return subprocess.run([binary, *map(str, args)], check=check, capture_output=True, text=True)


def test_tokenize_json_matches_transformers():
    cases = json.loads((FIXTURES / "tokenizer-cases.json").read_text())["cases"]
    for case in cases[:12] + cases[-4:]:
        result = json.loads(gradti("tokenize", FIXTURES / "sd-tiny" / "pipeline", case["text"], "--json").stdout)
        assert result["ids"] == case["ids"], case["text"]
        assert len(result["ids"]) == 77


def test_tokenize_reports_truncation():
    out = json.loads(gradti("tokenize", FIXTURES / "sd-tiny" / "pipeline", "word " * 100, "--json").stdout)
    assert out["truncated"] is True and len(out["tokens"]) == 100
    text = gradti("tokenize", FIXTURES / "sd-tiny" / "pipeline", "word " * 100).stdout
    assert "truncated" in text


@pytest.mark.parametrize("fixture", ["sd-tiny", "sd2-tiny"])
def test_check_passes_on_the_fixtures(fixture):
    result = gradti("check", FIXTURES / fixture / "pipeline", FIXTURES / fixture / "reference.safetensors")
    assert "15 passed, 0 failed" in result.stdout


def test_eval_writes_every_output_and_check_catches_a_wrong_one(tmp_path):
    folder = FIXTURES / "sd-tiny"
    out = tmp_path / "out.safetensors"
    gradti("eval", folder / "pipeline", "--inputs", folder / "reference.safetensors", "--output", out)
    ours = load_file(str(out))
    reference = load_file(str(folder / "reference.safetensors"))
    assert {"unet.out", "grad.token_embeddings", "vae.decoded", "ddim.image"} <= set(ours)
    np.testing.assert_allclose(ours["unet.out"], reference["unet.out"], rtol=1e-3, atol=1e-5)

    tampered = dict(reference)
    tampered["unet.out"] = reference["unet.out"] * 1.01
    bad = tmp_path / "tampered.safetensors"
    save_file(tampered, str(bad))
    result = gradti("check", folder / "pipeline", bad, check=False)
    assert result.returncode != 0
    assert "unet.out" in result.stdout and "FAIL" in result.stdout


def test_a_missing_model_is_a_clear_error(tmp_path):
    result = gradti("check", tmp_path / "nowhere", FIXTURES / "sd-tiny" / "reference.safetensors", check=False)
    assert result.returncode != 0 and "no such folder" in result.stderr
