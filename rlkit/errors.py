"""Errors a user can cause and fix.

Every exception here carries a message written for the person at the command line: what was
wrong and, where possible, what would be right. The CLI prints it on one line and exits with
status 2; the Python API lets it propagate.
"""

from __future__ import annotations


class RlkitError(Exception):
    """Base class of all user-facing rlkit errors."""


class UnknownNameError(RlkitError, KeyError):
    """An environment or agent name that no registry, entry point or module knows."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class SpecError(RlkitError, ValueError):
    """A malformed spec string or a parameter of the wrong name, type or value."""


class CheckpointError(RlkitError):
    """A checkpoint that is missing, truncated, corrupt or made by something else."""


class IncompatibleEnvError(RlkitError, ValueError):
    """An agent that cannot act in the given environment (e.g. wrong space type)."""


def caused_by_interrupt(exc: BaseException) -> bool:
    """Whether a KeyboardInterrupt lies anywhere down ``exc``'s cause/context chain.

    numba wraps a Ctrl-C that arrives while it dispatches a compiled kernel in one to four
    SystemErrors ("returned a result with an exception set"), or, while a kernel loads from
    its cache, a RuntimeError; the compiled games and the CLI both need to see the interrupt.
    """
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        if isinstance(link, KeyboardInterrupt):
            return True
        seen.add(id(link))
        link = link.__cause__ or link.__context__
    return False
