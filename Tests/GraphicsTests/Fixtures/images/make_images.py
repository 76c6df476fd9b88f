"""Writes the image-decoding fixtures of GraphicsTests with Pillow, and what Pillow decodes from them.

Run in an environment with Pillow (tested with Pillow 13, its bundled libjpeg-turbo 3.2 and libwebp 1.6):

    python make_images.py

For each file `NAME.EXT` it writes `NAME.rgba` (the upright image as Pillow reads it, RGBA bytes) and lists
all of them with their sizes in `manifest.json`.
"""
import io, json, pathlib
from PIL import Image, ImageOps

here = pathlib.Path(__file__).parent

def scene(w=23, h=14):
    """A small picture with edges, gradients and colour, so that chroma and orientation mistakes show."""
    im = Image.new("RGB", (w, h))
    px = im.load()
    for y in range(h):
        for x in range(w):
            px[x, y] = ((x * 11) % 256, (y * 17) % 256, 255 if (x // 4 + y // 3) % 2 else 40)
    return im

manifest = []

def save(name, data, note):
    (here / name).write_bytes(data)
    with Image.open(io.BytesIO(data)) as im:
        upright = ImageOps.exif_transpose(im)
        if upright.mode == "CMYK":
            upright = upright.convert("RGB")
        rgba = upright.convert("RGBA")
        (here / (pathlib.Path(name).stem + ".rgba")).write_bytes(rgba.tobytes())
        manifest.append({"file": name, "width": rgba.width, "height": rgba.height, "note": note})

def jpeg(im, **options):
    out = io.BytesIO()
    im.save(out, "JPEG", quality=92, **options)
    return out.getvalue()

base = scene()
save("baseline-420.jpg", jpeg(base, subsampling="4:2:0"), "baseline, 4:2:0")
save("progressive-422.jpg", jpeg(base, subsampling="4:2:2", progressive=True), "progressive, 4:2:2")
save("baseline-444.jpg", jpeg(base, subsampling="4:4:4"), "baseline, 4:4:4")
save("gray.jpg", jpeg(base.convert("L")), "grayscale")
save("cmyk-adobe.jpg", jpeg(base.convert("CMYK")), "CMYK, Adobe's inverted convention")
save("rgb-no-ycbcr.jpg", jpeg(base, keep_rgb=True, subsampling="4:4:4"), "RGB stored without YCbCr")
for orientation in range(1, 9):
    exif = Image.Exif()
    exif[0x0112] = orientation
    save(f"orientation-{orientation}.jpg", jpeg(base, exif=exif.tobytes()), f"EXIF orientation {orientation}")

alpha = base.convert("RGBA")
alpha.putalpha(Image.linear_gradient("L").resize(base.size))
out = io.BytesIO(); alpha.save(out, "WEBP", lossless=True); save("lossless-alpha.webp", out.getvalue(), "lossless, alpha")
out = io.BytesIO(); base.save(out, "WEBP", quality=80); save("lossy.webp", out.getvalue(), "lossy")
exif = Image.Exif(); exif[0x0112] = 6
out = io.BytesIO(); base.save(out, "WEBP", lossless=True, exif=exif.tobytes())
save("exif-6.webp", out.getvalue(), "lossless, EXIF orientation 6")

# Preparation as diffusers' textual_inversion.py does it with center_crop: numpy's centre square, then
# Pillow's bicubic resize (antialiased when shrinking), for a scene of 96x64.
import numpy as np
big = scene(96, 64)
out = io.BytesIO(); big.save(out, "PNG"); (here / "scene-96x64.png").write_bytes(out.getvalue())
pixels = np.array(big).astype(np.uint8)
crop = min(pixels.shape[0], pixels.shape[1])
h, w = pixels.shape[:2]
square = Image.fromarray(pixels[(h - crop) // 2:(h + crop) // 2, (w - crop) // 2:(w + crop) // 2])
for size in (32, 20, 100):
    resized = square.resize((size, size), resample=Image.Resampling.BICUBIC).convert("RGBA")
    (here / f"prepared-{size}.rgba").write_bytes(resized.tobytes())

# A JPEG cut short, and files gradti does not read.
(here / "truncated.jpg").write_bytes(jpeg(base)[:300])
out = io.BytesIO(); base.save(out, "GIF"); (here / "picture.gif").write_bytes(out.getvalue())
(here / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
print(f"wrote {len(manifest)} images and their decodings")
