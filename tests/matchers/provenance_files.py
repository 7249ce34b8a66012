"""Media files carrying AI-content labels, made here with the libraries and the field layout
of GB 45438-2025 (Annex E JSON in XMP ``TC260:AIGC``, PNG text ``AIGC``, MP4 metadata key
``AIGC``) and of C2PA (a manifest signed with a certificate generated here). Nothing copied."""

from __future__ import annotations

import datetime as dt
import io
import json
import struct
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import av
import numpy as np
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from PIL import Image, PngImagePlugin

TC260_NS = "http://www.tc260.org.cn/ns/AIGC/1.0/"
XMP_UUID = bytes.fromhex("BE7ACFCB97A942E89C71999491E3AFAC")


def label(value: str = "1", producer: str = "001191110108MA01KP2T5U00000",
          produce_id: str = "a9f3c2d1e0", **extra: str) -> dict[str, str]:
    """The seven fields of Annex E, in the standard's order."""
    fields = {"Label": value, "ContentProducer": producer, "ProduceID": produce_id,
              "ReservedCode1": "", "ContentPropagator": "", "PropagateID": "",
              "ReservedCode2": ""}
    fields.update(extra)
    return fields


def xmp(fields: dict[str, str] | None, form: str = "json") -> bytes:
    """An XMP packet; ``form``: ``json`` (the JSON text, entity-escaped, inside
    ``<TC260:AIGC>``), ``attr`` (the JSON as an attribute), ``fields`` (one element each)."""
    body = ""
    attrs = ""
    if fields is not None:
        text = json.dumps(fields, separators=(",", ":"))
        if form == "json":
            body = "<TC260:AIGC>" + escape(text, {'"': "&quot;"}) + "</TC260:AIGC>"
        elif form == "attr":
            attrs = f" TC260:AIGC={quoteattr(text)}"
        else:
            inner = "".join(f"<TC260:{k}>{escape(v)}</TC260:{k}>" for k, v in fields.items())
            body = f'<TC260:AIGC rdf:parseType="Resource">{inner}</TC260:AIGC>'
    packet = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" xmlns:TC260="{TC260_NS}" '
        f'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="test"{attrs}>'
        f"{body}</rdf:Description></rdf:RDF></x:xmpmeta>"
        + " " * 64 + '<?xpacket end="w"?>')
    return packet.encode("utf-8")


def _picture(seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8), "RGB")


def jpeg(fields: dict[str, str] | None = None, form: str = "json") -> bytes:
    """A JPEG; with ``fields``, an APP1 XMP segment assembled right after SOI."""
    buf = io.BytesIO()
    _picture().save(buf, "JPEG", quality=85)
    data = buf.getvalue()
    if fields is None:
        return data
    payload = b"http://ns.adobe.com/xap/1.0/\x00" + xmp(fields, form)
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return data[:2] + segment + data[2:]


def png(fields: dict[str, str] | None = None, carrier: str = "itxt-xmp") -> bytes:
    """A PNG; ``carrier``: ``itxt-xmp`` (XMP in iTXt ``XML:com.adobe.xmp``), ``text``
    (the JSON in a tEXt chunk keyed ``AIGC``), ``ztxt`` (compressed, keyed ``AIGC``)."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "test")
    if fields is not None:
        if carrier == "itxt-xmp":
            info.add_itxt("XML:com.adobe.xmp", xmp(fields).decode("utf-8"))
        elif carrier == "text":
            info.add_text("AIGC", json.dumps(fields))
        else:
            info.add_text("AIGC", json.dumps(fields), zip=True)
    buf = io.BytesIO()
    _picture().save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def webp(fields: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    if fields is None:
        _picture().save(buf, "WEBP")
    else:
        _picture().save(buf, "WEBP", xmp=xmp(fields))
    return buf.getvalue()


def mp4(path: Path, fields: dict[str, str] | None = None, frames: int = 12) -> Path:
    """An H.264 MP4 written by PyAV (ffmpeg); with ``fields``, the metadata key ``AIGC``
    as ``-movflags use_metadata_tags -metadata AIGC=<json>`` writes it (moov/udta/meta)."""
    options = {"movflags": "use_metadata_tags"} if fields is not None else {}
    with av.open(str(path), "w", options=options) as out:
        if fields is not None:
            out.metadata["AIGC"] = json.dumps(fields)
        stream = out.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(frames):
            arr = np.asarray(_picture(i))
            for packet in stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def add_xmp_uuid_box(path: Path, fields: dict[str, str]) -> Path:
    """Append the XMP ``uuid`` box (BE7ACFCB-...) at the top level of an MP4."""
    payload = XMP_UUID + xmp(fields)
    with path.open("ab") as f:
        f.write(struct.pack(">I4s", 8 + len(payload), b"uuid") + payload)
    return path


# --- C2PA ---------------------------------------------------------------------------------

def _name(cn: str, org: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                      x509.NameAttribute(NameOID.COUNTRY_NAME, "CN")])


def _usage(*, sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=not sign, content_commitment=False,
                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                         key_cert_sign=sign, crl_sign=sign, encipher_only=False,
                         decipher_only=False)


def signing_chain(signer: str, org: str) -> tuple[bytes, bytes]:
    """(certificate chain PEM: leaf then test root, private key PEM) for ES256 signing."""
    now = dt.datetime.now(dt.UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = (x509.CertificateBuilder().subject_name(_name("Likewatch Test Root", "Likewatch"))
            .issuer_name(_name("Likewatch Test Root", "Likewatch"))
            .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_usage(sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()),
                           critical=False)
            .sign(root_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder().subject_name(_name(signer, org)).issuer_name(root.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(sign=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    chain = leaf.public_bytes(pem) + root.public_bytes(pem)
    return chain, key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())


def c2pa_signed_jpeg(signer: str = "Demo Generator Signer", org: str = "Demo AI Studio",
                     source_type: str = "trainedAlgorithmicMedia") -> bytes:
    """A JPEG with a C2PA manifest: ``c2pa.created`` with the IPTC digitalSourceType."""
    import c2pa

    chain, private_key = signing_chain(signer, org)
    manifest = {
        "claim_generator_info": [{"name": "demo-generator", "version": "2.1"}],
        "title": "generated.jpg", "format": "image/jpeg",
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [{
            "action": "c2pa.created",
            "digitalSourceType": f"http://cv.iptc.org/newscodes/digitalsourcetype/{source_type}",
        }]}}],
    }
    info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, private_key, None)
    out = io.BytesIO()
    with c2pa.Signer.from_info(info) as signer_obj, c2pa.Builder(manifest) as builder:
        builder.sign(signer_obj, "image/jpeg", io.BytesIO(jpeg()), out)
    return out.getvalue()
