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
