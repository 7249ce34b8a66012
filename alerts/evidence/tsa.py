"""Optional RFC 3161 time stamps over signed tree heads (setting ``tsa_url``; empty: off).

A timestamp authority (TSA) countersigns the SHA-256 of a tree head's signing input, so
a third party vouches that the log (and every manifest in it) existed at that time.

- :func:`build_request`: a DER ``TimeStampReq`` (SHA-256 imprint, a random nonce,
  ``certReq`` true so the token carries the TSA certificate);
- :func:`request_timestamp`: POSTs it (``application/timestamp-query``), checks the
  ``TimeStampResp`` (status granted, same imprint, same nonce, valid signature) and returns
  the token (a CMS ``ContentInfo``), base64;
- :func:`parse_token`: decodes a token and checks its CMS signature: the ``messageDigest``
  signed attribute equals the digest of the ``TSTInfo``, the content type is
  ``id-ct-TSTInfo``, and the signature over the signed attributes verifies with the
  certificate in the token (RSA PKCS#1 v1.5, ECDSA or Ed25519).

- :func:`check_chain`: that the TSA's certificate chains, through any intermediates the
  token carries, to a root you trust (a PEM bundle: setting ``tsa_ca_file`` when stamping,
  ``likewatch evidence verify --tsa-ca`` when verifying), was valid at the token's
  ``genTime``, and has the critical ``id-kp-timeStamping`` extended key usage RFC 3161
  requires. Without a bundle the chain is not checked; the token still names the TSA
  (certificate subject and SHA-256 fingerprint) to compare with its published certificate.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from asn1crypto import cms, core, tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from likewatch import nethttp

MAX_RESPONSE_BYTES = 1_000_000

_HASHES: dict[str, Any] = {"sha256": hashes.SHA256, "sha384": hashes.SHA384,
                           "sha512": hashes.SHA512, "sha1": hashes.SHA1}


class _AnySequence(core.SequenceOf):  # type: ignore[misc]
    _child_spec = core.Any


class TimestampError(Exception):
    """The TSA refused, answered something malformed, or the token does not check out."""


@dataclass(frozen=True)
class TokenInfo:
    gen_time: str
    message_imprint: bytes
    hash_algorithm: str
    nonce: int | None
    serial_number: int
    policy: str
    tsa_name: str
    tsa_cert_sha256: str
    signature_valid: bool


def build_request(data: bytes, nonce: int | None = None) -> tuple[bytes, int]:
    """(DER TimeStampReq over SHA-256(data), the nonce used)."""
    nonce = nonce if nonce is not None else secrets.randbits(63)
    req = tsp.TimeStampReq({
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"},
                            "hashed_message": hashlib.sha256(data).digest()},
        "nonce": nonce,
        "cert_req": True,
    })
    return req.dump(), nonce


def parse_response(der: bytes, data: bytes, nonce: int) -> bytes:
    """Check a DER TimeStampResp for ``data`` and ``nonce``; returns the token (DER)."""
    try:
        # Parsed field by field: the token is OPTIONAL (absent on refusal), which
        # asn1crypto's TimeStampResp does not allow for.
        parts = list(_AnySequence.load(der))
        status_info = tsp.PKIStatusInfo.load(parts[0].dump())
        status = status_info["status"].native
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise TimestampError(f"malformed TimeStampResp: {exc}") from exc
    if status not in ("granted", "granted_with_mods"):
        text = " ".join(status_info["status_string"].native or [])
        fail = ",".join(sorted(status_info["fail_info"].native or []))
        raise TimestampError(f"TSA refused: {status} {text} {fail}".strip())
    if len(parts) < 2:
        raise TimestampError("malformed TimeStampResp: granted but no token")
    token: bytes = parts[1].dump()
    info = parse_token(token)
    if info.message_imprint != hashlib.sha256(data).digest() or info.hash_algorithm != "sha256":
        raise TimestampError("the TSA stamped a different message imprint")
    if info.nonce != nonce:
        raise TimestampError(f"nonce mismatch: sent {nonce}, got {info.nonce}")
    if not info.signature_valid:
        raise TimestampError("the token's signature does not verify")
    return token


def request_timestamp(url: str, data: bytes, timeout: float = 10.0,
                      roots_pem: bytes | None = None) -> str:
    """Get a token for ``data`` from the TSA at ``url``; returns it base64-encoded. With
    ``roots_pem``, a token whose certificate does not chain to one of them is refused."""
    body, nonce = build_request(data)
    # through the address guard, like every outgoing request; a TSA does not redirect
    with nethttp.urlopen(url, data=body, method="POST", timeout=timeout, headers={
            "Content-Type": "application/timestamp-query",
            "Accept": "application/timestamp-reply"}) as resp:
        try:
            der = nethttp.read_limited(resp, MAX_RESPONSE_BYTES)
        except nethttp.TooLarge as exc:
            raise TimestampError(f"TSA answer too large: {exc}") from exc
    token = parse_response(der, data, nonce)
    if roots_pem is not None:
        check_chain(token, roots_pem)
    return base64.b64encode(token).decode("ascii")


def check_chain(der: bytes, roots_pem: bytes) -> str:
    """Check that the token's TSA certificate chains to one of ``roots_pem`` (see the
    module docstring); returns the trusted root's subject, or raises TimestampError."""
    from cryptography.x509 import verification as xv

    try:
        roots = x509.load_pem_x509_certificates(roots_pem)
    except ValueError as exc:
        raise TimestampError(f"cannot read the trusted TSA roots: {exc}") from exc
    try:
        sd = cms.ContentInfo.load(der)["content"]
        signer = sd["signer_infos"][0]
        certs = [c.chosen for c in sd["certificates"]] if sd["certificates"].native else []
        tst = tsp.TSTInfo.load(sd["encap_content_info"]["content"].contents)
        gen_time = tst["gen_time"].native
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise TimestampError(f"malformed token: {exc}") from exc
    leaf_asn1 = _signer_cert(signer, certs)
    leaf = x509.load_der_x509_certificate(leaf_asn1.dump())
    others = [x509.load_der_x509_certificate(c.dump()) for c in certs if c is not leaf_asn1]

    def time_stamping(_policy: Any, _cert: Any, ext: x509.ExtendedKeyUsage | None) -> None:
        if ext is None or x509.oid.ExtendedKeyUsageOID.TIME_STAMPING not in ext:
            raise ValueError("the TSA certificate lacks the timeStamping extended key usage")

    ee_policy = xv.ExtensionPolicy.permit_all().require_present(
        x509.ExtendedKeyUsage, xv.Criticality.CRITICAL, time_stamping)
    verifier = (xv.PolicyBuilder().store(xv.Store(roots)).time(gen_time)
                .extension_policies(ca_policy=xv.ExtensionPolicy.webpki_defaults_ca(),
                                    ee_policy=ee_policy)
                .build_client_verifier())
    try:
        chain = verifier.verify(leaf, others).chain
    except xv.VerificationError as exc:
        raise TimestampError(f"the TSA certificate {leaf.subject.rfc4514_string()} does not "
                             f"chain to a trusted root: {exc}") from exc
    return chain[-1].subject.rfc4514_string()


