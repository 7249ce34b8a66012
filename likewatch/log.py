"""Logging: the standard library underneath, structlog on top, one renderer for everything.

Call :func:`configure` once at an entry point. Scrapy, APScheduler and our own loggers then
come out in the same format (console or JSON). Never log a face embedding or a reference
photo's bytes: log ids and hashes of files instead.

Tracebacks are for ``-v``: with ``tracebacks=False`` a record's exception is cut to one
line (``ExcType: message``) and the HTTP clients' per-attempt retry chatter
(``elastic_transport``, ``urllib3``) is kept to errors, so a dependency that is down gives
one line, not three tracebacks.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

_configured = False


class _OneLineExceptions(logging.Filter):
    """Replace a record's traceback by its exception's one-line summary."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            first = (str(exc).strip().splitlines() or [""])[0][:300]
            record.msg = f"{record.getMessage()} ({type(exc).__name__}: {first})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


_CHATTY = ("elastic_transport", "urllib3")


def configure(fmt: str = "console", level: str = "INFO", tracebacks: bool = True) -> None:
    global _configured
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    if not tracebacks:
        handler.addFilter(_OneLineExceptions())
    for name in _CHATTY:
        logging.getLogger(name).setLevel(logging.NOTSET if tracebacks else logging.ERROR)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    _configured = True


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
