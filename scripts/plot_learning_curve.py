"""Plot the TD(λ) backgammon learning curve (a thin wrapper over ``rlkit plot``).

Points per game against pubeval by self-play games, as written by
``rlkit train td-lambda --env backgammon``, with the titles of the README's figure::

    python scripts/plot_learning_curve.py runs/td/metrics.csv -o docs/td_gammon_curve.svg

The same plot for any run and column: ``rlkit plot RUN --y COLUMN [--x COLUMN] [--smooth K]``
(see :mod:`rlkit.plot`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rlkit.errors import RlkitError
from rlkit.plot import plot_run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("metrics", type=Path, help="a run's metrics.csv (or the run folder)")
    parser.add_argument("-o", "--output", type=Path, default=Path("learning_curve.svg"))
    parser.add_argument("--x", default="episodes", help="x column (default: episodes)")
    parser.add_argument("--y", default="pubeval_ppg", help="y column (default: pubeval_ppg)")
    parser.add_argument("--smooth", type=int, default=10, help="running-mean window (points)")
    parser.add_argument("--title", default="TD(λ) self-play: points per game against pubeval")
    parser.add_argument("--x-label", default="self-play games")
    parser.add_argument("--y-label", default="points per game vs pubeval")
    args = parser.parse_args()
    try:
        path, series = plot_run(
            args.metrics,
            y=args.y,
            x=args.x,
            out=args.output,
            smooth=args.smooth,
            title=args.title,
            x_label=args.x_label,
            y_label=args.y_label,
        )
    except RlkitError as exc:
        print(f"plot_learning_curve: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({len(series.points)} points)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
