"""google/dreambooth's dataset/ folder, as cloned, is a `gradti study` benchmark: JPEG photos, the classes and
the Python-written prompt lists of prompts_and_classes.txt (a miniature of its layout here)."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager

PHOTOS = Path(__file__).resolve().parents[1] / "GraphicsTests" / "Fixtures" / "images"

LAYOUT = """Classes

subject_name,class
dog2,dog
bear_plushie,stuffed animal

Prompts

Object Prompts

prompt_list = [
'a {0} {1} in the jungle'.format(unique_token, class_token),
'a cube shaped {0} {1}'.format(unique_token, class_token)
]

Live Subject Prompts

prompt_list = [
'a {0} {1} in the jungle'.format(unique_token, class_token),
'a {0} {1} wearing a red hat'.format(unique_token, class_token)
]
"""


def test_the_dreambooth_layout_runs_as_a_study_benchmark(tmp_path):
    dataset = tmp_path / "dreambooth" / "dataset"
    for subject, photos in [("dog2", ["baseline-420.jpg", "orientation-6.jpg"]), ("bear_plushie", ["gray.jpg", "baseline-444.jpg"])]:
        (dataset / subject).mkdir(parents=True)
        for i, name in enumerate(photos):
            shutil.copy(PHOTOS / name, dataset / subject / f"{i:02d}.jpg")
    (dataset / "prompts_and_classes.txt").write_text(LAYOUT)
    results = tmp_path / "results"
    binary = KernelSpecManager().get_kernel_spec("gradti").argv[0]
    run = subprocess.run(
        [binary, "study", "--benchmark", str(dataset), "--results", str(results), "--subjects", "dog2,bear_plushie",
         "--strategies", "uniform,t400", "--steps", "2", "--every", "1", "--images", "1", "--similarity-steps", "2"],
        capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    units = [json.loads(line) for line in (results / "results.jsonl").read_text().splitlines()]
    assert sorted(u["subject"] for u in units) == ["bear_plushie", "dog2"]
    assert (results / "summary.csv").exists() and (results / "curves.png").exists()

    # Measured with another CLIP (a CLIPModel folder, as openai/clip-vit-large-patch14 is downloaded).
    clip = Path(__file__).resolve().parents[1] / "DiffusionTests" / "Fixtures" / "clip-model"
    other = tmp_path / "with-clip"
    run = subprocess.run(
        [binary, "study", "--benchmark", str(dataset), "--results", str(other), "--subjects", "dog2",
         "--strategies", "uniform", "--steps", "1", "--every", "1", "--images", "1", "--similarity-steps", "2",
         "--evaluator", str(clip)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    plan = json.loads((other / "plan.json").read_text())
    assert plan["evaluator"] == "clip-model" and plan["metric"] == "similarity"
