#!/usr/bin/env python3
"""Writes the committed seed corpora of Tests/fuzz/corpus/ from the repository's own files.

    .venv/bin/python Tests/fuzz/make_seeds.py [--sessions DIR]

Every seed comes from a real input or is one small step from one: the fixtures' PNGs and
safetensors, the embedded model's configs, notebook cells and help examples, jupyter_client's own
wire frames (when jupyter_client is importable), files gradti itself saved. Only the Python
standard library (and jupyter_client, optionally) is used. Session and embedding files that gradti
saved are taken from DIR (default: the ones already in the corpus): Tests/fuzz/README.md lists
the cells that made them. Re-running replaces the seed folders' generated files, not files
added by hand or merged in by `run.sh --merge`.
"""
import argparse
import glob
import json
import math
import os
import re
import struct
import tempfile
import zlib

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORPUS = os.path.join(ROOT, "Tests", "fuzz", "corpus")
KEY = "a0436f6c-1916-498b-8eb9-e81ab9368e84"  # the harness's key (Tests/JupyterTests/Fixtures/signatures.json)


def put(harness, name, data):
    folder = os.path.join(CORPUS, harness)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def read(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        return f.read()


# --- safetensors ------------------------------------------------------------------------------

def safetensors(tensors, metadata=None, pad=True):
    """tensors: [(name, dtype, shape, bytes)] → file bytes, as the reference writer lays them out."""
    header, blobs, offset = {}, [], 0
    for name, dtype, shape, blob in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    while pad and len(text) % 8:
        text += b" "
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def parse_safetensors(data):
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    metadata = header.pop("__metadata__", None)
    body = data[8 + n:]
    tensors = sorted(((k, v["dtype"], v["shape"], body[v["data_offsets"][0]:v["data_offsets"][1]]) for k, v in header.items()),
                     key=lambda t: header[t[0]]["data_offsets"][0])
    return tensors, metadata


def f32(values):
    return struct.pack("<%df" % len(values), *values)


def f16(values):
    return struct.pack("<%de" % len(values), *values)


def bf16(values):
    return b"".join(struct.pack("<f", v)[2:] for v in values)


# --- PNG --------------------------------------------------------------------------------------

def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png(width, height, depth, color, rows, extra=(), interlace=0):
    """rows: raw scanlines (bytes without filter bytes) of the whole image, or of each Adam7 pass."""
    raw = b"".join(b"\x00" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, interlace))
            + b"".join(chunk(k, v) for k, v in extra) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def adam7_rows(width, height, pixel):
    """8-bit greyscale scanlines of each Adam7 pass for pixel(x, y)."""
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    rows = []
    for x0, y0, dx, dy in passes:
        xs = range(x0, width, dx)
        if not xs:
            continue
        for y in range(y0, height, dy):
            rows.append(bytes(pixel(x, y) for x in xs))
    return rows


# --- the seeds ----------------------------------------------------------------------------------

