"""The ground truth is honest: dlib finds each demo person's face where it says so.

Uses dlib's HOG detector, 5-point landmarks and ResNet embedding directly (the model
files of `face_recognition_models`), independent of the project's matchers.
"""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path
from typing import Any

import av
import dlib
import numpy as np
import pytest
from PIL import Image

from sandbox.catalog import TRANSFORMS

SAME_PERSON = 0.45  # README: same-person pairs 0.20-0.53; transformed copies sit far lower


@pytest.fixture(scope="module")
def embed() -> Any:
    spec = importlib.util.find_spec("face_recognition_models")
    assert spec is not None and spec.origin is not None
    models = Path(spec.origin).parent / "models"
    detector = dlib.get_frontal_face_detector()
    shape = dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat"))
    net = dlib.face_recognition_model_v1(str(models / "dlib_face_recognition_resnet_model_v1.dat"))

    def faces(image: Image.Image) -> list[np.ndarray]:
        arr = np.asarray(image.convert("RGB"))
        return [np.array(net.compute_face_descriptor(arr, shape(arr, box)))
                for box in detector(arr, 1)]
    return faces


def test_derived_thumbnails_show_the_person(sandbox_data: Path, embed: Any) -> None:
    truth = json.loads((sandbox_data / "ground_truth.json").read_text(encoding="utf-8"))
    refs = {key: embed(Image.open(p["reference_files"][0]))[0]
            for key, p in truth["persons"].items()}
    checked = set()
    for item_id, entry in sorted(truth["items"].items()):
        if not entry["in_thumbnail"] or entry["transform"] in checked:
            continue
        checked.add(entry["transform"])
        found = embed(Image.open(sandbox_data / "media" / "thumb" / f"{item_id}.jpg"))
        assert found, (item_id, entry)
        dist = {key: min(float(np.linalg.norm(f - ref)) for f in found) for key, ref in refs.items()}
        assert min(dist, key=dist.__getitem__) == entry["person"], (item_id, entry, dist)
        assert dist[entry["person"]] < SAME_PERSON, (item_id, entry, dist)
    assert checked == set(TRANSFORMS)


def test_a_video_only_appearance_is_in_a_later_scene(sandbox_data: Path, embed: Any) -> None:
    truth = json.loads((sandbox_data / "ground_truth.json").read_text(encoding="utf-8"))
    plans = json.loads((sandbox_data / "catalog.json").read_text(encoding="utf-8"))["plans"]
    refs = {key: embed(Image.open(p["reference_files"][0]))[0]
            for key, p in truth["persons"].items()}
    item_id, entry = next((k, v) for k, v in sorted(truth["items"].items())
                          if v["in_video"] and not v["in_thumbnail"])
    starts = plans[item_id]["video"]["scene_starts"]
    data = (sandbox_data / "media" / "video" / f"{item_id}.mp4").read_bytes()
    per_scene: list[float] = []
    with av.open(io.BytesIO(data)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in starts:
                found = embed(frame.to_image())
                per_scene.append(min((float(np.linalg.norm(f - refs[entry["person"]]))
                                      for f in found), default=9.0))
    assert len(per_scene) == len(starts)
    assert per_scene[0] > SAME_PERSON  # the thumbnail scene does not show them
    scene = entry["video_scene"]
    assert per_scene[scene["index"]] < SAME_PERSON, (per_scene, scene)
    assert scene["start"] == starts[scene["index"]] / 12 < scene["end"]
