"""Rendering the sandbox's pictures: synthetic scenes and (transformed) face photos.

A *scene* is a dict from a media plan (see `sandbox.catalog`): ``synthetic`` (gradient,
shapes and a caption), ``photo`` (a face photo composed into a 16:9 frame, with a
transform) or ``faceswap`` (a composite made by `sandbox.faceswap`, then composed).
Everything is drawn with Pillow and numpy from the scene's own seed, so it is
deterministic.
"""

from __future__ import annotations

import io
import random
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from sandbox import faceswap
from sandbox.catalog import FACES_DIR

WIDTH, HEIGHT = 640, 360
FONT_DIRS = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/truetype/noto"),
             Path("/usr/share/fonts/opentype"), Path("/usr/share/fonts"))
FontType = ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=1)
def cjk_font_path() -> Path | None:
    """The Noto Sans CJK font file (from fonts-noto-cjk), or None when it is absent."""
    for d in FONT_DIRS:
        if d.is_dir():
            for name in ("NotoSansCJK-Regular.ttc", "NotoSansCJK-Bold.ttc",
                         "NotoSansCJKsc-Regular.otf", "NotoSerifCJK-Regular.ttc"):
                found = sorted(d.rglob(name))
                if found:
                    return found[0]
    return None


@lru_cache(maxsize=16)
def font(size: int) -> FontType:
    """A CJK-capable font at `size` px; Pillow's default font when Noto CJK is absent."""
    path = cjk_font_path()
    if path is not None:
        # Index 2 of the Noto CJK collection is Simplified Chinese; all cover the Han set.
        index = 2 if path.suffix == ".ttc" else 0
        return ImageFont.truetype(str(path), size, index=index)
    return ImageFont.load_default(size)


@lru_cache(maxsize=64)
def face_photo(name: str) -> Image.Image:
    """One of the bundled face photos, as RGB."""
    with Image.open(FACES_DIR / name) as im:
        return im.convert("RGB")


@lru_cache(maxsize=64)
def swapped(donor: str, target: str) -> Image.Image:
    """`donor`'s face blended onto `target`'s photo (cached: several items reuse pairs)."""
    return faceswap.swap(face_photo(donor), face_photo(target))


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return (rng.randrange(256), rng.randrange(256), rng.randrange(256))


