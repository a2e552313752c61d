"""``rlkit plot``: a learning curve from any run's ``metrics.csv``, as an SVG file.

Every trainer writes ``metrics.csv`` with a header row and one row per logging interval
(``steps``, ``episodes``, ``return_mean``, ``length_mean`` and the agent's own metrics, e.g.
``pubeval_ppg`` for TD(λ)). ``rlkit plot RUN`` draws one column against another::

    rlkit plot runs/cliff                                   # return_mean by steps
    rlkit plot runs/td --y pubeval_ppg --x episodes --smooth 10 --out docs/td_gammon_curve.svg

Defaults: x is ``steps`` (else the first column); y is ``return_mean`` when present, else the
first other column holding a number. Rows whose x or y is empty, not a number or not finite
(NaN before a first evaluation) are skipped. ``--smooth K`` draws the running mean of the last
``K`` points over the raw curve. The SVG is written by hand (no plotting library), atomically,
to ``RUN/<y>.svg`` unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import csv
import math
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from rlkit.errors import RlkitError, SpecError

__all__ = [
    "Series",
    "add_parser",
    "metrics_path",
    "nice_ticks",
    "plot_run",
    "read_metrics",
    "running_mean",
    "select_series",
    "svg_plot",
]

WIDTH, HEIGHT = 720, 420
"""Size of the picture in pixels."""
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 40, 55
"""Margins around the plotting area (room for tick labels, axis labels and the title)."""


@dataclass(frozen=True)
class Series:
    """The points of one column against another.

    Attributes:
        points: ``(x, y)`` pairs in file order, both finite.
        x_column, y_column: the columns they come from.
    """

    points: list[tuple[float, float]]
    x_column: str
    y_column: str


def metrics_path(run: str | Path) -> Path:
    """The metrics file a ``RUN`` argument names: ``RUN/metrics.csv`` for a folder.

    Raises:
        RlkitError: no such file or folder, or a folder without ``metrics.csv``.
    """
    path = Path(run)
    if path.is_dir():
        path = path / "metrics.csv"
        if not path.is_file():
            raise RlkitError(f"{str(run)!r} has no metrics.csv (is it a run folder?)")
    elif not path.is_file():
        raise RlkitError(f"{str(run)!r} does not exist (give a run folder or a metrics.csv)")
    return path


def read_metrics(path: Path) -> tuple[list[str], list[list[str]]]:
    """The header and the data rows of a CSV file.

    Raises:
        RlkitError: unreadable or empty file, or no header.
    """
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = [row for row in csv.reader(f) if row]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise RlkitError(f"cannot read {str(path)!r}: {exc}") from None
    if not rows:
        raise RlkitError(f"{str(path)!r} is empty: no header and no rows to plot")
    header = [name.strip() for name in rows[0]]
    return header, rows[1:]


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def select_series(
    header: list[str],
    rows: list[list[str]],
    x_column: str | None = None,
    y_column: str | None = None,
    *,
    where: str = "metrics.csv",
) -> Series:
    """Pick the x and y columns (defaults in the module docstring) and their finite points.

    Raises:
        SpecError: a column that is not in the header (the message lists the columns).
        RlkitError: no rows, or no row where both columns hold finite numbers.
    """
    from rlkit.specs import did_you_mean

    for name in (x_column, y_column):
        if name is not None and name not in header:
            raise SpecError(
                f"{where} has no column {name!r}{did_you_mean(name, header)} "
                f"(columns: {', '.join(header)})"
            )
    if not rows:
        raise RlkitError(f"{where} has a header but no rows yet")
    if x_column is None:
        x_column = "steps" if "steps" in header else header[0]
    if y_column is None:
        if "return_mean" in header and x_column != "return_mean":
            y_column = "return_mean"
        else:
            y_column = next(
                (
                    name
                    for i, name in enumerate(header)
                    if name != x_column
                    and any(i < len(r) and _number(r[i]) is not None for r in rows)
                ),
                None,
            )
            if y_column is None:
                raise RlkitError(f"{where} has no numeric column besides {x_column!r} to plot")
    xi, yi = header.index(x_column), header.index(y_column)
    points = []
    for row in rows:
        if max(xi, yi) < len(row):
            x, y = _number(row[xi]), _number(row[yi])
            if x is not None and y is not None:
                points.append((x, y))
    if not points:
        raise RlkitError(
            f"{where}: no row has finite numbers in both {x_column!r} and {y_column!r}"
        )
    return Series(points, x_column, y_column)


def running_mean(values: list[float], k: int) -> list[float]:
    """Mean of the last ``k`` values at each position (fewer at the start).

    >>> running_mean([1.0, 2.0, 3.0, 4.0], 2)
    [1.0, 1.5, 2.5, 3.5]
    """
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= k:
            total -= values[i - k]
        out.append(total / min(i + 1, k))
    return out


def nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """Round tick values (steps of 1, 2 or 5 times a power of ten) covering ``[low, high]``.

    >>> nice_ticks(0.0, 1000.0)
    [0.0, 200.0, 400.0, 600.0, 800.0, 1000.0]
    """
    span = high - low or abs(high) or 1.0
    step = 10 ** math.floor(math.log10(span / count))
    for factor in (1, 2, 5, 10):
        if span / (step * factor) <= count:
            step *= factor
            break
    start = math.floor(low / step) * step
    ticks = [start + i * step for i in range(int((high - start) / step) + 2)]
    # Drop a last tick beyond the data when the one before already covers it.
    if len(ticks) > 2 and ticks[-2] >= high:
        ticks.pop()
    return [float(round(t, 12)) for t in ticks]


def _axis_range(values: list[float]) -> tuple[float, float]:
    """The data range, stretched to include 0 when that at most doubles it (so that curves
    near zero show the zero line, and a loss around 1000 is not flattened against it)."""
    low, high = min(values), max(values)
    if low > 0 and low <= high - low:
        low = 0.0
    elif high < 0 and -high <= high - low:
        high = 0.0
    return low, high


def _tick_text(value: float, step: float) -> str:
    if step >= 1 and float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:g}"


def svg_plot(
    points: list[tuple[float, float]],
    *,
    smooth: int = 1,
    title: str = "",
    x_label: str = "",
    y_label: str = "",
) -> str:
    """An SVG line plot of ``points`` (at least one), as text.

    The raw curve is one ``<polyline>`` with a vertex per point; with ``smooth > 1`` a second,
    darker polyline draws :func:`running_mean` of the y values over ``smooth`` points.
    """
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    smoothed = running_mean(ys, smooth) if smooth > 1 else []
    y_ticks = nice_ticks(*_axis_range(ys + smoothed))
    x_ticks = nice_ticks(*_axis_range(xs))
    x_lo, x_hi, y_lo, y_hi = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]
    x_step = x_ticks[1] - x_ticks[0] if len(x_ticks) > 1 else 1.0

    def sx(x: float) -> float:
        return LEFT + (x - x_lo) / (x_hi - x_lo) * (WIDTH - LEFT - RIGHT)

    def sy(y: float) -> float:
        return HEIGHT - BOTTOM - (y - y_lo) / (y_hi - y_lo) * (HEIGHT - TOP - BOTTOM)

    def polyline(curve: list[float], style: str) -> str:
        coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in zip(xs, curve, strict=True))
        return f'<polyline fill="none" {style} points="{coords}"/>'

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="22" text-anchor="middle" font-size="15">{escape(title)}</text>',
    ]
    for y in y_ticks:
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" '
            f'stroke="{"#888" if y == 0 else "#e5e5e5"}"/>'
        )
        parts.append(f'<text x="{LEFT - 8}" y="{sy(y) + 4:.1f}" text-anchor="end">{y:g}</text>')
    for x in x_ticks:
        parts.append(
            f'<text x="{sx(x):.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">'
            f"{_tick_text(x, x_step)}</text>"
        )
    if smooth > 1:
        parts.append(polyline(ys, 'stroke="#9ecae1" stroke-width="1"'))
        parts.append(polyline(smoothed, 'stroke="#08519c" stroke-width="2"'))
    else:
        parts.append(polyline(ys, 'stroke="#08519c" stroke-width="1.5"'))
    if len(points) == 1:  # a polyline of one vertex draws nothing
        parts.append(f'<circle cx="{sx(xs[0]):.1f}" cy="{sy(ys[0]):.1f}" r="3" fill="#08519c"/>')
    parts += [
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 12}" '
        f'text-anchor="middle">{escape(x_label)}</text>',
        f'<text x="18" y="{(TOP + HEIGHT - BOTTOM) / 2}" text-anchor="middle" '
        f'transform="rotate(-90 18 {(TOP + HEIGHT - BOTTOM) / 2})">{escape(y_label)}</text>',
        "</svg>",
    ]
    return "\n".join(parts) + "\n"


def _default_out(path: Path, y_column: str) -> Path:
    """``<folder of metrics.csv>/<y>.svg``, the column name made safe as a file name."""
    return path.parent / (re.sub(r"[^A-Za-z0-9._-]+", "_", y_column).strip("._") + ".svg")


def plot_run(
    run: str | Path,
    *,
    y: str | None = None,
    x: str | None = None,
    out: str | Path | None = None,
    smooth: int = 1,
    title: str | None = None,
    x_label: str | None = None,
    y_label: str | None = None,
) -> tuple[Path, Series]:
    """Plot a run's metrics and write the SVG.

    Args:
        run: a run folder or a metrics CSV file.
        y, x: column names (None: the defaults of the module docstring).
        out: the SVG file (None: ``<y>.svg`` beside the metrics file).
        smooth: running-mean window in points (1: no smoothing).
        title, x_label, y_label: texts (None: the run's name and the column names).

    Returns:
        The path written and the plotted points.

    Raises:
        SpecError: an unknown column, or ``smooth`` below 1.
        RlkitError: a missing or empty file, no finite values, or an unwritable ``out``.
    """
    from rlkit.checkpoint import write_atomically

    if smooth < 1:
        raise SpecError(f"--smooth must be at least 1 point, got {smooth}")
    path = metrics_path(run)
    header, rows = read_metrics(path)
    series = select_series(header, rows, x, y, where=str(path))
    target = Path(out) if out is not None else _default_out(path, series.y_column)
    if target.is_dir():
        raise SpecError(f"--out must name an SVG file; {str(target)!r} is a folder")
    for ancestor in target.parents:  # mkdir would fail with a bare "File exists"
        if ancestor.exists():
            if not ancestor.is_dir():
                raise RlkitError(f"cannot write {str(target)!r}: {str(ancestor)!r} is a file")
            break
    run_name = path.parent.name if path.name == "metrics.csv" else path.stem
    text = svg_plot(
        series.points,
        smooth=smooth,
        title=title if title is not None else f"{run_name}: {series.y_column}",
        x_label=x_label if x_label is not None else series.x_column,
        y_label=y_label if y_label is not None else series.y_column,
    )
    try:
        write_atomically(target, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    except OSError as exc:
        raise RlkitError(f"cannot write {str(target)!r}: {exc.strerror or exc}") from None
    return target, series


# -- command line -------------------------------------------------------------------------------
def add_parser(subparsers: Any) -> None:
    """Register ``rlkit plot``."""
    p = subparsers.add_parser(
        "plot",
        help="plot a column of a run's metrics.csv as an SVG",
        description="Draw one column of a run's metrics.csv against another as an SVG file "
        "and print its path.",
    )
    # dest is not "run": that name holds the command's function (set_defaults below).
    p.add_argument("run_path", metavar="RUN", help="run folder, or a metrics.csv file")
    p.add_argument(
        "--y",
        metavar="COLUMN",
        help="column to plot (default: return_mean, else the first numeric)",
    )
    p.add_argument(
        "--x", metavar="COLUMN", help="column along the x axis (default: steps, else the first)"
    )
    p.add_argument(
        "--out", type=Path, metavar="FILE", help="SVG file to write (default: RUN/<y>.svg)"
    )
    p.add_argument(
        "--smooth",
        type=int,
        default=1,
        metavar="K",
        help="also draw the running mean over K points (default: 1, no smoothing)",
    )
    p.add_argument("--title", help="title above the plot (default: the run's name and y)")
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    path, _ = plot_run(
        args.run_path, y=args.y, x=args.x, out=args.out, smooth=args.smooth, title=args.title
    )
    print(path)
    return 0