def wire_seeds():
    sep = b"\xff"

    def frames(parts, mode=0, identities=(b"client-1",)):
        return bytes([mode]) + sep.join(list(identities) + [b"<IDS|MSG>"] + parts)

    cases = json.loads(read("Tests/JupyterTests/Fixtures/signatures.json"))
    for i, case in enumerate(cases):
        parts = [case[k].encode() for k in ("header", "parent_header", "metadata", "content")]
        if case["key"] == KEY:
            mode = 0          # its real signature is right for the harness's key
        elif case["key"] == "":
            mode = 2          # signing disabled
        else:
            mode = 1          # re-signed with the harness's key
        put("wire", "fixture-%d" % i, frames([case["signature"].encode()] + parts, mode))
        put("wire", "fixture-%d-history" % i, frames([case["signature"].encode()] + parts, mode | 4))
    try:
        from jupyter_client.session import Session
    except ImportError:
        print("jupyter_client is not importable: the wire corpus keeps the fixture cases only")
        return
    session = Session(key=KEY.encode(), username="tester", session="fuzz-session")
    messages = [
        ("execute_request", {"code": "print \"hello\"\nhelp show", "silent": False, "store_history": True,
                             "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}),
        ("complete_request", {"code": "strategy hi", "cursor_pos": 11}),
        ("inspect_request", {"code": "step 200 stop=dvar", "cursor_pos": 3, "detail_level": 0}),
        ("is_complete_request", {"code": "print \"unfinished"}),
        ("kernel_info_request", {}),
        ("history_request", {"output": False, "raw": True, "hist_access_type": "tail", "n": 10}),
        ("comm_info_request", {"target_name": "jupyter.widget"}),
        ("shutdown_request", {"restart": False}),
        ("interrupt_request", {}),
        ("input_reply", {"value": "yes"}),
        ("comm_open", {"comm_id": "c-1", "target_name": "t", "data": {"x": [1, 2.5, None, True]}}),
    ]
    import datetime
    when = datetime.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=datetime.timezone.utc)

    def header(kind, n):  # fixed ids and dates, so the seeds do not change when regenerated
        h = session.msg_header(kind)
        h.update(msg_id="msg-%s-%04d" % (kind, n), date=when)
        return h

    for i, (kind, content) in enumerate(messages):
        parent = session.msg("execute_request", {"code": "version"}, header=header("execute_request", 100 + i)) if i % 3 == 0 else None
        msg = session.msg(kind, content, parent=parent["header"] if parent else None, header=header(kind, i),
                          metadata={"cellId": "cell-%d" % i})
        wire = session.serialize(msg, ident=[b"client-%d" % i])
        if kind == "comm_open":
            wire += [b"\x00\x01binary buffer\xfe"]
        put("wire", "client-%s" % kind, bytes([0]) + sep.join(wire))
        put("wire", "client-%s-replay" % kind, bytes([12]) + sep.join(wire))
    # Near misses: a forged signature, no delimiter, too few frames, unparsable or wrong-typed parts.
    msg = session.serialize(session.msg("kernel_info_request", {}, header=header("kernel_info_request", 99)), ident=[b"c"])
    forged = list(msg)
    forged[2] = b"0" * 64
    put("wire", "near-forged", bytes([0]) + sep.join(forged))
    put("wire", "near-no-delimiter", bytes([0]) + sep.join(msg[2:]))
    put("wire", "near-too-few", bytes([1]) + sep.join(msg[:5]))
    put("wire", "near-header-array", bytes([1]) + sep.join(msg[:3] + [b"[1,2]"] + msg[4:]))
    put("wire", "near-content-string", bytes([1]) + sep.join(msg[:6] + [b"\"text\""]))
    put("wire", "near-deep-json", bytes([1]) + sep.join(msg[:6] + [b"{\"a\":" * 40 + b"1" + b"}" * 40]))


def cell_seeds():
    cells = []
    for nb in sorted(glob.glob(os.path.join(ROOT, "notebooks", "*.ipynb"))):
        for cell in json.load(open(nb))["cells"]:
            if cell["cell_type"] == "code":
                cells.append("".join(cell["source"]))
    # Every command's examples, as the help shows them.
    for path in sorted(glob.glob(os.path.join(ROOT, "Sources", "Kernel", "Commands", "*.swift"))):
        text = open(path).read()
        for block in re.findall(r"examples: \[(.*?)\]\s*\)", text, re.S):
            for literal in re.findall(r'"((?:[^"\\]|\\.)*)"', block):
                cells.append(literal.encode().decode("unicode_escape"))
    # The README's sessions.
    readme = open(os.path.join(ROOT, "README.md")).read()
    cells += [m.strip() for m in re.findall(r"^In \[\d+\]: (.*)$", readme, re.M)]
    cells += [
        'print "tab\\there" "\\u{1F600}" "quote \\" inside"  # comment',
        'print "unfinished\nsecond line',
        'print "bad \\q escape"',
        "print a=",
        "=value",
        'concept x from "a b/*.png" init=toy kind=style vectors=2\nstep 10 stop=dvar window=5\n\nshow?',
        "step -1",
        "strategy range 450 350",
        "optimizer lr=1e400 batch=0",
        'print "x"y',
        "?help??",
        "\r\nprint crlf\r\nversion\r\n",
    ]
    seen = set()
    for i, cell in enumerate(c for c in cells if not (c in seen or seen.add(c))):
        put("cells", "cell-%03d" % i, cell)


def safetensors_seeds():
    put("safetensors", "python-written", read("Tests/NumericsTests/Fixtures/python-written.safetensors"))
    put("safetensors", "all-dtypes", safetensors([
        ("a.f32", "F32", [2, 2], f32([0.5, -1, 3.25, 1e-3])),
        ("b.f16", "F16", [3], f16([1, -2, 65504])),
        ("c.bf16", "BF16", [1, 2], bf16([1.5, -0.25])),
        ("d.f64", "F64", [2], struct.pack("<2d", math.pi, -0.0)),
        ("e.i64", "I64", [2], struct.pack("<2q", 7, -(2 ** 62))),
        ("f.i32", "I32", [1, 1, 1], struct.pack("<i", -5)),
        ("g.empty", "F32", [0, 4], b""),
        ("h.scalar", "F32", [], f32([42])),
    ], metadata={"format": "pt", "note": "seed"}))
    put("safetensors", "unaligned-f32", safetensors([("x", "F32", [3], f32([1, 2, 3]))], pad=False))
    put("safetensors", "header-only", safetensors([], metadata={"k": "v"}))
    # The embedded model's text encoder: its real header, with the data cut (refused as truncated).
    real = read("models/gradti-emoji/text_encoder/model.safetensors")
    n = struct.unpack("<Q", real[:8])[0]
    put("safetensors", "real-header-truncated", real[:8 + n + 64])
    # Near misses: overlapping tensors, offsets past the end, a shape that overflows, a bad length.
    overlap = json.dumps({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                          "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}).encode()
    put("safetensors", "near-overlap", struct.pack("<Q", len(overlap)) + overlap + bytes(12))
    put("safetensors", "near-huge-shape", safetensors([("big", "F32", [2 ** 40], b"")]))
    put("safetensors", "near-length", b"\xff" * 8 + b"{}")


def png_seeds():
    for path in sorted(glob.glob(os.path.join(ROOT, "Tests", "NumericsTests", "Fixtures", "png", "*.png"))):
        put("png", "fixture-" + os.path.basename(path), read(path))
    put("png", "logo-32x32.png", read("kernelspec/logo-32x32.png"))
    put("png", "interlaced-gray8.png", png(5, 5, 8, 0, adam7_rows(5, 5, lambda x, y: 40 * x + 7 * y), interlace=1))
    put("png", "gray16.png", png(2, 2, 16, 0, [b"\x00\x10\xff\xff", b"\x80\x00\x12\x34"]))
    put("png", "gray8-trns.png", png(3, 1, 8, 0, [b"\x00\x80\xff"], extra=[(b"tRNS", b"\x00\x80")]))
    put("png", "palette1-trns.png", png(8, 1, 1, 3, [b"\xa5"], extra=[(b"PLTE", b"\xff\x00\x00\x00\x00\xff"), (b"tRNS", b"\x00")]))
    put("png", "rgba16.png", png(1, 1, 16, 6, [b"\x12\x34\x56\x78\x9a\xbc\xde\xf0"]))
    put("png", "ancillary.png", png(1, 1, 8, 2, [b"\x01\x02\x03"], extra=[
        (b"gAMA", struct.pack(">I", 45455)), (b"sRGB", b"\x00"), (b"tEXt", b"Comment\x00seed"), (b"pHYs", bytes(9))]))
    put("png", "near-wide.png", png(16385, 1, 1, 0, [bytes(2049)]))
    put("png", "near-bad-crc.png", png(1, 1, 8, 0, [b"\x00"])[:-5] + b"\x00\x00\x00\x00\x00")


def tokenizer_seeds():
    cases = json.loads(read("Tests/DiffusionTests/Fixtures/tokenizer-cases.json"))["cases"]
    texts = [c["text"] for c in cases]
    templates = open(os.path.join(ROOT, "Sources", "Inversion", "Templates.swift")).read()
    texts += [t.replace("{}", "<S*>") for t in re.findall(r'"([^"\\]*\{\}[^"\\]*)"', templates)][:20]
    texts += ["<|startoftext|>a photo of <S*><|endoftext|>", "<S*><S*> ÉLAN café naïve", "an emoji 🐱‍👤 of a 猫, don't won't",
              "x" * 300, " ".join(["word"] * 90), "\u0000\t\r\n\u200b\ufeff", "&amp; &lt;tag&gt; ’quotes’ “double”"]
    for i, text in enumerate(dict.fromkeys(texts)):
        put("tokenizer", "text-%03d" % i, text)


def config_seeds():
    paths = sorted(set(glob.glob(os.path.join(ROOT, "models", "gradti-emoji", "*", "*config.json"))
                       + glob.glob(os.path.join(ROOT, "models", "gradti-emoji", "model_index.json"))
                       + glob.glob(os.path.join(ROOT, "Tests", "DiffusionTests", "Fixtures", "**", "*config.json"), recursive=True)))
    for path in paths:
        rel = os.path.relpath(path, ROOT)
        put("config", rel.replace("/", "_"), read(rel))
    scheduler = json.loads(read("models/gradti-emoji/scheduler/scheduler_config.json"))
    # (A trailing-spacing schedule is not a seed: its DDIM timesteps are wrong, Tests/fuzz/crashes/config.)
    put("config", "scheduler-linspace.json", json.dumps(dict(scheduler, timestep_spacing="linspace", num_train_timesteps=997)))
    put("config", "scheduler-cosine.json", json.dumps(dict(scheduler, beta_schedule="squaredcos_cap_v2", prediction_type="v_prediction")))
    put("config", "near-zero-heads.json", json.dumps({"vocab_size": 10, "hidden_size": 8, "intermediate_size": 8,
                                                       "num_attention_heads": 0, "num_hidden_layers": 1, "patch_size": 0,
                                                       "image_size": 8, "projection_dim": 4}))


def embedding_seeds(sessions):
    vectors = [math.sin(i) for i in range(128)]
    for path in sorted(glob.glob(os.path.join(sessions, "embedding*.safetensors"))):
        put("embedding", os.path.basename(path), open(path, "rb").read())
    put("embedding", "emb_params", safetensors([("emb_params", "F32", [2, 128], f32(vectors * 2))]))
    put("embedding", "sdxl", safetensors([("clip_g", "F32", [1, 1280], f32([0.0] * 1280)), ("clip_l", "F32", [1, 128], f32(vectors))]))
    put("embedding", "one-row", safetensors([("<cat-toy>", "F32", [128], f32(vectors))]))
    put("embedding", "f16", safetensors([("<half>", "F16", [1, 128], f16(vectors))]))
    put("embedding", "near-76-rows", safetensors([("<many>", "F32", [76, 128], f32(vectors * 76))]))
    put("embedding", "near-nan", safetensors([("<nan>", "F32", [1, 128], f32([float("nan")] + vectors[1:]))]))
    put("embedding", "near-blank-name", safetensors([(" ", "F32", [1, 128], f32(vectors))]))
    put("embedding", "near-width-32", safetensors([("<tiny>", "F32", [1, 32], f32(vectors[:32]))]))


def session_seeds(sessions):
    for path in sorted(glob.glob(os.path.join(sessions, "session-*.safetensors"))):
        name = os.path.basename(path)
        if name.startswith("session-format2"):
            continue
        data = open(path, "rb").read()
        put("session", name, data)
        # Format 2 has no checksum, so mutations reach every check after it; 4x4 images keep it small.
        tensors, metadata = parse_safetensors(data)
        metadata = dict(metadata, format="gradti-session-2")
        metadata.pop("gradti.checksum", None)
        small = []
        for tname, dtype, shape, blob in tensors:
            if tname == "concept.images":
                k = shape[0]
                shape = [k, 3, 4, 4]
                blob = f32([0.25 + 0.5 * ((i // 7) % 2) for i in range(k * 48)])
            small.append((tname, dtype, shape, blob))
        put("session", "format2-" + name, safetensors(small, metadata))


# --- dictionaries (libFuzzer -dict) -------------------------------------------------------------

def dictionaries():
    """Words the parsers compare against, so mutations can insert them whole."""
    folder = os.path.join(ROOT, "Tests", "fuzz", "dictionaries")
    os.makedirs(folder, exist_ok=True)

    def write(name, words):
        def quote(w):
            b = w.encode() if isinstance(w, str) else w
            return '"' + "".join(chr(c) if 32 <= c < 127 and c not in (34, 92) else "\\x%02x" % c for c in b) + '"'
        with open(os.path.join(folder, name + ".dict"), "w") as f:
            f.write("# Generated by Tests/fuzz/make_seeds.py\n")
            for w in dict.fromkeys(words):
                f.write(quote(w) + "\n")

    kernel = "".join(open(p).read() for p in glob.glob(os.path.join(ROOT, "Sources", "Kernel", "**", "*.swift"), recursive=True))
    names = re.findall(r'CommandSpec\(\s*"([a-z?-]+)"', kernel)
    options = re.findall(r'OptionSpec\(\s*"([A-Za-z_-]+)"', kernel)
    choices = [c for block in re.findall(r"\.(?:choice|keyword)\(\[?([^])]*)", kernel) for c in re.findall(r'"([^"]+)"', block)]
    write("cells", names + [o + "=" for o in options] + choices + ['"', "\\u{", "\\n", "\\\"", "#", "?", "=", "<S*>", "*.png"])

    json_words = ["{", "}", "[", "]", ":", ",", "null", "true", "false", "-0", "1e400", "9007199254740993", "\\u0000", "\\ud800"]
    write("wire", ["<IDS|MSG>", b"\xff", "\"msg_id\"", "\"msg_type\"", "\"session\"", "\"username\"", "\"date\"",
                   "\"version\"", "\"5.3\"", "\"execute_request\"", "\"code\"", "\"content\""] + json_words)
    st = ["\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"__metadata__\"", "\"F32\"", "\"F16\"", "\"BF16\"", "\"F64\"",
          "\"I64\"", "\"I32\"", "4611686018427387904", "9223372036854775807", "-1", "0"] + json_words
    write("safetensors", st)
    write("embedding", st + ["\"emb_params\"", "\"clip_l\"", "\"clip_g\"", "128", "[1,128]", "75", "76"])
    inversion = open(os.path.join(ROOT, "Sources", "Inversion", "SessionFileReader.swift")).read()
    keys = re.findall(r'"([a-z]+(?:\.[a-z]+)+)"', inversion) + ["format", "settings", "strategy", "step"]
    write("session", st + ['"%s"' % k for k in keys] + ["gradti-session-2", "gradti-session-3", "\"gradti.checksum\"",
                      "object", "style", "captions", "uniform", "range", "single", "adaptive", "highgrad", "{}", "1000",
                      "gradti-session-5", "gradti-session-6", "\"crop\"", "\"random\"", "\"flip\"", "\"resolution\"", "\"kept\"", "\"kept.0\""])
    diffusion = "".join(open(p).read() for p in glob.glob(os.path.join(ROOT, "Sources", "Diffusion", "**", "*.swift"), recursive=True))
    config_keys = re.findall(r'(?:int|double|bool|string|choice|ints|intOrInts|strings|requireDefault)\("([a-z_0-9]+)"', diffusion)
    config_values = [v for block in re.findall(r"choice\(\"[a-z_]+\", \[([^]]*)\]", diffusion) for v in re.findall(r'"([^"]+)"', block)]
    write("config", ['"%s"' % k for k in config_keys] + ['"%s"' % v for v in config_values]
          + ["\"CrossAttnDownBlock2D\"", "\"DownBlock2D\"", "\"CrossAttnUpBlock2D\"", "\"UpBlock2D\"", "\"DownEncoderBlock2D\"",
             "\"UpDecoderBlock2D\"", "\"UNetMidBlock2DCrossAttn\"", "100000", "0.999999", "1e-12"] + json_words)
    write("png", [b"IHDR", b"IDAT", b"IEND", b"PLTE", b"tRNS", b"gAMA", b"sRGB", b"iCCP", b"cHRM", b"sBIT", b"bKGD", b"hIST",
                  b"pHYs", b"tEXt", b"zTXt", b"iTXt", b"tIME", b"sPLT", b"eXIf", b"acTL", b"fcTL", b"fdAT",
                  b"\x89PNG\r\n\x1a\n", b"\x00\x00\x40\x00", b"\x00\x00\x40\x01", b"\x78\x9c", b"\x78\xda"])
    write("tokenizer", ["<|startoftext|>", "<|endoftext|>", "<S*>", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "</w>",
                        "\u200b", "\ufeff", "\u00e9", "e\u0301", "\U0001F431", "&amp;", "\u2019"])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", default=None, help="folder with session-*.safetensors and embedding*.safetensors saved by gradti")
    args = parser.parse_args()
    sessions = args.sessions
    if sessions is None:
        # Default: the gradti-saved files already committed (format 3 sessions, embeddings).
        sessions = tempfile.mkdtemp(prefix="gradti-seeds-")
        for path in glob.glob(os.path.join(CORPUS, "session", "session-*.safetensors")):
            open(os.path.join(sessions, os.path.basename(path)), "wb").write(open(path, "rb").read())
        for path in glob.glob(os.path.join(CORPUS, "embedding", "embedding*.safetensors")):
            open(os.path.join(sessions, os.path.basename(path)), "wb").write(open(path, "rb").read())
    wire_seeds()
    cell_seeds()
    safetensors_seeds()
    png_seeds()
    tokenizer_seeds()
    config_seeds()
    embedding_seeds(sessions)
    session_seeds(sessions)
    dictionaries()
    if args.sessions is None:
        for path in glob.glob(os.path.join(sessions, "*")):
            os.remove(path)
        os.rmdir(sessions)
    for harness in sorted(os.listdir(CORPUS)):
        files = os.listdir(os.path.join(CORPUS, harness))
        size = sum(os.path.getsize(os.path.join(CORPUS, harness, f)) for f in files)
        print("%-12s %3d seeds, %7d bytes" % (harness, len(files), size))


if __name__ == "__main__":
    main()
