"""The sandbox's HTML pages (server-rendered listing, detail, JavaScript-only search)."""

from __future__ import annotations

import json
from html import escape
from typing import Any

SITE_NAME = "剧多多 · 沙盒"
PAGE_SIZE = 24

_STYLE = (
    "body{font-family:sans-serif;margin:0;background:#111;color:#eee}"
    "header{padding:12px 20px;background:#e33}header a{color:#fff;margin-right:16px}"
    "main{padding:16px 20px}.grid{display:flex;flex-wrap:wrap;gap:14px;list-style:none;padding:0}"
    ".grid li{width:320px}.item{color:#eee;text-decoration:none;display:block}"
    ".item img{width:320px;height:180px;display:block}.meta{color:#999;font-size:12px}"
    ".pagination a{color:#fff;margin-right:12px}#results a{display:block;color:#eee;margin:6px 0}"
)


def _layout(title: str, body: str, head: str = "") -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)} - {SITE_NAME}</title>"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<style>{_STYLE}</style>{head}</head>\n<body><header>"
        "<a href=\"/browse\">首页</a><a href=\"/search\">搜索</a></header>\n"
        f"<main>{body}</main></body></html>\n"
    )


def _views(n: int) -> str:
    return f"{n / 10000:.1f}万次播放" if n >= 10000 else f"{n}次播放"


def browse(items: list[dict[str, Any]], page: int, has_next: bool, total: int) -> str:
    """One listing page: items newest first, with rel=next/prev links."""
    lis = []
    for it in items:
        lis.append(
            f"<li><a class=\"item\" href=\"/video/{escape(it['id'])}\">"
            f"<img src=\"{escape(it['thumbnailUrl'])}\" alt=\"\" loading=\"lazy\">"
            f"<span class=\"title\">{escape(it['title'])}</span></a>"
            f"<div class=\"meta\"><span class=\"uploader\">{escape(it['uploader']['name'])}</span>"
            f" · <span class=\"views\">{_views(it['viewCount'])}</span>"
            f" · <time datetime=\"{it['publishedAt']}\">{it['publishedAt'][:10]}</time></div></li>"
        )
    nav = []
    head = ""
    if page > 1:
        nav.append(f"<a rel=\"prev\" href=\"/browse?page={page - 1}\">上一页</a>")
    if has_next:
        nav.append(f"<a rel=\"next\" href=\"/browse?page={page + 1}\">下一页</a>")
        head = f"<link rel=\"next\" href=\"/browse?page={page + 1}\">"
    body = (
        f"<h1>最新发布</h1><p class=\"count\">共 {total} 个视频 · 第 {page} 页</p>"
        f"<ul class=\"grid\">{''.join(lis)}</ul>"
        f"<nav class=\"pagination\">{' '.join(nav)}</nav>"
    )
    return _layout(f"最新发布 第{page}页", body, head)


def next_data_json(item: dict[str, Any], malformed: bool = False) -> str:
    """The `__NEXT_DATA__` text for an item (cut short and invalid when `malformed`)."""
    state = {"props": {"pageProps": {"item": item}}, "page": "/video/[id]",
             "query": {"id": item["id"]}, "buildId": "sandbox"}
    text = json.dumps(state, ensure_ascii=False, separators=(",", ":"))
    if malformed:
        text = text[: len(text) * 3 // 5] + "\u2026"
    # A literal "</" inside a script element would end it early.
    return text.replace("</", "<\\/")


def detail(item: dict[str, Any], malformed: bool = False) -> str:
    """A detail page whose data lives only in the embedded JSON state."""
    body = (
        f"<h1 class=\"title\">{escape(item['title'])}</h1>"
        "<div id=\"__next\"><p class=\"loading\">加载中…</p></div>"
        "<script id=\"__NEXT_DATA__\" type=\"application/json\">"
        f"{next_data_json(item, malformed)}</script>"
    )
    return _layout(item["title"], body)


_SEARCH_SCRIPT = """
(function () {
  var params = new URLSearchParams(window.location.search);
  var q = params.get("q") || "";
  document.getElementById("q").value = q;
  var box = document.getElementById("results");
  function show(data) {
    box.textContent = "";
    data.items.forEach(function (it) {
      var link = document.createElement("a");
      link.className = "result";
      link.href = "/video/" + encodeURIComponent(it.id);
      link.textContent = it.title;
      box.appendChild(link);
    });
    document.getElementById("status").textContent = data.items.length + " 个结果";
  }
  function load(attempt) {
    fetch("/api/search?q=" + encodeURIComponent(q)).then(function (r) {
      if (r.status === 429 || r.status >= 500) {
        var wait = parseFloat(r.headers.get("Retry-After") || "0.3");
        if (attempt < 4) { setTimeout(function () { load(attempt + 1); }, wait * 1000); return; }
        throw new Error("HTTP " + r.status);
      }
      return r.json().then(show);
    }).catch(function (e) {
      document.getElementById("status").textContent = "加载失败: " + e.message;
    });
  }
  load(0);
})();
"""


def search_shell(query: str) -> str:
    """The search page: an empty results box that only JavaScript fills."""
    body = (
        "<form action=\"/search\" method=\"get\">"
        f"<input id=\"q\" name=\"q\" value=\"{escape(query)}\" placeholder=\"搜索视频\">"
        "<button type=\"submit\">搜索</button></form>"
        "<p id=\"status\">需要启用 JavaScript 才能显示搜索结果。</p>"
        "<div id=\"results\"></div>"
        f"<script>{_SEARCH_SCRIPT}</script>"
    )
    return _layout("搜索", body)


def verify_page() -> str:
    """A 200 "security check" page, as platforms serve a suspected crawler: no content."""
    return _layout("安全验证", '<h1>安全验证</h1><p>请完成下方验证后继续访问</p>'
                   '<div id="captcha_container" class="captcha-slider"></div>')


def not_found(message: str = "页面不存在") -> str:
    """A plain 404 page."""
    return _layout("404", f"<h1>404</h1><p>{escape(message)}</p>")