def parse_token(der: bytes) -> TokenInfo:
    """Decode a time-stamp token and check its CMS signature (see the module docstring)."""
    try:
        ci = cms.ContentInfo.load(der)
        if ci["content_type"].native != "signed_data":
            raise TimestampError(f"not CMS SignedData: {ci['content_type'].native}")
        sd = ci["content"]
        eci = sd["encap_content_info"]
        if eci["content_type"].native != "tst_info":
            raise TimestampError(f"not a TSTInfo: {eci['content_type'].native}")
        tst_der = eci["content"].contents
        tst = tsp.TSTInfo.load(tst_der)
        imprint = tst["message_imprint"]
        signer = sd["signer_infos"][0]
        certs = [c.chosen for c in sd["certificates"]] if sd["certificates"].native else []
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise TimestampError(f"malformed token: {exc}") from exc
    if not certs:
        raise TimestampError("the token carries no TSA certificate")
    cert = _signer_cert(signer, certs)
    crypto_cert = x509.load_der_x509_certificate(cert.dump())
    return TokenInfo(
        gen_time=tst["gen_time"].native.isoformat(),
        message_imprint=imprint["hashed_message"].native,
        hash_algorithm=imprint["hash_algorithm"]["algorithm"].native,
        nonce=tst["nonce"].native, serial_number=tst["serial_number"].native,
        policy=tst["policy"].dotted, tsa_name=crypto_cert.subject.rfc4514_string(),
        tsa_cert_sha256=hashlib.sha256(cert.dump()).hexdigest(),
        signature_valid=_signature_ok(signer, tst_der, crypto_cert))


def _signer_cert(signer: Any, certs: list[Any]) -> Any:
    sid = signer["sid"]
    if sid.name == "issuer_and_serial_number":
        for cert in certs:
            if (cert.issuer == sid.chosen["issuer"]
                    and cert.serial_number == sid.chosen["serial_number"].native):
                return cert
    elif sid.name == "subject_key_identifier":
        for cert in certs:
            if cert.key_identifier == sid.chosen.native:
                return cert
    raise TimestampError("the signer's certificate is not in the token")


def _signature_ok(signer: Any, tst_der: bytes, cert: x509.Certificate) -> bool:
    digest_name = signer["digest_algorithm"]["algorithm"].native
    if digest_name not in _HASHES:
        return False
    attrs = signer["signed_attrs"]
    if not attrs.native:
        return False
    found = {a["type"].native: a["values"][0] for a in attrs}
    digest = hashlib.new(digest_name, tst_der).digest()
    if found.get("message_digest") is None or found["message_digest"].native != digest:
        return False
    if found.get("content_type") is None or found["content_type"].native != "tst_info":
        return False
    signed = b"\x31" + attrs.dump()[1:]  # signed as an explicit SET OF, not [0] IMPLICIT
    signature = signer["signature"].native
    key = cert.public_key()
    hash_cls = _HASHES[digest_name]
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signed, padding.PKCS1v15(), hash_cls())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, signed, ec.ECDSA(hash_cls()))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, signed)
        else:
            return False
    except InvalidSignature:
        return False
    return True
