"""RFC 3161 time stamps, round trip against a local TSA on 127.0.0.1.

No kept library provides a timestamp authority to run locally (``rfc3161-client`` on PyPI
only builds requests and verifies responses), so this file holds a minimal TSA made from
``cryptography`` (a local root CA, and an ECDSA P-256 key with a certificate it issues,
with the critical timeStamping extended key usage) and ``asn1crypto`` (TSTInfo, CMS SignedData with
content-type and message-digest signed attributes, TimeStampResp). What is tested:

- request building (SHA-256 imprint, nonce, certReq) as parsed by the TSA side;
- a granted response round trip over HTTP, stored on the tree head, exported in a bundle
  as ``timestamp.tsr`` and checked by ``verify_bundle`` (imprint = the capture tree head);
- refusals (status rejection), a wrong imprint, a wrong nonce, a token whose signature or
  TSTInfo was altered, and a garbage response are all rejected with a named reason.
- the certificate chain: accepted with the local root as trust anchor, refused with another
  root (when stamping, with ``tsa_ca_file``, and when verifying a bundle with roots).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from alerts.evidence import capture, tsa, zipfmt
from alerts.evidence.bundle import export_bundle
from alerts.evidence.keys import canonical_json
from alerts.evidence.log import TransparencyLog
from alerts.evidence.verify import verify_bundle
from likewatch.catalog import Catalog
from likewatch.catalog.evidence import EvidenceCapture
from tests.alerts.test_evidence_bundle import members_of
from tests.alerts.test_evidence_capture import PageServer


def _ca_cert(key: ec.EllipticCurvePrivateKey, cn: str) -> x509.Certificate:
    """A self-signed root CA certificate valid for a day either side of now."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = dt.datetime.now(dt.UTC)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                         False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


class LocalTSA:
    """Answers TimeStampReq DER with a signed TimeStampResp (or a chosen failure)."""

    def __init__(self) -> None:
        now = dt.datetime.now(dt.UTC)
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        self.root = _ca_cert(self.root_key, "Likewatch Test TSA Root")
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Likewatch Test TSA")])
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(self.root.subject)
                .public_key(self.key.public_key()).serial_number(4242)
                .not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=1))
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]),
                               critical=True)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self.root_key.public_key()), critical=False)
                .sign(self.root_key, hashes.SHA256()))
        self.cert = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
        self.mode = "ok"
        self.serial = 0
        self.requests: list[tsp.TimeStampReq] = []

    def respond(self, req_der: bytes) -> bytes:
        req = tsp.TimeStampReq.load(req_der)
        self.requests.append(req)
        if self.mode == "reject":
            # asn1crypto will not dump a TimeStampResp without its (optional) token.
            status = tsp.PKIStatusInfo({"status": "rejection",
                                        "status_string": ["policy not accepted"],
                                        "fail_info": {"unaccepted_policy"}}).dump()
            return b"\x30" + bytes([len(status)]) + status
        if self.mode == "garbage":
            return b"\x30\x03\x02\x01"
        self.serial += 1
        imprint = req["message_imprint"]
        if self.mode == "wrong_imprint":
            imprint = {"hash_algorithm": {"algorithm": "sha256"},
                       "hashed_message": hashlib.sha256(b"something else").digest()}
        nonce = req["nonce"].native + (1 if self.mode == "wrong_nonce" else 0)
        tst = tsp.TSTInfo({"version": "v1", "policy": "1.3.6.1.4.1.99999.1",
                           "message_imprint": imprint, "serial_number": self.serial,
                           "gen_time": dt.datetime.now(dt.UTC).replace(microsecond=0),
                           "nonce": nonce})
        tst_der = tst.dump()
        attrs = cms.CMSAttributes([
            {"type": "content_type", "values": ["tst_info"]},
            {"type": "message_digest", "values": [hashlib.sha256(tst_der).digest()]},
        ])
        signature = self.key.sign(attrs.dump(), ec.ECDSA(hashes.SHA256()))
        if self.mode == "bad_signature":
            signature = self.key.sign(b"not the attributes", ec.ECDSA(hashes.SHA256()))
        signer = cms.SignerInfo({
            "version": "v1",
            "sid": cms.SignerIdentifier({"issuer_and_serial_number": {
                "issuer": self.cert.issuer, "serial_number": self.cert.serial_number}}),
            "digest_algorithm": {"algorithm": "sha256"}, "signed_attrs": attrs,
            "signature_algorithm": {"algorithm": "sha256_ecdsa"}, "signature": signature})
        signed = cms.SignedData({
            "version": "v3", "digest_algorithms": [{"algorithm": "sha256"}],
            "encap_content_info": {"content_type": "tst_info",
                                   "content": cms.ParsableOctetString(tst_der)},
            "certificates": [self.cert], "signer_infos": [signer]})
        token = cms.ContentInfo({"content_type": "signed_data", "content": signed})
        return tsp.TimeStampResp({"status": {"status": "granted"},
                                  "time_stamp_token": token}).dump()


