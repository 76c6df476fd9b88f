"""A whole textual-inversion session driven through jupyter_client, as a notebook would run it."""
from __future__ import annotations

import base64
import struct
from pathlib import Path

import pytest
from jupyter_client.manager import start_new_kernel

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = ROOT / "Tests" / "DiffusionTests" / "Fixtures" / "sd-tiny" / "pipeline"
LOGOS = ROOT / "kernelspec"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture
def kernel(tmp_path):
    km, kc = start_new_kernel(kernel_name="gradti", cwd=str(tmp_path), startup_timeout=30)
    try:
        yield kc, tmp_path
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def run(kc, code: str) -> list[dict]:
    outputs: list[dict] = []
    reply = kc.execute_interactive(code, timeout=300, output_hook=lambda m: outputs.append(m))
    assert reply["content"]["status"] == "ok", f"{code}: {reply['content'].get('evalue')}"
    return outputs


def images(outputs: list[dict]) -> list[bytes]:
    return [base64.b64decode(m["content"]["data"]["image/png"]) for m in outputs
            if m["msg_type"] == "display_data" and "image/png" in m["content"]["data"]]


def test_a_session_from_load_to_generated_images(kernel):
    kc, cwd = kernel
    run(kc, f'load "{PIPELINE}"')
    run(kc, f'concept logo from "{LOGOS}/logo-*.png" init=logo\noptimizer batch=2 seed=1')
    run(kc, "profile t=0:1000:250 samples=2\nstrategy highgrad width=250\nstep 5")
    plots = images(run(kc, "plot g\nplot loss\nplot timesteps"))
    assert [png_size(p) for p in plots] == [(720, 432)] * 3
    grid = images(run(kc, 'generate "a photo of <logo>" n=2 steps=3 seed=4'))
    assert len(grid) == 1 and png_size(grid[0])[1] > 128   # enlarged images with labels
    concept = images(run(kc, "show concept"))
    assert len(concept) == 1 and png_size(concept[0])[0] > 128
    run(kc, "save embedding logo.safetensors\nexport metrics metrics.csv")
    assert len((cwd / "metrics.csv").read_text().splitlines()) == 6
    assert (cwd / "logo.safetensors").stat().st_size > 0
    assert len(list((cwd / "outputs").glob("*.png"))) == 6   # 3 plots, 2 images, the concept grid
    info = "".join(m["content"].get("text", "") for m in run(kc, "info"))
    assert "steps: 5" in info and "<logo>" in info
