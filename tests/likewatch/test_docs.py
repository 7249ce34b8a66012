"""Figures the code cites live in the repository (docs/measurements.md), not beside it."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_code_cites_measurements_kept_outside_the_repository():
    cited = []
    for folder in ("likewatch", "crawler", "matchers", "alerts", "scheduler", "webapp",
                   "sandbox", "demo", "bench", "deploy", "tests"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in {".py", ".md", ".sh", ""} and path.is_file() \
                    and "deploy/es/" not in path.as_posix() and path != Path(__file__):
                if "MEASURED.md" in path.read_text(encoding="utf-8", errors="ignore"):
                    cited.append(str(path.relative_to(ROOT)))
    assert cited == []
    assert "## Hamming search with numpy" in (ROOT / "docs" / "measurements.md").read_text()