@pytest.fixture
def local_tsa(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LocalTSA, str]]:
    from aiohttp import web

    authority = LocalTSA()
    # the TSA is reached through the address guard like every outgoing request
    monkeypatch.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", "127.0.0.1")

    async def handle(request: web.Request) -> web.Response:
        assert request.content_type == "application/timestamp-query"
        return web.Response(body=authority.respond(await request.read()),
                            content_type="application/timestamp-reply")

    with PageServer(routes=[("POST", "/tsa", handle)]) as server:
        yield authority, f"{server.base}/tsa"


def sealed_capture(catalog: Catalog) -> tuple[TransparencyLog, int]:
    """A capture sealed without a browser: one real file, its manifest, a log entry."""
    directory = catalog.home / "evidence" / "t-1"
    (directory / "files").mkdir(parents=True)
    (directory / "files" / "page.html").write_bytes("<p>肖像</p>".encode())
    manifest = {"format": capture.MANIFEST_FORMAT, "capture_id": "t-1",
                "captured_at": "2026-11-26T00:00:00.000Z",
                "alert": {"alert_id": "t-1", "url": "https://x.invalid/v/1"},
                "files": [{"name": "files/page.html", "role": "rendered_html",
                           "sha256": hashlib.sha256("<p>肖像</p>".encode()).hexdigest(),
                           "size": len("<p>肖像</p>".encode())}], "errors": []}
    data = canonical_json(manifest)
    (directory / "manifest.json").write_bytes(data)
    tlog = TransparencyLog(catalog)
    sha = hashlib.sha256(data).hexdigest()
    index, head = tlog.append(data, sha, "t-1")
    with catalog.session() as s:
        s.add(EvidenceCapture(capture_id="t-1", alert_id="t-1", dir="evidence/t-1",
                              manifest_sha256=sha, leaf_index=index))
    capture._maybe_timestamp(tlog, head)  # the same call capture_evidence makes
    return tlog, head.tree_size


