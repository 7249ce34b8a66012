"""CLI parity: users, tokens, clients, persons, alert review and bulk enrolment."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from likewatch.catalog import Catalog
from likewatch.cli import main
from matchers.index import open_index
from tests.webapp import world
from webapp.app import create_app


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]


def test_users_and_tokens(capsys: pytest.CaptureFixture[str],
                          monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["client", "add", "星光工作室"]) == 0
    assert main(["user", "add", "Ann@Example.com", "--client", "Typo", "--role", "owner"]) == 2
    assert "no client named 'Typo'" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert main(["user", "add", "Ann@Example.com", "--client", "星光工作室", "--role", "reviewer",
                 "--password-stdin"]) == 0
    assert main(["user", "add", "ops@example.com", "--role", "operator"]) == 0
    capsys.readouterr()
    assert main(["user", "list", "--json"]) == 0
    users = {u["email"]: u for u in _lines(capsys)}
    assert users["ann@example.com"]["roles"] == [{"client": "星光工作室", "role": "reviewer"}]
    assert users["ann@example.com"]["password"] and users["ops@example.com"]["operator"]
    assert main(["token", "create", "ann@example.com", "--role", "owner"]) == 2  # above hers
    capsys.readouterr()
    assert main(["token", "create", "ann@example.com", "--name", "ci"]) == 0
    captured = capsys.readouterr()
    token = captured.out.strip()
    assert captured.out == token + "\n" and token.startswith("lwt_")  # the token alone
    with Catalog.open() as cat, open_index("embedded") as index:
        client = TestClient(create_app(cat, index, allowed_hosts=["testserver"]),
                            base_url="https://testserver",
                            headers={"Authorization": f"Bearer {token}"})
        assert client.get("/api/me").json()["roles"][0]["role"] == "reviewer"
        assert main(["token", "list", "--json"]) == 0
        [row] = _lines(capsys)
        assert token not in json.dumps(row) and row["name"] == "ci" and not row["revoked"]
        assert main(["token", "revoke", str(row["id"])]) == 0
        assert client.get("/api/me").status_code == 401
        capsys.readouterr()
        # A disabled user's other tokens stop working too.
        assert main(["token", "create", "ann@example.com"]) == 0
        second = capsys.readouterr().out.strip()
        client.headers["Authorization"] = f"Bearer {second}"
        assert client.get("/api/me").status_code == 200
        assert main(["user", "disable", "ann@example.com"]) == 0
        assert client.get("/api/me").status_code == 401
    with Catalog.open() as cat:
        from likewatch.catalog.accounts import ApiToken, User

        with cat.session() as s:
            stored = [t.token_sha256 for t in s.query(ApiToken)]
            assert token not in stored and len(stored[0]) == 64  # only the hash is kept
            assert s.query(User).filter_by(email="ann@example.com").one(
                ).password_hash.startswith("$argon2id$")


def test_clients_persons_review_and_allow_list(shared_data: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    with Catalog.open() as cat:
        w = world.build(cat, shared_data / "faces")
    capsys.readouterr()
    assert main(["client", "list", "--json"]) == 0
    assert {c["name"]: c["persons"] for c in _lines(capsys)} == {world.A: 1, world.B: 1}
    assert main(["alerts", "--json", "--client", world.A]) == 0
    keys = [a["id"] for a in _lines(capsys)]
    assert keys == list(reversed(w.alerts[world.A]))
    # The key `likewatch alerts` prints works for review, evidence and notices alike.
    assert main(["alerts", "review", keys[0], "--confirm", "--by", "ann"]) == 0
    assert capsys.readouterr().out.strip() == f"{keys[0]} confirmed"
    assert main(["alerts", "review", str(w.numbers[world.A][1]), "--dismiss"]) == 0
    assert main(["alerts", "review", "lw_nope", "--dismiss"]) == 2
    assert main(["notice", keys[0], "--lang", "en"]) == 0
    assert keys[0] and "Notice of Unauthorised Use" in capsys.readouterr().out
    assert main(["alerts", "--json", "--status", "confirmed"]) == 0
    assert [a["id"] for a in _lines(capsys)] == [keys[0]]
    # Official accounts are listable and retroactive: u1's open alert is settled.
    assert main(["person", "edit", "--client", world.A, "--person", "demo-a",
                 "--official", "sandbox:u1", "--alias", "小A"]) == 0
    assert "settled 1 open alert(s)" in capsys.readouterr().out
    assert main(["person", "list", "--json", "--client", world.A]) == 0
    [p] = _lines(capsys)
    assert p["official_accounts"] == [{"platform": "sandbox", "uploader": "u1"}]
    assert p["aliases"] == ["小A"] and p["open_alerts"] == 0
    assert main(["person", "list", "--client", "Typo"]) == 2


def test_enroll_csv_and_folder(shared_data: Path, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    faces = shared_data / "faces"
    for name in ("A000370_1.jpg", "B001295_1.jpg", "B001295_2.jpg"):
        shutil.copy(faces / name, tmp_path / name)
    (tmp_path / "scene.txt").write_text("not a photo")
    csv = tmp_path / "roster.csv"
    csv.write_text("person,photo,name,aliases,official\n"
                   "p-a,A000370_1.jpg,演员甲,甲|小甲,douyin:jia_official\n"
                   "p-b,B001295_1.jpg|B001295_2.jpg,Actor B,,\n"
                   "p-bad,scene.txt,Broken,,\n", encoding="utf-8")
    assert main(["enroll", "--csv", str(csv), "--client", "Typo Agency"]) == 2
    assert "no client named 'Typo Agency'" in capsys.readouterr().err
    assert main(["client", "add", "Roster Agency", "--kind", "agency"]) == 0
    capsys.readouterr()
    assert main(["enroll", "--csv", str(csv), "--client", "Roster Agency", "--json"]) == 1
    out = capsys.readouterr()
    rows = {r["person"]: r for r in (json.loads(x) for x in out.out.splitlines())}
    assert len(rows["p-a"]["references"]) == 1 and len(rows["p-b"]["references"]) == 2
    assert rows["p-bad"]["error"] and "[3/3]" in out.err and "1 failed" in out.err
    assert main(["person", "list", "--json"]) == 0
    persons = {p["key"]: p for p in _lines(capsys)}
    assert persons["p-a"]["aliases"] == ["甲", "小甲"] and persons["p-a"]["name"] == "演员甲"
    assert persons["p-a"]["official_accounts"] == [{"platform": "douyin",
                                                    "uploader": "jia_official"}]
    folder = tmp_path / "folder"
    (folder / "p-c").mkdir(parents=True)
    shutil.copy(faces / "A000370_2.jpg", folder / "p-c" / "1.jpg")
    assert main(["enroll", "--folder", str(folder), "--client", "Roster Agency"]) == 0
    assert "enrolled person=p-c client=Roster Agency" in capsys.readouterr().out
