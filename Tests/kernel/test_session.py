"""A whole textual-inversion session driven through jupyter_client, as a notebook would run it."""
from __future__ import annotations

import base64
import json
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


def pipeline_with_image_encoder(folder: Path) -> Path:
    """The sd-tiny fixture with the clip-vision fixture as its image_encoder/."""
    folder.mkdir()
    for entry in PIPELINE.iterdir():
        (folder / entry.name).symlink_to(entry)
    (folder / "image_encoder").symlink_to(PIPELINE.parents[1] / "clip-vision" / "image_encoder")
    return folder


def text(outputs: list[dict]) -> str:
    return "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")


def test_similarity_and_a_comparison_of_strategies(kernel):
    kc, cwd = kernel
    pipeline = pipeline_with_image_encoder(cwd / "pipeline")
    run(kc, f'load "{pipeline}"\nconcept logo from "{LOGOS}/logo-*.png" init=logo\noptimizer batch=2 seed=1')
    measured = run(kc, "evaluate every=2 images=2 steps=2")
    assert "CLIP image similarity" in text(measured) and len(images(measured)) == 1
    run(kc, "step 4")
    assert [png_size(p) for p in images(run(kc, "plot similarity"))] == [(720, 432)]

    reply = kc.execute_interactive("compare uniform t400", timeout=60, output_hook=lambda m: None)
    assert reply["content"]["status"] == "error" and "steps=N" in reply["content"]["evalue"]

    outputs = run(kc, "compare uniform 350-450 t400 steps=2 every=1")
    table = text(outputs)
    for name in ("uniform", "350-450", "t400", "<logo-t400>"):
        assert name in table
    chart, grid = images(outputs)
    assert png_size(chart) == (720, 432) and png_size(grid)[1] > 3 * 64   # a row of images per strategy
    assert (cwd / "outputs" / "logo-350-450.safetensors").stat().st_size > 0
    info = text(run(kc, "info"))
    assert "steps: 4" in info and "<logo-uniform>" in info   # the session itself is as it was
    assert len(images(run(kc, 'generate "a photo of <logo-t400>" n=1 steps=2'))) == 1


def test_a_quick_study_on_a_small_benchmark(kernel):
    kc, cwd = kernel
    pipeline = pipeline_with_image_encoder(cwd / "pipeline")
    benchmark = cwd / "benchmark"
    subjects = []
    for slug in ("logo-a", "logo-b"):
        (benchmark / slug).mkdir(parents=True)
        for i, logo in enumerate(sorted(LOGOS.glob("logo-*.png"))[:2]):
            (benchmark / slug / f"{i}.png").write_bytes(logo.read_bytes())
        subjects.append({"slug": slug, "codePoint": "", "name": slug, "initWord": "logo", "images": ["0.png", "1.png"],
                         "captions": ["", ""], "prompts": ["a photo of a {}"]})
    (benchmark / "subjects.json").write_text(json.dumps(subjects))
    run(kc, f'load "{pipeline}"\nevaluate images=2 steps=2')
    outputs = run(kc, f'study strategies=uniform,t400 steps=2 every=1 benchmark="{benchmark}" results=study')
    table = text(outputs)
    assert "2 subject-seed unit(s)" in table and "t400" in table
    shown = images(outputs)
    # g(t), then the curves of similarity and of the evaluation loss, then one subject's generations.
    assert [png_size(p) for p in shown[:3]] == [(720, 432)] * 3 and len(shown) == 4
    assert "CLIP image similarity, 2 subject-seed" in table and "evaluation loss, 2 subject-seed" in table
    assert len((cwd / "study" / "results.jsonl").read_text().splitlines()) == 2
    assert (cwd / "study" / "summary.csv").read_text().startswith("strategy,")
    assert len((cwd / "study" / "summary-loss.csv").read_text().splitlines()) == 3
    # A rerun reads the finished units and runs nothing.
    assert "2 subject-seed unit(s)" in text(run(kc, f'study strategies=uniform,t400 steps=2 every=1 benchmark="{benchmark}" results=study'))
