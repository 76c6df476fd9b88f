"""The corrupt-file catalogue: damaged and hostile files of every kind gradti reads, each given to the
installed kernel by the cell a user would type. Prints a table of the errors and exits non-zero if a
cell succeeded, the kernel died, or an error does not name the file.

    JUPYTER_PATH=.venv/share/jupyter .venv/bin/python Tests/fault/corrupt_files.py [--markdown]
"""
from __future__ import annotations

import json
import os
import shutil
import struct
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faults import IMAGES, ROOT, run, start  # noqa: E402

MODEL = ROOT / "models" / "gradti-emoji"


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(width: int, height: int, colour: int, idat: bytes, crc_ok: bool = True) -> bytes:
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0))
    data = png_chunk(b"IDAT", idat)
    if not crc_ok:
        data = data[:-1] + bytes([data[-1] ^ 1])
    return b"\x89PNG\r\n\x1a\n" + header + data + png_chunk(b"IEND", b"")


def safetensors_bytes(header: dict, data: bytes = b"") -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def cases(folder: Path) -> list[tuple[str, str, str, Path]]:
    """(kind, what is wrong, cell, the file named) for every case; files are written into `folder`."""
    out: list[tuple[str, str, str, Path]] = []
    width = json.loads((MODEL / "text_encoder" / "config.json").read_text())["hidden_size"]

    def file(name: str, content: bytes) -> Path:
        path = folder / name
        path.write_bytes(content)
        return path

    def embedding(what: str, path: Path) -> None:
        out.append(("embedding", what, f'load embedding "{path}"', path))

    def vectors(name: str, array, key: str = "<x>") -> Path:
        path = folder / name
        save_file({key: array}, str(path))
        return path

    embedding("empty file", file("empty.safetensors", b""))
    embedding("7 bytes", file("short.safetensors", b"\x01" * 7))
    embedding("header length beyond the file", file("length.safetensors", struct.pack("<Q", 1 << 40) + b"{}"))
    embedding("header not JSON", file("notjson.safetensors", struct.pack("<Q", 5) + b"{oops"))
    embedding("header a JSON list", file("list.safetensors", safetensors_bytes([1, 2])))  # type: ignore[arg-type]
    embedding("offsets beyond the data (truncated)", file("truncated.safetensors", safetensors_bytes(
        {"<x>": {"dtype": "F32", "shape": [1, width], "data_offsets": [0, 4 * width]}}, b"\0" * 16)))
    embedding("unknown dtype F8", file("dtype.safetensors", safetensors_bytes(
        {"<x>": {"dtype": "F8_E4M3", "shape": [1, 4], "data_offsets": [0, 4]}}, b"\0" * 4)))
    embedding("shape and bytes disagree", file("shape.safetensors", safetensors_bytes(
        {"<x>": {"dtype": "F32", "shape": [3, width], "data_offsets": [0, 8]}}, b"\0" * 8)))
    embedding("overlapping tensors", file("overlap.safetensors", safetensors_bytes(
        {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}},
        b"\0" * 12)))
    save_file({"a": np.zeros((1, width), np.float32), "b": np.zeros((1, width), np.float32)}, str(folder / "two.safetensors"))
    embedding("two tensors", folder / "two.safetensors")
    embedding("NaN values", vectors("nan.safetensors", np.full((1, width), np.nan, np.float32)))
    embedding("0 vectors", vectors("zero.safetensors", np.zeros((0, width), np.float32)))
    embedding("100,000 vectors", vectors("huge.safetensors", np.zeros((100_000, width), np.float32)))
    embedding("wrong width", vectors("width.safetensors", np.zeros((1, width + 1), np.float32)))
    embedding("empty token name", vectors("noname.safetensors", np.zeros((1, width), np.float32), key=""))
    embedding("a PyTorch file that is a broken zip", file("embedding.pt", b"PK\x03\x04" + b"\0" * 60))
    embedding("a PNG named .safetensors", file("image.safetensors", png(1, 1, 0, b"")))
    fifo = folder / "fifo.safetensors"
    os.mkfifo(fifo)
    embedding("a FIFO", fifo)
    embedding("a folder", folder)
    out.append(("embedding", "a character device", 'load embedding "/dev/zero"', Path("/dev/zero")))

    out.append(("session", "an embedding file", f'load session "{folder / "nan.safetensors"}"', folder / "nan.safetensors"))
    out.append(("session", "a character device", 'load session "/dev/zero"', Path("/dev/zero")))

    def image(what: str, path: Path) -> None:
        out.append(("image", what + " (show)", f'show "{path}"', path))
        out.append(("image", what + " (concept)", f'concept broken from "{path}"', path))

    image("empty file", file("empty.png", b""))
    image("a JPEG named .png", file("photo.png", b"\xff\xd8\xff\xe0" + b"\0" * 100))
    image("text named .png", file("text.png", b"hello, world\n"))
    image("signature only", file("signature.png", b"\x89PNG\r\n\x1a\n"))
    image("cut in the middle", file("cut.png", (IMAGES / "0.png").read_bytes()[:300]))
    image("wrong CRC", file("crc.png", png(1, 1, 0, zlib.compress(b"\0\x80"), crc_ok=False)))
    image("declares 100000x100000", file("vast.png", png(100_000, 100_000, 2, zlib.compress(b"\0\0\0"))))
    image("declares 2147483647x1", file("wide.png", png(2_147_483_647, 1, 2, zlib.compress(b"\0\0\0"))))
    image("palette without PLTE", file("palette.png", png(4, 4, 3, zlib.compress(b"\0" * 20))))
    image("IDAT not zlib", file("inflate.png", png(4, 4, 2, b"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09")))
    photos = ROOT / "Tests" / "GraphicsTests" / "Fixtures" / "images"
    jpeg = (photos / "baseline-420.jpg").read_bytes()
    image("a JPEG cut in the middle", file("cut.jpg", jpeg[:300]))
    sof = jpeg.index(b"\xff\xc0")
    image("a JPEG that declares 20000x20000",
          file("vast.jpg", jpeg[:sof + 5] + struct.pack(">HH", 20000, 20000) + jpeg[sof + 9:]))
    image("a JPEG with no image data", file("markers.jpg", jpeg[:jpeg.index(b"\xff\xda")] + b"\xff\xd9"))
    image("a WebP header only", file("head.webp", b"RIFF\x04\x00\x00\x00WEBPVP8 "))
    image("a WebP cut in the middle", file("cut.webp", (photos / "lossy.webp").read_bytes()[:60]))
    image("a GIF", file("picture.gif", (photos / "picture.gif").read_bytes()))
    fifo_png = folder / "fifo.png"
    os.mkfifo(fifo_png)
    image("a FIFO", fifo_png)

    def model(what: str, edit) -> None:
        copy = folder / f"model-{len(out)}"
        shutil.copytree(MODEL, copy)
        target = edit(copy)
        out.append(("model folder", what, f'load "{copy}"', target))

    def config(part: str, key: str, value):
        def edit(copy: Path) -> Path:
            path = copy / part
            values = json.loads(path.read_text())
            values[key] = value
            path.write_text(json.dumps(values))
            return path
        return edit

    def replace(part: str, content: bytes):
        def edit(copy: Path) -> Path:
            (copy / part).write_bytes(content)
            return copy / part
        return edit

    def nan_weight(copy: Path) -> Path:
        from safetensors.numpy import load_file
        path = copy / "text_encoder" / "model.safetensors"
        tensors = load_file(str(path))
        name = next(k for k in tensors if k.endswith("final_layer_norm.weight"))
        tensors[name] = tensors[name].copy()
        tensors[name][0] = np.nan
        save_file(tensors, str(path))
        return path

    model("text encoder num_attention_heads 0", config("text_encoder/config.json", "num_attention_heads", 0))
    model("text encoder hidden_size -8", config("text_encoder/config.json", "hidden_size", -8))
    model("UNet sample_size -1", config("unet/config.json", "sample_size", -1))
    model("UNet norm_num_groups 7", config("unet/config.json", "norm_num_groups", 7))
    model("VAE latent_channels 0", config("vae/config.json", "latent_channels", 0))
    model("scheduler beta_end 1.5", config("scheduler/scheduler_config.json", "beta_end", 1.5))
    model("config not JSON", replace("unet/config.json", b"{ not json"))
    def cut_weights(copy: Path) -> Path:
        path = copy / "unet" / "diffusion_pytorch_model.safetensors"
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        return path

    def remove_weights(copy: Path) -> Path:
        (copy / "unet" / "diffusion_pytorch_model.safetensors").unlink()
        return copy / "unet"

    model("UNet weights cut in half", cut_weights)
    model("UNet weights missing", remove_weights)
    model("merges.txt not UTF-8", replace("tokenizer/merges.txt", b"\xff\xfe\x00\xc3\x28"))
    model("vocab.json a list", replace("tokenizer/vocab.json", b"[1, 2, 3]"))
    model("a NaN text-encoder weight", nan_weight)
    return out


