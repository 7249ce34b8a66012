"""C2PA manifests (Content Credentials), read with the ``c2pa-python`` library.

Named ``c2pa_manifest`` so that ``import c2pa`` here is always the library. Reported per
file: who signed (the certificate's common name and organisation), the claim generator,
every action's ``digitalSourceType``, whether one of them declares AI generation
(IPTC ``trainedAlgorithmicMedia`` or ``compositeWithTrainedAlgorithmicMedia``), and the
validation state the library gives (``Invalid``, ``Valid``: the signature and hashes hold,
``Trusted``: and the signer chains to a trusted root; we configure no trust list, so a
genuine manifest reads ``Valid`` with ``signingCredential.untrusted`` among its codes).

The library is only called for files whose container walk saw an embedded manifest store
(containers.py), with remote manifest fetching and OCSP turned off: reading a file never
makes a network request (every outgoing request must pass the address guard, and a
manifest URL is chosen by whoever made the file).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

AI_SOURCE_TYPES = ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia")
READER_SETTINGS = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}


@dataclass
class C2paInfo:
    """What a file's C2PA manifest store says (the active manifest first)."""

    signer: str = ""  # the signing certificate's common name (else its organisation)
    issuer: str = ""  # the certificate subject's organisation, as c2pa reports it
    signed_at: str | None = None
    claim_generator: str = ""
    title: str = ""
    actions: list[str] = field(default_factory=list)
    digital_source_types: list[str] = field(default_factory=list)
    ai_generated: bool = False  # an action declares trainedAlgorithmicMedia or a composite
    validation_state: str = ""  # Invalid | Valid | Trusted | unreadable
    validation_codes: list[str] = field(default_factory=list)  # failures and warnings
    manifests: int = 0
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


def _generator(manifest: dict[str, Any]) -> str:
    infos = manifest.get("claim_generator_info") or []
    names = [" ".join(str(i.get(k, "")) for k in ("name", "version")).strip()
             for i in infos if isinstance(i, dict)]
    return "; ".join(n for n in names if n) or str(manifest.get("claim_generator", ""))


def _actions(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for assertion in manifest.get("assertions") or []:
        if not isinstance(assertion, dict):
            continue
        if str(assertion.get("label", "")).startswith("c2pa.actions"):
            data = assertion.get("data") or {}
            out.extend(a for a in data.get("actions") or [] if isinstance(a, dict))
    return out


def summarize(store: dict[str, Any], state: str | None) -> C2paInfo:
    """A :class:`C2paInfo` from the library's JSON manifest store and validation state."""
    manifests: dict[str, Any] = store.get("manifests") or {}
    active = manifests.get(store.get("active_manifest") or "") or {}
    sig = active.get("signature_info") or {}
    info = C2paInfo(signer=str(sig.get("common_name") or sig.get("issuer") or ""),
                    issuer=str(sig.get("issuer") or ""), signed_at=sig.get("time"),
                    claim_generator=_generator(active), title=str(active.get("title", "")),
                    validation_state=state or "", manifests=len(manifests))
    ordered = [active, *(m for k, m in manifests.items() if k != store.get("active_manifest"))]
    for manifest in ordered:
        for action in _actions(manifest):
            name = str(action.get("action", ""))
            if name and name not in info.actions:
                info.actions.append(name)
            dst = str(action.get("digitalSourceType", ""))
            if dst and dst not in info.digital_source_types:
                info.digital_source_types.append(dst)
    info.ai_generated = any(d.rstrip("/").rsplit("/", 1)[-1] in AI_SOURCE_TYPES
                            for d in info.digital_source_types)
    info.validation_codes = sorted({str(s.get("code", "")) for s in
                                    store.get("validation_status") or []
                                    if isinstance(s, dict)} - {""})
    return info


def read_manifest(path: Path, mime: str) -> C2paInfo:
    """The C2PA manifest store embedded in ``path`` (a file known to carry one)."""
    import c2pa

    try:
        context = c2pa.Context(settings=c2pa.Settings.from_dict(READER_SETTINGS))
        with path.open("rb") as stream, c2pa.Reader(mime, stream, context=context) as reader:
            store = json.loads(reader.json())
            state = reader.get_validation_state()
    except (c2pa.C2paError, OSError, ValueError) as exc:
        return C2paInfo(validation_state="unreadable",
                        error=f"{type(exc).__name__}: {exc}"[:300])
    return summarize(store, state)
