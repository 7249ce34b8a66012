"""Pictures the signal tests share: committed face photos and Meta's PDQ test photos."""

from __future__ import annotations

import functools
from pathlib import Path

from PIL import Image

from matchers.images import ImageInput
from tests.conftest import REPO, SHARED_DATA

FACES = REPO / "sandbox" / "assets" / "faces"
PDQ_DATA = SHARED_DATA / "pdq"


def face(name: str) -> Path:
    """``sandbox/assets/faces/<name>.jpg``."""
    return FACES / f"{name}.jpg"


def load(path: Path) -> Image.Image:
    """The picture at ``path`` as RGB (fails the test if the shared data is missing)."""
    assert path.is_file(), f"test picture missing: {path}"
    with Image.open(path) as img:
        return img.convert("RGB")


def scene(name: str) -> Image.Image:
    """One of Meta's PDQ test photos (``../shared/data/pdq/<name>``)."""
    return load(PDQ_DATA / name)


def framed(photo: Image.Image, size: tuple[int, int] = (640, 360),
           background: str = "bridge-mods/aaa-orig.jpg", x: int = 170,
           height: int = 300) -> Image.Image:
    """``photo`` pasted, ``height`` px tall (at most 83% of the frame), into a scene."""
    bg = scene(background).resize(size, Image.Resampling.BILINEAR)
    height = min(height, int(size[1] * 0.83))
    small = photo.resize((photo.width * height // photo.height, height), Image.Resampling.BILINEAR)
    bg.paste(small, (x, (size[1] - height) // 2))
    return bg


@functools.cache
def face_input(name: str) -> ImageInput:
    """A committed face photo as one shared ``ImageInput``: its faces are detected once a run."""
    return ImageInput.from_path(face(name))


# The ten people with two different photos (sandbox/assets/faces/README.md).
PAIRS = ["A000370", "B001295", "D000615", "D000623", "L000583", "M001190", "M001196",
         "S001191", "S001195", "T000468"]
