"""gradti's safetensors files load in Python's `safetensors`, and Python's load in gradti."""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from safetensors import TensorSpec, serialize_file, safe_open


def gradti_binary() -> Path:
    """The gradti binary that .ci/setup installed (the one the kernelspec runs)."""
    return Path(KernelSpecManager().get_kernel_spec("gradti").argv[0])


def gradti(*args: str) -> str:
    return subprocess.run([str(gradti_binary()), *args], check=True, capture_output=True, text=True).stdout


def write_python(path: Path, arrays: dict[str, tuple[str, np.ndarray]]) -> None:
    specs = {name: TensorSpec(dtype=dtype, shape=list(a.shape), data_ptr=a.ctypes.data, data_len=a.nbytes)
             for name, (dtype, a) in arrays.items()}
    serialize_file(specs, str(path), metadata={"origin": "python"})


def read_python(path: Path) -> dict[str, tuple[str, np.ndarray]]:
    """Every tensor with its dtype; BF16 is returned as float32 (numpy has no bfloat16)."""
    out = {}
    with safe_open(str(path), framework="np") as f:
        for name in f.keys():
            sliced = f.get_slice(name)
            dtype = sliced.get_dtype()
            if dtype == "BF16":
                raw = path.read_bytes()
                header_len = int.from_bytes(raw[:8], "little")
                import json
                entry = json.loads(raw[8:8 + header_len])[name]
                begin, end = entry["data_offsets"]
                bits = np.frombuffer(raw[8 + header_len + begin:8 + header_len + end], dtype="<u2")
                out[name] = (dtype, (bits.astype(np.uint32) << 16).view(np.float32).reshape(entry["shape"]))
            else:
                out[name] = (dtype, f.get_tensor(name))
    return out


@pytest.fixture
def arrays():
    rng = np.random.default_rng(0)
    weights = rng.standard_normal((3, 17, 5)).astype(np.float32)
    return {
        "unet.conv.weight": ("float32", weights),
        "half": ("float16", rng.standard_normal(9).astype(np.float16)),
        "ids": ("int64", np.array([49406, 1, 49407], dtype=np.int64)),
        "small": ("int32", np.array([[7, -8]], dtype=np.int32)),
    }


def test_python_files_load_in_gradti(tmp_path, arrays):
    source = tmp_path / "python.safetensors"
    write_python(source, arrays)
    listing = gradti("tensors", "list", str(source))
    assert "unet.conv.weight F32  [3, 17, 5]" in listing
    assert "metadata origin: python" in listing
    converted = tmp_path / "f32.safetensors"
    gradti("tensors", "convert", str(source), str(converted), "--dtype", "F32")
    back = read_python(converted)
    np.testing.assert_array_equal(back["unet.conv.weight"][1], arrays["unet.conv.weight"][1])
    np.testing.assert_array_equal(back["half"][1], arrays["half"][1].astype(np.float32))
    assert back["half"][0] == "F32"
    np.testing.assert_array_equal(back["ids"][1], arrays["ids"][1])
    np.testing.assert_array_equal(back["small"][1], arrays["small"][1])


@pytest.mark.parametrize("dtype,numpy_type", [("F16", np.float16), ("BF16", None)])
def test_gradti_half_precision_files_load_in_python(tmp_path, arrays, dtype, numpy_type):
    source = tmp_path / "python.safetensors"
    write_python(source, arrays)
    written = tmp_path / "half.safetensors"
    gradti("tensors", "convert", str(source), str(written), "--dtype", dtype)
    back = read_python(written)
    original = arrays["unet.conv.weight"][1]
    assert back["unet.conv.weight"][0] == dtype
    if numpy_type is not None:
        np.testing.assert_array_equal(back["unet.conv.weight"][1], original.astype(numpy_type))
    else:
        # Round to nearest even on the top 16 bits, as torch's bfloat16 conversion does.
        bits = original.view(np.uint32).astype(np.uint64)
        rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint32) << 16
        np.testing.assert_array_equal(back["unet.conv.weight"][1], rounded.view(np.float32))
    np.testing.assert_array_equal(back["ids"][1], arrays["ids"][1])


def test_corrupt_files_give_a_clear_error(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}      ")
    result = subprocess.run([str(gradti_binary()), "tensors", "list", str(bad)], capture_output=True, text=True)
    assert result.returncode != 0
    assert str(bad) in result.stderr and "not a JSON object" in result.stderr
