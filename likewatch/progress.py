"""Progress bars of long commands (crawl, enrolment of many photos, index sync, eval), with
Rich: on standard error, and only when standard error is a terminal.

Piped or redirected output, logs and ``--json`` documents on standard output never carry a
bar: without a terminal :func:`bar` gives a bar that draws nothing. While a bar is drawn,
what the command prints to a standard output that is the same terminal appears above it.

    with progress.bar("index sync", total=n) as b:
        for part in parts:
            ...
            b.update(completed=done, info=f"{errors} errors")
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def interactive() -> bool:
    """Is standard error a terminal that can draw a bar?"""
    stream = sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)()) and os.environ.get("TERM") != "dumb"


class Bar:
    """A bar that draws nothing (no terminal); :class:`_RichBar` draws."""

    def update(self, completed: float | None = None, total: float | None = None,
               info: str | None = None) -> None:
        """Set how far the job is (``completed`` of ``total``; ``info``: a short status)."""

    def advance(self, n: float = 1) -> None:
        """``n`` more units done."""

    def note(self, text: str) -> None:
        """A line for the person watching, above the bar (on standard error)."""
        print(text, file=sys.stderr, flush=True)


class _RichBar(Bar):
    def __init__(self, progress: Any, task: Any) -> None:
        self.progress, self.task = progress, task

    def update(self, completed: float | None = None, total: float | None = None,
               info: str | None = None) -> None:
        fields: dict[str, Any] = {}
        if info is not None:
            fields["info"] = info
        self.progress.update(self.task, completed=completed, total=total, **fields)

    def advance(self, n: float = 1) -> None:
        self.progress.advance(self.task, n)

    def note(self, text: str) -> None:
        self.progress.console.print(text, markup=False, highlight=False)


@contextmanager
def bar(description: str, total: float | None = None) -> Iterator[Bar]:
    """A progress bar for one job (``total`` None: unknown, the bar pulses)."""
    if not interactive():
        yield Bar()
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(stderr=True)
    progress = Progress(
        SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
        MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.fields[info]}"),
        console=console, transient=False,
        # stdout goes through the bar's console only when it is that same terminal;
        # redirected stdout (a file, a pipe, --json) is never touched
        redirect_stdout=bool(getattr(sys.stdout, "isatty", lambda: False)()),
        redirect_stderr=True,
    )
    with progress:
        task = progress.add_task(description, total=total, info="")
        yield _RichBar(progress, task)
