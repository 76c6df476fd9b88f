"""Makes data/photos/robot/: the benchmark's robot scenes as a user's photos come, for the quickstart.

Each 32x32 scene is enlarged (bicubic) and framed in a larger picture of its own background colour, so the
files have the sizes and shapes of photos (landscape, portrait, square; 300 to 640 pixels), and saved as
JPEG: baseline 4:2:0, progressive, 4:4:4, and one stored sideways with EXIF orientation 6, as a phone
writes a portrait photo. Their captions are written as for kohya's trainer, naming the subject by its word
("a robot on a blue background, …") rather than with gradti's {}.

    python data/photos/make_photos.py      (Pillow)
"""
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent
SOURCE = ROOT.parent / "emoji-benchmark" / "robot"
OUT = ROOT / "robot"

# (frame width, frame height, scene side, JPEG options)
FRAMES = [
    (512, 384, 352, dict(quality=90, subsampling="4:2:0")),
    (384, 512, 352, dict(quality=92, progressive=True)),
    (640, 480, 448, dict(quality=88, subsampling="4:4:4")),
    (400, 400, 384, dict(quality=90)),
    (480, 360, 320, dict(quality=85, subsampling="4:2:0")),
]


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for index, (width, height, side, options) in enumerate(FRAMES):
        scene = Image.open(SOURCE / f"{index}.png").convert("RGB")
        background = scene.getpixel((0, 0))
        photo = Image.new("RGB", (width, height), background)
        photo.paste(scene.resize((side, side), Image.Resampling.BICUBIC), ((width - side) // 2, (height - side) // 2))
        name = OUT / f"IMG_{2041 + index}.jpg"
        caption = (SOURCE / f"{index}.txt").read_text().replace("{}", "robot")
        name.with_suffix(".txt").write_text(caption)
        if index == 1:
            # Stored turned 90° anticlockwise, with the tag that says "turn clockwise to view" (6).
            exif = Image.Exif()
            exif[0x0112] = 6
            photo.transpose(Image.Transpose.ROTATE_90).save(name, exif=exif, **options)
        else:
            photo.save(name, **options)


if __name__ == "__main__":
    main()
