"""Scenarios the sandbox plays while it serves (tests and the demo call them).

- **Names.** The demo persons go by made-up names (:data:`DEMO_NAMES`, all fictional).
  :func:`publish_named` publishes two items: one whose title carries a homophone of the
  person's name over a picture with no face at all, and one whose cast credits the
  person by name over a picture derived from the person's photo (their ground truth says
  which).
- **Re-uploads.** After a complaint the platform takes an item down
  (``SandboxServer.take_down``: 404 from then on); :func:`reupload` publishes a
  re-encoded copy of it under a new id, by another uploader, as copies reappear: the
  thumbnail scaled by 97% and saved at JPEG quality 70, the clip decoded and encoded again
  at 600x338 with another quality and keyframe interval.

Added items live in the server's memory only; the generated catalogue is not changed.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
from typing import Any

from PIL import Image

from sandbox.server import SandboxServer

# Made-up names (display name, romanised alias) and a homophone of each display name:
# every character read the same, none of them the person's.
DEMO_NAMES: dict[str, tuple[str, str]] = {
    "demo-a": ("苏念晴", "Su Nianqing"),
    "demo-b": ("顾云深", "Gu Yunshen"),
    "demo-c": ("沈星禾", "Shen Xinghe"),
}
HOMOPHONES = {"demo-a": "酥年情", "demo-b": "古芸申", "demo-c": "审醒合"}
_ids = itertools.count(1)


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _item(item_id: str, title: str, uploader: tuple[str, str], *, cast: list[dict[str, str]],
          tags: list[str], video: bool = False, duration: float | None = None
          ) -> dict[str, Any]:
    return {"id": item_id, "kind": "short", "title": title,
            "description": "全网首发，记得点赞关注！ #" + " #".join(tags),
            "uploader": {"id": uploader[0], "name": uploader[1]}, "tags": tags,
            "publishedAt": _now(), "viewCount": 1234,
            "thumbnailUrl": f"/media/thumb/{item_id}.jpg",
            "videoUrl": f"/media/video/{item_id}.mp4" if video else None,
            "duration": duration if video else None, "series": None, "cast": cast}


def _generated(server: SandboxServer) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(id, ground truth, media plan) of the published items the generator made."""
    cat = server.catalogue
    return [(str(it["id"]), cat.truth[it["id"]], cat.plans[it["id"]])
            for it in server.published() if it["id"] in cat.truth]


def faceless_item(server: SandboxServer) -> str:
    """A published item whose thumbnail is a synthetic scene: no face of anyone."""
    for item_id, truth, plan in _generated(server):
        if truth["person"] is None and plan["thumbnail"]["type"] == "synthetic":
            return item_id
    raise LookupError("no faceless item published")


def person_item(server: SandboxServer, person: str, transform: str | None = None) -> str:
    """A published item whose thumbnail derives from ``person``'s photo (newest first),
    optionally made with ``transform`` (sandbox.catalog.TRANSFORMS)."""
    for item_id, truth, _plan in reversed(_generated(server)):
        if truth["person"] == person and truth["in_thumbnail"] and (
                transform is None or truth["transform"] == transform):
            return str(item_id)
    raise LookupError(f"no published item shows {person} ({transform or 'any'})")


def publish_named(server: SandboxServer, person: str, *, face_from: str | None = None
                  ) -> dict[str, str]:
    """Publish the two name items of ``person``; returns ``{"homophone": id, "face_and_name":
    id}``. ``face_from``: the item whose thumbnail the second one reuses (default: the
    newest item derived from the person)."""
    name, _alias = DEMO_NAMES[person]
    n = next(_ids)
    plain = server.media_bytes(faceless_item(server), "thumb")
    source = face_from or person_item(server, person)
    face = server.media_bytes(source, "thumb")
    if plain is None or face is None:
        raise LookupError("the scenario's thumbnails are not rendered")
    homophone = server.add_item(_item(
        f"n{n:04d}h", f"《替身新娘》{HOMOPHONES[person]}特别出演｜看到最后", ("u9001", "剧好看"),
        cast=[], tags=["短剧", "甜宠"]), plain)
    both = server.add_item(_item(
        f"n{n:04d}f", "豪门千金归来 第1集", ("u9002", "追剧小馆"),
        cast=[{"name": name, "role": "女主"}], tags=["短剧", "逆袭"]), face)
    return {"homophone": homophone, "face_and_name": both}


def _reencode_thumbnail(data: bytes) -> bytes:
    """What a re-uploader's tools do to a picture: scaled by 97%, saved at quality 70."""
    img = Image.open(io.BytesIO(data)).convert("RGB")
    img = img.resize((round(img.width * 0.97), round(img.height * 0.97)),
                     Image.Resampling.BICUBIC)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=70)
    return out.getvalue()


def _reencode_video(data: bytes, size: tuple[int, int] = (600, 338)) -> bytes:
    """The clip decoded and encoded again (H.264, another size, quality and GOP)."""
    import av

    out = io.BytesIO()
    with av.open(io.BytesIO(data), "r") as src, av.open(out, "w", format="mp4") as dst:
        vin = src.streams.video[0]
        rate = vin.average_rate or 25
        vout = dst.add_stream("libx264", rate=rate)
        vout.width, vout.height = size
        vout.pix_fmt = "yuv420p"
        vout.options = {"crf": "30", "g": "17"}
        for frame in src.decode(vin):
            img = frame.to_image().resize(  # type: ignore[no-untyped-call]
                size, Image.Resampling.BILINEAR)
            video_frame = av.VideoFrame.from_image(img)  # type: ignore[no-untyped-call]
            for packet in vout.encode(video_frame):
                dst.mux(packet)
        for packet in vout.encode():
            dst.mux(packet)
    return out.getvalue()


def reupload(server: SandboxServer, item_id: str, *, uploader: tuple[str, str] = (
        "u9100", "好剧搬运工")) -> str:
    """Publish a re-encoded copy of ``item_id`` (taken down or not) under a new id, by
    another uploader, with a new title; returns the new id."""
    original = next((it for it in server.items if it["id"] == item_id), None)
    thumb = server.media_bytes(item_id, "thumb")
    if original is None or thumb is None:
        raise LookupError(f"no item {item_id} with a thumbnail")
    video = server.media_bytes(item_id, "video") if original.get("videoUrl") else None
    new_id = f"r{next(_ids):04d}"
    item = _item(new_id, f"{original['title']}（高清重制）", uploader,
                 cast=list(original.get("cast") or []), tags=list(original.get("tags") or []),
                 video=video is not None, duration=original.get("duration"))
    return server.add_item(item, _reencode_thumbnail(thumb),
                           _reencode_video(video) if video is not None else None)