def synthetic(seed: int, caption: str = "") -> Image.Image:
    """A made-up scene: a gradient, a few shapes and a caption."""
    rng = random.Random(seed)
    c1, c2 = np.array(_colour(rng), np.float32), np.array(_colour(rng), np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    ramp = (xx / WIDTH) * np.cos(angle) + (yy / HEIGHT) * np.sin(angle)
    ramp = (ramp - ramp.min()) / max(1e-6, float(ramp.max() - ramp.min()))
    arr = c1 + (c2 - c1) * ramp[..., None]
    image = Image.fromarray(arr.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(3, 8)):
        x, y = rng.randrange(WIDTH), rng.randrange(HEIGHT)
        w, h = rng.randint(30, 220), rng.randint(30, 200)
        shape = rng.choice(("ellipse", "rectangle", "polygon"))
        fill = _colour(rng)
        if shape == "ellipse":
            draw.ellipse((x, y, x + w, y + h), fill=fill)
        elif shape == "rectangle":
            draw.rectangle((x, y, x + w, y + h), fill=fill)
        else:
            pts = [(x + rng.randint(-w, w), y + rng.randint(-h, h)) for _ in range(rng.randint(3, 6))]
            draw.polygon(pts, fill=fill)
    if caption:
        size = rng.randint(28, 56)
        draw.text((rng.randint(10, 300), rng.randint(10, HEIGHT - size - 10)), caption,
                  font=font(size), fill=_colour(rng), stroke_width=2, stroke_fill=(0, 0, 0))
    return image


def subtitle_bar(image: Image.Image, text: str) -> Image.Image:
    """A dark bar with white Chinese text across the bottom 12% of the frame."""
    out = image.copy()
    bar_h = int(out.height * 0.12)
    overlay = Image.new("RGBA", out.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    draw.rectangle((0, out.height - bar_h, out.width, out.height), fill=(0, 0, 0, 170))
    f = font(int(bar_h * 0.7))
    box = draw.textbbox((0, 0), text, font=f)
    x = (out.width - (box[2] - box[0])) // 2
    y = out.height - bar_h + (bar_h - (box[3] - box[1])) // 2 - box[1]
    draw.text((x, y), text, font=f, fill=(255, 255, 255, 255))
    return Image.alpha_composite(out.convert("RGBA"), overlay).convert("RGB")


def recompress(image: Image.Image, quality: int = 12) -> Image.Image:
    """A JPEG round trip at low quality (blocking artefacts)."""
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    with Image.open(buf) as im:
        return im.convert("RGB")


def crop_sides(image: Image.Image, fraction: float) -> Image.Image:
    """Cut `fraction` of the width and height off each side."""
    dx, dy = int(image.width * fraction), int(image.height * fraction)
    return image.crop((dx, dy, image.width - dx, image.height - dy))


def pillarbox(photo: Image.Image, seed: int = 0) -> Image.Image:
    """A portrait photo over a blurred, darkened copy of itself (a re-upload's framing).

    The seed varies the scale (86-100% of the frame's height), the horizontal position
    and the background's brightness, so re-uploads of one photo are not byte-identical.
    """
    rng = random.Random(seed)
    bg = ImageOps.fit(photo, (WIDTH, HEIGHT)).filter(ImageFilter.GaussianBlur(18))
    dim = rng.uniform(0.45, 0.7)
    bg = Image.eval(bg, lambda v: int(v * dim))
    h = HEIGHT if seed == 0 else int(HEIGHT * rng.uniform(0.86, 1.0))
    fg = photo.resize((max(1, round(photo.width * h / photo.height)), h),
                      Image.Resampling.LANCZOS)
    slack = WIDTH - fg.width
    x = slack // 2 if seed == 0 else int(slack * rng.uniform(0.3, 0.7))
    bg.paste(fg, (x, HEIGHT - h))
    return bg


def letterbox(photo: Image.Image, seed: int = 0) -> Image.Image:
    """The photo shrunk onto a black frame (bars on all sides), 70-85% of its height."""
    canvas = Image.new("RGB", (WIDTH, HEIGHT), (0, 0, 0))
    h = int(HEIGHT * (0.78 if seed == 0 else random.Random(seed).uniform(0.7, 0.85)))
    fg = photo.resize((max(1, round(photo.width * h / photo.height)), h), Image.Resampling.LANCZOS)
    canvas.paste(fg, ((WIDTH - fg.width) // 2, (HEIGHT - h) // 2))
    return canvas


def picture_in_picture(photo: Image.Image, seed: int) -> Image.Image:
    """The photo small, with a white border, in a corner of an unrelated scene."""
    rng = random.Random(seed)
    scene = synthetic(seed ^ 0x5A5A, "")
    h = rng.randint(130, 170)
    fg = photo.resize((max(1, round(photo.width * h / photo.height)), h), Image.Resampling.LANCZOS)
    fg = ImageOps.expand(fg, border=4, fill=(255, 255, 255))
    x = rng.choice((12, WIDTH - fg.width - 12))
    y = rng.choice((12, HEIGHT - fg.height - 12))
    scene.paste(fg, (x, y))
    return scene


def render(scene: dict[str, Any]) -> Image.Image:
    """The 640x360 picture a scene describes."""
    kind = scene["type"]
    if kind == "synthetic":
        return synthetic(scene["seed"], scene.get("caption", ""))
    if kind == "faceswap":
        photo = swapped(scene["file"], scene["target"])
    elif kind == "photo":
        photo = face_photo(scene["file"])
    else:
        raise ValueError(f"unknown scene type {kind!r}")
    transform = scene.get("transform", "none")
    seed = scene["seed"]
    if transform == "crop10":
        return pillarbox(crop_sides(photo, 0.10), seed)
    if transform == "crop20":
        return pillarbox(crop_sides(photo, 0.20), seed)
    if transform == "mirror":
        return pillarbox(ImageOps.mirror(photo), seed)
    if transform == "subtitle":
        return subtitle_bar(pillarbox(photo, seed), scene.get("subtitle", "字幕"))
    if transform == "recompress":
        return recompress(pillarbox(photo, seed))
    if transform == "pip":
        return picture_in_picture(photo, seed)
    if transform == "letterbox":
        return letterbox(photo, seed)
    return pillarbox(photo, seed)  # "none" and "faceswap"


def jpeg_bytes(image: Image.Image, quality: int = 85) -> bytes:
    """Baseline JPEG bytes of `image` (deterministic for the same pixels)."""
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality, optimize=False, progressive=False)
    return buf.getvalue()
