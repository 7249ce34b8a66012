"""Shell completion of ``likewatch`` with argcomplete (the parser tree is argparse's).

Turn it on for your shell once (``docs/cli.md``)::

    eval "$(likewatch completion bash)"            # in ~/.bashrc (zsh: ... completion zsh)
    likewatch completion fish > ~/.config/fish/completions/likewatch.fish

or, for every argcomplete program at once, ``activate-global-python-argcomplete`` (the
``likewatch`` command carries the ``PYTHON_ARGCOMPLETE_OK`` marker it looks for).

How it works: the shell function runs ``likewatch`` with ``_ARGCOMPLETE=1`` and the line
being edited in ``COMP_LINE`` / ``COMP_POINT``; :func:`complete` (called by
``likewatch.cli.main`` before parsing) answers with the candidates and exits, so no
subcommand runs. Subcommands, options and choices complete; ``FILE`` arguments complete
file names.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

SHELLS = ("bash", "zsh", "fish", "tcsh", "powershell")


def wanted() -> bool:
    """Is this process a completion request from the shell?"""
    return "_ARGCOMPLETE" in os.environ


def complete(parser: argparse.ArgumentParser) -> None:
    """Answer a completion request and exit (does nothing otherwise)."""
    import argcomplete

    argcomplete.autocomplete(parser, always_complete_options="long")


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """``likewatch completion SHELL``."""
    p = sub.add_parser("completion", help="print the shell code that turns on completion",
                       description="Print the code that makes your shell complete likewatch's "
                       "subcommands and options. Bash: eval \"$(likewatch completion bash)\" in "
                       "~/.bashrc; zsh likewise with zsh; fish: likewatch completion fish > "
                       "~/.config/fish/completions/likewatch.fish.")
    p.add_argument("shell", nargs="?", choices=SHELLS, default="bash",
                   help="the shell to print the code for (default bash)")
    p.set_defaults(func=_cmd_completion)


def _cmd_completion(args: argparse.Namespace) -> int:
    from argcomplete.shell_integration import shellcode

    sys.stdout.write(shellcode(["likewatch"], shell=args.shell))
    return 0
