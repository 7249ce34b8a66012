"""Every setting Likewatch knows, in one place. Documented in docs/settings.md.

Add a setting here (never rename one: names are keys in users' config files), then add
a line for it to docs/settings.md; tests/likewatch/test_settings.py checks both agree.
"""

from __future__ import annotations

from likewatch.settings import register

# --- storage -------------------------------------------------------------------------
register("catalog_url", "", str,
         "SQLAlchemy URL of the catalog database; empty means sqlite:///$LIKEWATCH_HOME/catalog.sqlite3.")
register("index", "embedded", str,
         "Candidate index backend: 'embedded' (SQLite + numpy) or 'elasticsearch'.")
register("elasticsearch_url", "http://127.0.0.1:9200", str,
         "URL of the Elasticsearch cluster when index=elasticsearch.")

# --- network safety ------------------------------------------------------------------
register("allow_private_hosts", [], list,
         "Comma-separated hosts or CIDR ranges that crawled URLs may reach even though they are "
         "private or loopback (e.g. 127.0.0.1 for the sandbox). Empty: none.")

# --- crawling ------------------------------------------------------------------------
register("user_agent", "LikewatchBot/0.1 (+https://likewatch.invalid/bot)", str,
         "User-Agent sent by the crawler; set it per deployment to name your operator contact.")
register("media_max_bytes", 50_000_000, int,
         "Largest thumbnail or video the crawler will download, in bytes.")
register("media_timeout", 30.0, float,
         "Seconds allowed for one media download.")
register("chromium_path", "/usr/bin/chromium", str,
         "Chromium executable that Playwright drives for JavaScript pages.")

# --- logging -------------------------------------------------------------------------
register("log_format", "console", str,
         "Log renderer: 'console' for people, 'json' for machines.")
register("log_level", "INFO", str,
         "Lowest level logged: DEBUG, INFO, WARNING, ERROR.")
