"""The RFC 6962 Merkle tree: golden vectors, an independent recomputation, tampering."""

from __future__ import annotations

import hashlib

import pytest

from alerts.evidence import merkle

# Leaves and roots of the Certificate Transparency reference test vectors (the same values
# are used by the Go, C++ and Rust CT implementations' tests).
CT_LEAVES = [bytes.fromhex(h) for h in [
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f"]]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_PATHS = {
    (0, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (5, 8): ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
}
CT_CONSISTENCY = {
    (1, 8): CT_PATHS[(0, 8)],
    (6, 8): ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
    (2, 5): ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"],
}


def reference_mth(data: list[bytes]) -> bytes:
    """RFC 6962 §2.1 MTH, transcribed literally on the leaf *data* (independent of merkle.py)."""
    n = len(data)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + data[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + reference_mth(data[:k]) + reference_mth(data[k:])).digest()


def hashes(data: list[bytes]) -> list[bytes]:
    return [merkle.leaf_hash(d) for d in data]


def test_ct_golden_roots_paths_and_consistency_proofs() -> None:
    assert merkle.root([]).hex() == hashlib.sha256(b"").hexdigest()
    for n in range(1, 9):
        assert merkle.root(hashes(CT_LEAVES[:n])).hex() == CT_ROOTS[n - 1]
    for (i, n), want in CT_PATHS.items():
        assert [p.hex() for p in merkle.inclusion_proof(i, hashes(CT_LEAVES[:n]))] == want
    for (m, n), want in CT_CONSISTENCY.items():
        assert [p.hex() for p in merkle.consistency_proof(m, hashes(CT_LEAVES[:n]))] == want


@pytest.mark.parametrize("n", [*range(1, 34), 63, 64, 65, 100, 127, 129])
def test_inclusion_and_consistency_against_later_tree_heads(n: int) -> None:
    data = [f"manifest-{i}".encode() for i in range(n)]
    leaves = hashes(data)
    new_root = merkle.root(leaves)
    assert new_root == reference_mth(data)
    for i in range(n):
        proof = merkle.inclusion_proof(i, leaves)
        assert merkle.verify_inclusion(leaves[i], i, n, proof, new_root)
        # The wrong leaf, the wrong index or a truncated proof fail. (The tree size is bound
        # by the signed tree head, not by the proof: sizes 3 and 4 share leaf 0's path shape.)
        assert not merkle.verify_inclusion(merkle.leaf_hash(b"other"), i, n, proof, new_root)
        if n > 1:
            assert not merkle.verify_inclusion(leaves[i], (i + 1) % n, n, proof, new_root)
            assert not merkle.verify_inclusion(leaves[i], i, n, proof[:-1], new_root)
    for m in range(0, n + 1):
        old_root = reference_mth(data[:m])
        proof = merkle.consistency_proof(m, leaves)
        assert merkle.verify_consistency(m, n, proof, old_root, new_root), (m, n)
        if 0 < m < n:
            assert not merkle.verify_consistency(m, n, proof, old_root, merkle.leaf_hash(b"x"))
            assert not merkle.verify_consistency(m, n, proof, merkle.leaf_hash(b"x"), new_root)
            forged = [bytes(32)] + proof[1:]
            assert not merkle.verify_consistency(m, n, forged, old_root, new_root)
            # A rewritten history (one old leaf changed) has no valid proof to the new head.
            changed = list(data)
            changed[m - 1] = b"rewritten"
            assert not merkle.verify_consistency(m, n, proof, reference_mth(changed[:m]), new_root)


def test_flipping_any_bit_of_a_proof_fails() -> None:
    data = [bytes([i]) * 3 for i in range(13)]
    leaves = hashes(data)
    root = merkle.root(leaves)
    proof = merkle.inclusion_proof(6, leaves)
    for j in range(len(proof)):
        for bit in (0, 7, 255):
            bad = list(proof)
            flipped = bytearray(bad[j])
            flipped[bit // 8] ^= 1 << (bit % 8)
            bad[j] = bytes(flipped)
            assert not merkle.verify_inclusion(leaves[6], 6, 13, bad, root)


def test_requests_outside_the_tree_are_refused() -> None:
    leaves = hashes([b"a", b"b"])
    with pytest.raises(merkle.ProofError):
        merkle.inclusion_proof(2, leaves)
    with pytest.raises(merkle.ProofError):
        merkle.consistency_proof(3, leaves)
    assert not merkle.verify_consistency(3, 2, [], merkle.root(leaves), merkle.root(leaves))
