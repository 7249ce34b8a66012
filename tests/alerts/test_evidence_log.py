"""The evidence log in the catalog: concurrent appends, signed heads, proofs between heads."""

from __future__ import annotations

import hashlib
import threading

from alerts.evidence import merkle
from alerts.evidence.keys import load_or_create_signing_key
from alerts.evidence.log import TransparencyLog
from likewatch.catalog import Catalog


def test_concurrent_appends_make_one_gapless_consistent_log(likewatch_home) -> None:
    per_thread, threads = 12, 3
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with Catalog.open() as catalog:  # its own engine, as another process would
                log = TransparencyLog(catalog)
                for i in range(per_thread):
                    data = f"manifest {n}-{i}".encode()
                    log.append(data, hashlib.sha256(data).hexdigest(), f"c-{n}-{i}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    Catalog.open().close()  # tables first: concurrent create_all is not what is tested here
    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    total = per_thread * threads
    with Catalog.open() as catalog:
        log = TransparencyLog(catalog)
        assert log.size() == total
        public = load_or_create_signing_key(likewatch_home).public_key()
        leaves = log.leaf_hashes(total)
        heads = [log.tree_head(size) for size in range(1, total + 1)]
        for head in heads:
            assert head.verify(public)
            assert head.root_hash == merkle.root(leaves[:head.tree_size]).hex()
        latest = log.tree_head()
        assert latest.tree_size == total
        for old in heads:
            proof = log.consistency_proof(old.tree_size, total)
            assert merkle.verify_consistency(old.tree_size, total, proof,
                                             bytes.fromhex(old.root_hash),
                                             bytes.fromhex(latest.root_hash))
            index = old.tree_size - 1
            assert merkle.verify_inclusion(leaves[index], index, total,
                                           log.inclusion_proof(index, total),
                                           bytes.fromhex(latest.root_hash))


def test_audit_names_changed_files_manifests_and_leaves(likewatch_home, capsys) -> None:
    from sqlalchemy import update

    from likewatch.catalog.evidence import EvidenceLogLeaf
    from likewatch.cli import main
    from tests.alerts.test_evidence_tsa import sealed_capture

    with Catalog.open() as catalog:
        sealed_capture(catalog)
        log = TransparencyLog(catalog)
        for i in range(4):
            log.append(f"m{i}".encode(), hashlib.sha256(f"m{i}".encode()).hexdigest(), f"x{i}")
    assert main(["evidence", "audit"]) == 0
    assert "5 log entries, 5 signed tree heads, 1 captures" in capsys.readouterr().out
    assert main(["evidence", "list", "--alert", "t-1"]) == 0
    assert "alert t-1  complete  leaf 0" in capsys.readouterr().out
    page = likewatch_home / "evidence/t-1/files/page.html"
    page.write_bytes(page.read_bytes() + b" ")
    assert main(["evidence", "audit"]) == 1
    assert "evidence/t-1/files/page.html: sha256 expected" in capsys.readouterr().err
    with Catalog.open() as catalog, catalog.session() as s:
        s.execute(update(EvidenceLogLeaf).where(EvidenceLogLeaf.leaf_index == 2)
                  .values(leaf_hash="00" * 32))
    assert main(["evidence", "audit"]) == 1
    err = capsys.readouterr().err
    assert "tree head 3: signed root" in err and "tree head 5: signed root" in err
    assert "tree head 2: signed root" not in err
