"""Argument types and shared options of the ``rlkit`` commands (argparse ``type=`` callables).

Each turns a bad value into argparse's one-line error (``rlkit: error: argument --seed:
expected a non-negative integer seed, got '-1'``), so every command checks its numbers the same
way, including commands that modules register (tournament, ratings, plot).
"""

from __future__ import annotations

import argparse
import math

THREADS_HELP = "torch CPU threads (1 is fastest for the small networks rlkit trains)"


def _integer(text: str, minimum: int, what: str) -> int:
    try:
        value = int(text) if text.strip().isascii() else minimum - 1
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An integer of at least 1."""
    return _integer(text, 1, "a positive integer")


def non_negative_int(text: str) -> int:
    """An integer of at least 0."""
    return _integer(text, 0, "a non-negative integer")


def seed(text: str) -> int:
    """A seed: a non-negative integer (numpy refuses negative seeds)."""
    return _integer(text, 0, "a non-negative integer seed")


def finite_float(text: str) -> float:
    """A number that is neither infinite nor NaN."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """A finite number greater than zero (a time budget in minutes)."""
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def add_runtime_options(parser: argparse.ArgumentParser, threads_default: int | None = 1) -> None:
    """``--device`` and ``--threads``: run-time settings, never hyper-parameters."""
    parser.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        help="where networks run: auto picks CUDA when present (default: auto for checkpoints, "
        "the agent's own setting otherwise)",
    )
    parser.add_argument(
        "--threads", type=positive_int, default=threads_default, help=THREADS_HELP
    )
