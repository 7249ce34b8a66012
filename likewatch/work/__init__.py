"""The durable work layer: how roles hand work to each other through the catalog.

- :mod:`likewatch.work.db`: this process's catalog, and write transactions
  (``BEGIN IMMEDIATE`` on SQLite);
- :mod:`likewatch.work.clock`: the one clock (float Unix seconds) and its conversions;
- :mod:`likewatch.work.lease`: leases with fencing, backoff and dead letters, the one
  implementation behind every queue table;
- :mod:`likewatch.work.queue`: the job queue (crawls, back-searches);
- :mod:`likewatch.work.cursor`: named high-water marks over rows consumed by id.

Its users: the scheduler's jobs (crawl and back-search queues, watch scheduling), the
matcher's claim of a pending candidate, alert building (cursor, outbox rows), the
outbox (``alerts.outbox``, a lease table), the indexer (cursors). Everything here is
idempotent or fenced, so a process killed at any point loses nothing: what it held is
taken again when its lease expires.
"""
