"""Progress bars draw on a terminal only; elsewhere only the notes are printed."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

from likewatch import progress

SCRIPT = """
import json, sys
from likewatch import progress
with progress.bar("counting", total=3) as bar:
    for i in range(3):
        bar.advance()
    bar.note("a note for the operator")
print(json.dumps({"done": 3}))
"""


def test_no_terminal_no_bar(capsys):
    assert progress.interactive() is False  # pytest captures stderr: not a terminal
    with progress.bar("job", total=10) as bar:
        bar.update(5, 10, info="half")
        bar.advance(5)
        bar.note("visible note")
    out, err = capsys.readouterr()
    assert out == "" and err == "visible note\n"


def test_on_a_terminal_the_bar_draws_on_stderr_and_stdout_stays_clean():
    master, slave = pty.openpty()
    proc = subprocess.run([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, stderr=slave,
                          env=dict(os.environ, TERM="xterm", COLUMNS="100"), timeout=60)
    os.close(slave)
    shown = b""
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        shown += data
    os.close(master)
    assert proc.returncode == 0
    assert proc.stdout == b'{"done": 3}\n'  # the bar never reaches a redirected stdout
    text = shown.decode("utf-8", "replace")
    assert "counting" in text and "3/3" in text and "a note for the operator" in text
    assert "\x1b[" in text  # drawn with terminal control sequences
