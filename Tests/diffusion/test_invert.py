"""`gradti invert` as a user runs it unattended: a folder of JPEG photos in, an embedding out; stopped by
SIGINT in the middle, resumed, and ending with the same vectors as a run never stopped."""
from __future__ import annotations

import shutil
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from safetensors import safe_open
from safetensors.numpy import load_file

PHOTOS = Path(__file__).resolve().parents[1] / "GraphicsTests" / "Fixtures" / "images"


def binary() -> str:
    return KernelSpecManager().get_kernel_spec("gradti").argv[0]


def photos(tmp_path: Path) -> Path:
    """A user's folder: JPEGs of several sizes and orientations, a caption-less text file, a hidden file."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ["baseline-420.jpg", "orientation-6.jpg", "gray.jpg", "cmyk-adobe.jpg"]:
        shutil.copy(PHOTOS / name, folder / name)
    (folder / "notes.md").write_text("not an image")
    (folder / "._baseline-420.jpg").write_bytes(b"macOS resource fork")
    return folder


def invert(*args: str) -> list[str]:
    return [binary(), "invert", "--steps", "6", "--log-every", "1", *args]


@pytest.mark.parametrize("knobs", [
    ["--strategy", "adaptive"],
    ["--strategy", "350-450", "--schedule", "cosine", "--warmup", "2", "--accumulate", "2", "--batch", "2",
     "--clip", "1", "--min-snr", "5", "--seed", "3"],
])
def test_a_stopped_run_resumes_to_the_same_vectors(tmp_path, knobs):
    folder = photos(tmp_path)
    new = ["--images", str(folder), "--token", "thing", "--init", "toy", *knobs]
    straight = subprocess.run(
        invert(*new, "--output", str(tmp_path / "straight.safetensors")),
        capture_output=True, text=True, timeout=600)
    assert straight.returncode == 0, straight.stderr
    assert "4 images" in straight.stdout and "done, step 6 of 6" in straight.stdout

    # The same run, stopped by SIGINT once its second step is logged.
    output = tmp_path / "stopped.safetensors"
    process = subprocess.Popen(
        invert(*new, "--output", str(output)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in process.stdout:
        lines.append(line)
        if "2/6" in line:
            process.send_signal(signal.SIGINT)
            break
    rest, errors = process.communicate(timeout=600)
    log = "".join(lines) + rest
    assert process.returncode == 130, errors
    assert "stopped by SIGINT" in log and "--resume" in log
    session = tmp_path / "stopped.session.safetensors"
    with safe_open(str(session), "np") as f:
        stopped_at = int(f.metadata()["step"])
    assert 2 <= stopped_at < 6
    # The embedding of the finished steps is already usable.
    assert load_file(str(output))["<thing>"].shape[0] == 1

    resumed = subprocess.run(
        [binary(), "invert", "--resume", str(session), "--steps", "6", "--output", str(output)],
        capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed {session} at step {stopped_at}" in resumed.stdout

    expected, got = load_file(str(tmp_path / "straight.safetensors")), load_file(str(output))
    assert list(got) == ["<thing>"]
    vectors = got["<thing>"]
    assert vectors.dtype == np.float32 and vectors.ndim == 2 and np.isfinite(vectors).all()
    assert np.array_equal(vectors, expected["<thing>"]), "the resumed run's vectors differ from the straight run's"


def test_bad_input_is_a_clear_error(tmp_path):
    out = str(tmp_path / "e.safetensors")
    missing = subprocess.run(
        [binary(), "invert", "--images", str(tmp_path / "nowhere"), "--token", "x", "--steps", "2", "--output", out],
        capture_output=True, text=True)
    assert missing.returncode != 0 and "no such file or folder" in missing.stderr
    both = subprocess.run(
        [binary(), "invert", "--resume", "s.session.safetensors", "--images", str(tmp_path), "--steps", "2",
         "--output", out], capture_output=True, text=True)
    assert both.returncode != 0 and "--images cannot change a resumed session's concept" in both.stderr
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "a.txt").write_text("hello")
    empty = subprocess.run(
        [binary(), "invert", "--images", str(folder), "--token", "x", "--steps", "2", "--output", out],
        capture_output=True, text=True)
    assert empty.returncode != 0 and "holds no image files" in empty.stderr
    assert not Path(out).exists()