def main() -> int:
    markdown = "--markdown" in sys.argv
    folder = Path(tempfile.mkdtemp(prefix="gradti-corrupt-"))
    catalogue = cases(folder)
    km, kc = start()
    failures = 0
    rows = []
    try:
        content = run(kc, "load")
        assert content["status"] == "ok", content
        for kind, what, cell, named in catalogue:
            content = run(kc, cell, timeout=60)
            if not km.is_alive():
                print(f"FAIL: the kernel died on {kind}: {what}")
                return 1
            message = content.get("evalue", "") if content["status"] == "error" else ""
            ok = content["status"] == "error" and (named.name in message or str(named) in message)
            if not ok:
                failures += 1
                print(f"FAIL: {kind}: {what}: {content['status']}: {message}")
            first = message.replace(str(folder) + "/", "").split("\n")[0]
            rows.append((kind, what, first if len(first) < 220 else first[:217] + "..."))
            if kind == "model folder":
                run(kc, "load")  # Back to the working model for the next case.
        # The session still works after all of them.
        assert run(kc, f'concept teapot from "{IMAGES}" init=pot')["status"] == "ok"
        assert run(kc, "step 1")["status"] == "ok"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        shutil.rmtree(folder, ignore_errors=True)
    if markdown:
        print("| file | what is wrong | the error (first line) |\n|---|---|---|")
        for kind, what, message in rows:
            print(f"| {kind} | {what} | {message.replace('|', '/')} |")
    else:
        for kind, what, message in rows:
            print(f"{kind:13} {what:40} {message}")
    print(f"\ncorrupt files: {len(rows)} cases, {failures} failure(s) (a cell that succeeded, or an error not naming the file)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
