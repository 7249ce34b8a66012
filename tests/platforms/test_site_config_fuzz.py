"""Property-based (Hypothesis): a YAML site configuration, however mangled, loads as an
adapter or is refused with AdapterError naming the file; a loaded one parses any page into
a Page or AdapterError. Nothing else escapes (crawler/platforms/generic.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from crawler.platforms.base import AdapterError, Page
from crawler.platforms.generic import SITES_DIR, load_site

SANDBOX = (SITES_DIR / "sandbox.yaml").read_text(encoding="utf-8")
SANDBOX_TREE = yaml.safe_load(SANDBOX)

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=12),
                    st.sampled_from(["(?P<id>", "[", "(?P<id>\\d+)", "items[*]", "css",
                                     "props.pageProps.item", "{query}", "*"]))
trees = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=12)


def _replace_somewhere(tree: object, data: st.DataObject, depth: int = 0) -> object:
    if isinstance(tree, dict) and tree and depth < 4:
        key = data.draw(st.sampled_from(sorted(tree, key=str)))
        if data.draw(st.booleans()):
            return {**tree, key: data.draw(trees)}
        return {**tree, key: _replace_somewhere(tree[key], data, depth + 1)}
    if isinstance(tree, list) and tree and depth < 4:
        i = data.draw(st.integers(0, len(tree) - 1))
        return [*tree[:i], _replace_somewhere(tree[i], data, depth + 1), *tree[i + 1:]]
    return data.draw(trees)


def _load(path: Path) -> type | None:
    try:
        return load_site(path)
    except AdapterError as exc:
        assert str(path) in str(exc)
        return None


@given(data=st.data())
def test_a_mangled_site_file_loads_or_is_refused_by_name(tmp_path_factory: pytest.TempPathFactory,
                                                         data: st.DataObject) -> None:
    path = tmp_path_factory.mktemp("sites") / "site.yaml"
    if data.draw(st.booleans()):  # the text itself: cut, or bytes inserted
        at = data.draw(st.integers(0, len(SANDBOX)))
        text = SANDBOX[:at] + data.draw(st.text(max_size=12)) + SANDBOX[at + data.draw(
            st.integers(0, 40)):]
    else:  # a well-formed YAML document with one part replaced
        text = yaml.safe_dump(_replace_somewhere(SANDBOX_TREE, data), allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    cls = _load(path)
    if cls is None:
        return
    body = data.draw(st.sampled_from(['{"items": [{"id": "a", "thumbnailUrl": "/t.jpg"}]}',
                                      "<html><a class=item href=/video/1>x</a></html>",
                                      "", "{", "[]", "null"]))
    url = data.draw(st.sampled_from(["http://127.0.0.1:8700/api/feed?limit=50",
                                     "http://127.0.0.1:8700/browse?page=1",
                                     "http://127.0.0.1:8700/video/v1", "http://x/?"]))
    try:
        page = cls().parse(url, body)
    except AdapterError:
        return
    assert isinstance(page, Page)
