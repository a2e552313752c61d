"""Plot a learning curve from a run's metrics.csv as an SVG (no plotting library needed).

The default is the TD(λ) backgammon curve: points per game against pubeval by self-play
games, as written by ``rlkit train td-lambda --env backgammon``::

    python scripts/plot_learning_curve.py runs/td/metrics.csv -o docs/td_gammon_curve.svg

Rows whose value is empty or NaN (before the first evaluation) are skipped. ``--smooth K``
draws the running mean of the last K points over the raw ones.
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path

WIDTH, HEIGHT = 720, 420
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 40, 55


def read_series(path: Path, x_column: str, y_column: str) -> list[tuple[float, float]]:
    """The (x, y) pairs of two columns, skipping rows without a finite y."""
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if rows and (x_column not in rows[0] or y_column not in rows[0]):
        raise SystemExit(
            f"{path}: needs columns {x_column!r} and {y_column!r}; has {list(rows[0])}"
        )
    points = []
    for row in rows:
        try:
            x, y = float(row[x_column]), float(row[y_column])
        except ValueError:
            continue
        if math.isfinite(y):
            points.append((x, y))
    return points


def running_mean(values: list[float], k: int) -> list[float]:
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= k:
            total -= values[i - k]
        out.append(total / min(i + 1, k))
    return out


def nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """Round tick values covering [low, high]."""
    span = high - low or 1.0
    step = 10 ** math.floor(math.log10(span / count))
    for factor in (1, 2, 5, 10):
        if span / (step * factor) <= count:
            step *= factor
            break
    start = math.floor(low / step) * step
    return [start + i * step for i in range(int((high - start) / step) + 2)]


def svg_plot(
    points: list[tuple[float, float]], smooth: int, title: str, x_label: str, y_label: str
) -> str:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    y_ticks = nice_ticks(min(*ys, 0.0), max(*ys, 0.0))
    x_ticks = nice_ticks(0.0, max(xs))
    x_lo, x_hi, y_lo, y_hi = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]

    def sx(x: float) -> float:
        return LEFT + (x - x_lo) / (x_hi - x_lo) * (WIDTH - LEFT - RIGHT)

    def sy(y: float) -> float:
        return HEIGHT - BOTTOM - (y - y_lo) / (y_hi - y_lo) * (HEIGHT - TOP - BOTTOM)

    def polyline(values: list[float], style: str) -> str:
        coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in zip(xs, values, strict=True))
        return f'<polyline fill="none" {style} points="{coords}"/>'

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="22" text-anchor="middle" font-size="15">{title}</text>',
    ]
    for y in y_ticks:
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" '
            f'stroke="{"#888" if y == 0 else "#e5e5e5"}"/>'
        )
        parts.append(f'<text x="{LEFT - 8}" y="{sy(y) + 4:.1f}" text-anchor="end">{y:g}</text>')
    for x in x_ticks:
        parts.append(
            f'<text x="{sx(x):.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">{x:,.0f}</text>'
        )
    parts.append(polyline(ys, 'stroke="#9ecae1" stroke-width="1"'))
    if smooth > 1:
        parts.append(polyline(running_mean(ys, smooth), 'stroke="#08519c" stroke-width="2"'))
    parts += [
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 12}" '
        f'text-anchor="middle">{x_label}</text>',
        f'<text x="18" y="{(TOP + HEIGHT - BOTTOM) / 2}" text-anchor="middle" '
        f'transform="rotate(-90 18 {(TOP + HEIGHT - BOTTOM) / 2})">{y_label}</text>',
        "</svg>",
    ]
    return "\n".join(parts) + "\n"


def main() -> None:
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
    path = args.metrics / "metrics.csv" if args.metrics.is_dir() else args.metrics
    points = read_series(path, args.x, args.y)
    if len(points) < 2:
        raise SystemExit(f"{path}: fewer than two points to plot in column {args.y!r}")
    args.output.write_text(svg_plot(points, args.smooth, args.title, args.x_label, args.y_label))
    print(f"wrote {args.output} ({len(points)} points)")


if __name__ == "__main__":
    main()
