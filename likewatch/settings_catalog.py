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
         "URL of the Elasticsearch cluster when index=elasticsearch; several nodes "
         "comma-separated (a request a node cannot take goes to the next).")

# --- network safety ------------------------------------------------------------------
register("allow_private_hosts", [], list,
         "Comma-separated hosts, addresses or CIDR ranges, each optionally with :port "
         "(127.0.0.1:8700, [::1]:8080), that outgoing requests may reach even though they are "
         "private or loopback (e.g. 127.0.0.1 for the sandbox). Empty: none.")

# --- data at rest ---------------------------------------------------------------------
register("secrets_key_file", "", str,
         "File holding the key (Fernet) that encrypts webhook and chat secrets in the catalog; "
         "empty: $LIKEWATCH_HOME/keys/secrets.key, created on first use. Keep it outside the "
         "catalog's backups, the same file on every host (docs/security.md).")

# --- crawling ------------------------------------------------------------------------
register("user_agent", "LikewatchBot/0.1 (+https://likewatch.invalid/bot)", str,
         "User-Agent sent by the crawler; set it per deployment to name your operator contact.")
register("media_max_bytes", 50_000_000, int,
         "Largest thumbnail or video the crawler will download, in bytes.")
register("media_timeout", 30.0, float,
         "Seconds allowed for one media download.")
register("media_max_pixels", 40_000_000, int,
         "Largest thumbnail in pixels (width x height, read from its header before decoding); "
         "a larger one is not stored, counted image_too_large.")
register("crawl_max_pages", 1000, int,
         "Pages (listing, search and detail) one crawl may fetch; past it the crawl stops "
         "following links, counted page_limit (endless pagination ends here).")
register("crawl_page_max_bytes", 10_000_000, int,
         "Largest page body the crawler reads; a larger or endless page is cut off, counted "
         "page_too_large.")
register("crawl_max_redirects", 5, int,
         "Redirect hops followed per request; more is counted redirect_limit, a loop "
         "redirect_loop.")
register("chromium_path", "/usr/bin/chromium", str,
         "Chromium executable that Playwright drives for JavaScript pages.")
# Read by the crawler's Scrapy components too, as LIKEWATCH_<NAME> (crawler/run.py).
register("media_enabled", True, bool,
         "Download thumbnails and videos while crawling; off: metadata only.", scrapy=True)
register("retry_backoff_base", 0.5, float,
         "First pause before the crawler retries a failed request (429, 5xx, timeout), in "
         "seconds; doubles per retry of that request.", scrapy=True)
register("retry_backoff_max", 30.0, float,
         "Longest pause before one retried request, in seconds.", scrapy=True)
register("retry_after_max", 120.0, float,
         "Longest Retry-After the crawler waits for; a longer one is capped (and counted).",
         scrapy=True)
register("crawl_delay_max", 60.0, float,
         "Longest robots.txt Crawl-delay honoured per host, in seconds.", scrapy=True)
register("pause_host_on_429", True, bool,
         "A 429 or 503 with Retry-After pauses every request to that host, not only the "
         "retried one.", scrapy=True)
register("crawl_budget_shared", True, bool,
         "Keep each host's politeness budget (spacing, Retry-After pauses) in the catalog, "
         "shared by every crawler process; off: each crawl keeps its own.", scrapy=True)
register("crawl_rate_per_host", 0.0, float,
         "Requests per second to one host, all crawler processes together (0: no limit but "
         "robots.txt Crawl-delay and AutoThrottle).", scrapy=True)
register("crawl_host_rates", [], list,
         "Comma-separated HOST=REQUESTS_PER_SECOND overriding crawl_rate_per_host for those "
         "hosts (HOST or HOST:PORT), e.g. www.douyin.com=0.5.", scrapy=True)
register("slow_response_seconds", 1.0, float,
         "A page slower than this is counted as a slow_response (it still succeeds).",
         scrapy=True)
register("progress_interval", 1.0, float,
         "Seconds between the crawler's progress lines (0: none).", scrapy=True)
register("max_parse_attempts", 3, int,
         "Crawls of a watch in which an item's page failed to parse before that watch stops "
         "asking for it (0: always retry); kept in the watch's checkpoint.", scrapy=True)

# --- matching -----------------------------------------------------------------------
register("kernels", "auto", str,
         "Bank index search: 'auto' (the compiled kernels when they load, else numpy) or "
         "'numpy' (force the numpy path; same results).")

register("photo_search_concurrency", 2, int,
         "Uploaded photos (find by photo) decoded and hashed at a time; others wait their turn.")

# --- logging -------------------------------------------------------------------------
register("log_format", "console", str,
         "Log renderer: 'console' for people, 'json' for machines.")
register("log_level", "INFO", str,
         "Lowest level logged: DEBUG, INFO, WARNING, ERROR.")

# --- scheduler, queues and alerts (scheduler/, alerts/) ------------------------------
register("queue_lease_seconds", 60.0, float,
         "Seconds a claimed work-queue job stays leased to its worker before another may retry it.")