def test_round_trip_stamps_the_tree_head_and_the_bundle_verifies(
        local_tsa: tuple[LocalTSA, str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    authority, url = local_tsa
    monkeypatch.setenv("LIKEWATCH_TSA_URL", url)
    with Catalog.open() as catalog:
        tlog, size = sealed_capture(catalog)
        token_b64 = tlog.timestamp_token(size)
        assert token_b64 is not None
        req = authority.requests[0]
        head = tlog.tree_head(size)
        assert req["message_imprint"]["hashed_message"].native == \
            hashlib.sha256(head.signing_input()).digest()
        assert req["cert_req"].native is True and req["nonce"].native
        info = tsa.parse_token(base64.b64decode(token_b64))
        assert info.signature_valid and info.tsa_name == "CN=Likewatch Test TSA"
        bundle = export_bundle(catalog, "t-1", tmp_path / "b.zip")
    report = verify_bundle(bundle)
    assert report.ok, report.problems
    assert any("RFC 3161 time stamp" in f and "Likewatch Test TSA" in f for f in report.facts)
    members, when = members_of(bundle)
    assert "timestamp.tsr" in dict(members)
    tampered = [(n, d[:-1] + bytes([d[-1] ^ 1]) if n == "timestamp.tsr" else d)
                for n, d in members]
    (tmp_path / "t.zip").write_bytes(zipfmt.build(tampered, when))
    assert any(p.startswith("timestamp.tsr:") for p in verify_bundle(tmp_path / "t.zip").problems)


@pytest.mark.parametrize(("mode", "message"), [
    ("reject", "TSA refused: rejection policy not accepted"),
    ("wrong_imprint", "different message imprint"),
    ("wrong_nonce", "nonce mismatch"),
    ("bad_signature", "signature does not verify"),
    ("garbage", "malformed TimeStampResp"),
])
def test_bad_responses_are_refused_with_the_reason(local_tsa: tuple[LocalTSA, str], mode: str,
                                                   message: str) -> None:
    authority, url = local_tsa
    authority.mode = mode
    with pytest.raises(tsa.TimestampError, match=message):
        tsa.request_timestamp(url, b"tree head bytes")


def test_the_tsa_passes_the_address_guard(local_tsa: tuple[LocalTSA, str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from likewatch.netguard import BlockedURL

    authority, url = local_tsa
    monkeypatch.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", "")
    with pytest.raises(BlockedURL):
        tsa.request_timestamp(url, b"data")
    assert authority.requests == []


def test_an_altered_token_fails_its_signature_check(local_tsa: tuple[LocalTSA, str]) -> None:
    _, url = local_tsa
    token = bytearray(base64.b64decode(tsa.request_timestamp(url, b"data")))
    tst_at = bytes(token).find(hashlib.sha256(b"data").digest())
    token[tst_at] ^= 1  # change the stamped imprint inside the signed TSTInfo
    info = tsa.parse_token(bytes(token))
    assert not info.signature_valid


def test_a_failing_tsa_leaves_the_tree_head_unstamped(monkeypatch: pytest.MonkeyPatch,
                                                      local_tsa: tuple[LocalTSA, str]) -> None:
    authority, url = local_tsa
    authority.mode = "reject"
    monkeypatch.setenv("LIKEWATCH_TSA_URL", url)
    with Catalog.open() as catalog:
        tlog, size = sealed_capture(catalog)
        assert tlog.timestamp_token(size) is None
        assert tlog.tree_head(size).tree_size == size



def test_the_chain_to_a_trusted_root_is_checked(local_tsa: tuple[LocalTSA, str],
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    authority, url = local_tsa
    other_root = _pem(_ca_cert(ec.generate_private_key(ec.SECP256R1()), "Some Other Root"))
    token = base64.b64decode(tsa.request_timestamp(url, b"data", roots_pem=_pem(authority.root)))
    assert tsa.check_chain(token, _pem(authority.root)) == "CN=Likewatch Test TSA Root"
    with pytest.raises(tsa.TimestampError, match="does not chain to a trusted root"):
        tsa.check_chain(token, other_root)
    with pytest.raises(tsa.TimestampError, match="does not chain to a trusted root"):
        tsa.request_timestamp(url, b"data", roots_pem=other_root)

    # stamping with tsa_ca_file: a TSA outside it leaves the head unstamped
    (tmp_path / "other.pem").write_bytes(other_root)
    (tmp_path / "ours.pem").write_bytes(_pem(authority.root))
    monkeypatch.setenv("LIKEWATCH_TSA_URL", url)
    monkeypatch.setenv("LIKEWATCH_TSA_CA_FILE", str(tmp_path / "other.pem"))
    with Catalog.open() as catalog:
        tlog, size = sealed_capture(catalog)
        assert tlog.timestamp_token(size) is None
    monkeypatch.setenv("LIKEWATCH_HOME", str(tmp_path / "home2"))
    monkeypatch.setenv("LIKEWATCH_TSA_CA_FILE", str(tmp_path / "ours.pem"))
    with Catalog.open() as catalog:
        tlog, size = sealed_capture(catalog)
        assert tlog.timestamp_token(size) is not None
        bundle = export_bundle(catalog, "t-1", tmp_path / "b.zip")

    # verifying the bundle: with our root it chains, with another it is a named problem,
    # without roots the report says the chain was not checked
    good = verify_bundle(bundle, tsa_roots_pem=_pem(authority.root))
    assert good.ok and any("chains to CN=Likewatch Test TSA Root" in f for f in good.facts)
    bad = verify_bundle(bundle, tsa_roots_pem=other_root)
    assert [p for p in bad.problems if p.startswith("timestamp.tsr:")], bad.problems
    unchecked = verify_bundle(bundle)
    assert unchecked.ok and any("chain was not checked" in f for f in unchecked.facts)