register("queue_max_attempts", 5, int,
         "Attempts of a work-queue job (crawl, back-search) before it becomes a dead letter.")
register("queue_retry_base", 5.0, float,
         "First retry delay of a failed work-queue job in seconds; doubles per attempt, with jitter.")
register("queue_retry_max", 600.0, float,
         "Longest retry delay of a failed work-queue job, in seconds.")
register("scheduler_tick_seconds", 5.0, float,
         "How often each daemon role looks for work (due watches, pending candidates, outbox).")
register("scheduler_misfire_grace", 30.0, float,
         "Seconds late a daemon job may still start (APScheduler misfire_grace_time).")
register("crawl_backoff_base", 60.0, float,
         "First pause in seconds after a platform's crawl fails; doubles per consecutive failure.")
register("crawl_backoff_max", 3600.0, float,
         "Longest pause after consecutive crawl failures of one platform, in seconds.")
register("crawl_unhealthy_after", 3, int,
         "Consecutive crawl failures after which `likewatch status` shows a platform unhealthy.")
register("alert_max_attempts", 8, int,
         "Delivery attempts of one alert to one channel before it becomes a dead letter.")
register("alert_retry_base", 10.0, float,
         "First retry delay of a failed alert delivery in seconds; doubles per attempt, with jitter.")
register("alert_retry_max", 3600.0, float,
         "Longest retry delay of a failed alert delivery, in seconds.")
register("alert_lease_seconds", 60.0, float,
         "Seconds an alert delivery being sent stays leased before another alerter may retry it.")
register("alert_timeout", 10.0, float,
         "Seconds allowed for one webhook / chat-app HTTP delivery or SMTP session.")
register("smtp_host", "127.0.0.1", str,
         "SMTP server for e-mail alerts.")
register("smtp_port", 25, int,
         "Port of the SMTP server for e-mail alerts.")
register("smtp_from", "likewatch@localhost", str,
         "From address of e-mail alerts.")
register("smtp_username", "", str,
         "SMTP login for e-mail alerts; empty: no authentication.")
register("smtp_password", "", str,
         "SMTP password for e-mail alerts (prefer the environment variable to the config file).")
register("smtp_starttls", False, bool,
         "Upgrade the SMTP connection with STARTTLS before sending.")

# --- observability (likewatch/metrics.py, docs/observability.md) --------------------------
register("metrics_port", 0, int,
         "Port on which `likewatch run` serves Prometheus /metrics by itself (for a daemon "
         "without the api role, whose web application serves /metrics too); 0: off.")
register("metrics_host", "127.0.0.1", str,
         "Address the daemon's metrics port listens on.")
register("metrics_token", "", str,
         "Bearer token a scraper from another host sends to read /metrics "
         "(Authorization: Bearer ...); empty: only scrapes from loopback are answered.")

# --- evidence and notices (alerts/evidence, alerts/notices) ---------------------------
register("evidence_video_max_bytes", 20_000_000, int,
         "Largest video kept in an evidence capture, in bytes; a larger one is recorded by URL only.")
register("evidence_page_timeout", 20.0, float,
         "Seconds allowed to load a content page for its evidence screenshot.")
register("tsa_url", "", str,
         "RFC 3161 timestamp authority URL that countersigns evidence tree heads; empty: off.")
register("tsa_ca_file", "", str,
         "PEM file of the root certificates trusted for the timestamp authority; a token whose "
         "certificate does not chain to one of them is refused. Empty: the chain is not checked.")
register("notice_contact_name", "", str,
         "Contact person named in takedown notices (the rights holder's agent or lawyer).")
register("notice_contact_email", "", str, "Contact e-mail printed in takedown notices.")
register("notice_contact_phone", "", str, "Contact telephone printed in takedown notices.")
register("notice_contact_address", "", str, "Postal address printed in takedown notices.")

# --- the review desk (webapp/) --------------------------------------------------------
register("allowed_hosts", ["127.0.0.1", "localhost"], list,
         "Comma-separated host names the web application answers to (the Host header, port "
         "left out); any other is refused with 400. '*.example.com' allows subdomains.")
register("webapp_secure_cookies", True, bool,
         "Mark the desk's session and CSRF cookies Secure (sent over HTTPS only; browsers also "
         "send them to http://localhost and 127.0.0.1). Turn off only behind a plain-HTTP test.")
register("webapp_session_hours", 12.0, float,
         "Hours a desk login lasts before the user must log in again.")
register("webapp_secret", "", str,
         "Key that signs the desk's session and CSRF cookies; empty: a random key kept in "
         "$LIKEWATCH_HOME/webapp-secret (mode 0600), created on first start.")
register("webapp_max_body_bytes", 100_000_000, int,
         "Largest request body the desk accepts (an enrolment posts one person's photos); "
         "larger is refused with 413 before it is read. The photo search takes one image "
         "of at most 20 MB.")
