"""Maximum-likelihood Elo ratings from game results, and ``rlkit ratings``.

Model (Bradley–Terry on the Elo scale; Bradley & Terry 1952, Elo 1978). Player ``a`` rated
``r_a`` beats ``b`` rated ``r_b`` with probability::

    P(a beats b) = 1 / (1 + 10 ** ((r_b - r_a) / 400))

A game in which ``a`` scores ``s`` in [0, 1] (1 win, 0.5 draw, 0 loss) adds
``s · log p + (1 - s) · log(1 - p)`` to the log-likelihood, so a draw counts as half a win and
half a loss. Only the points each player scored against each opponent, and the number of games
between them, enter the likelihood.

Prior. Without one, a player who won (or lost) every game has no finite maximum-likelihood
rating. Each player therefore also plays ``prior_games`` virtual games against a virtual
opponent rated at the mean of all players, scoring exactly half of them. This pulls every
rating towards the mean by about as much as ``prior_games`` drawn games would; it cannot move
the mean itself (it depends only on differences), and it fades as real games accumulate: two
players where one scored 3 of 4 points differ by 400·log10(3) ≈ 190.8 Elo without the prior
and by 145.8 with the default 2 virtual games each; with 300 of 400 points, 190.8 and 190.2.
``prior_games=0`` gives the plain maximum-likelihood fit, which exists only when no group of
players scored every point against the rest (otherwise a one-line error says who).

Fit. Newton's method with a backtracking line search maximises the (concave) log-posterior over
all ratings but the anchor's, to a step below 1e-9 Elo. (OpenSpiel's ``evaluation/elo.cc`` uses
the MM iteration of Hunter 2004, Ann. Statist. 32:384–406, which converges linearly; Newton
converges quadratically and also yields the curvature needed for the intervals.)

Anchor. Ratings are only defined up to a common shift. The first player (in ``players`` order,
or order of first appearance) is fixed at ``anchor_elo``, or the player named by ``anchor``.

Intervals. ``interval="curvature"``: the covariance of the ratings is the inverse of the
observed information (the negative Hessian of the log-posterior, prior included) with the anchor
held fixed, so each interval is the uncertainty of that player *relative to the anchor*; the
anchor's own interval has zero width. ``rating ± Z95 · sd``. ``interval="bootstrap"``: games are
resampled with replacement within each pairing (so every pairing keeps its number of games),
the ratings refitted, and the 2.5% and 97.5% percentiles of each player's anchored rating taken;
seeded, so the same seed gives the same intervals. Draws make a game's score less variable than
the model's win/loss coin, so with many draws the curvature intervals are somewhat conservative.

Likelihood of superiority (LOS) of a player over the next one in the table is
``Φ((r_i - r_j) / sqrt(var_i + var_j - 2 cov_ij))`` with the curvature covariance (whatever the
intervals), which does not depend on the choice of anchor.

>>> games = [GameResult("a", "b", 1.0)] * 3 + [GameResult("a", "b", 0.0)]
>>> table = fit_elo(games, prior_games=0)
>>> [(r.name, round(r.elo, 6)) for r in table.ratings]
[('a', 0.0), ('b', -190.848502)]
>>> round(400 * math.log10(3), 6)
190.848502
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rlkit.errors import SpecError
from rlkit.stats import Z95, normal_cdf

ELO_PER_NAT = 400.0 / math.log(10.0)
"""Elo points per natural-log unit of the odds: 10**(Δ/400) = exp(Δ / ELO_PER_NAT)."""
TOLERANCE_ELO = 1e-9
"""Newton stops once its step is below this many Elo points (convergence is quadratic)."""
MAX_NEWTON_STEPS = 200


@dataclass(frozen=True)
class GameResult:
    """One game, from the point of view of ``a``.

    Attributes:
        a: the first player's name.
        b: the second player's name (not ``a``).
        score: what ``a`` scored: 1 win, 0.5 draw, 0 loss; any value in [0, 1] is allowed.
    """

    a: str
    b: str
    score: float


@dataclass(frozen=True)
class Rating:
    """One player's line in a rating table.

    Attributes:
        name: the player.
        elo: the anchored rating.
        ci95: the 95% interval (lower, upper) in Elo, relative to the anchor.
        games: real games played.
        score: points scored per game, in [0, 1].
    """

    name: str
    elo: float
    ci95: tuple[float, float]
    games: int
    score: float


@dataclass(frozen=True)
class RatingTable:
    """Fitted ratings, best first, with neighbour LOS and the crosstable.

    Attributes:
        ratings: one ``Rating`` per player, sorted by Elo, best first.
        likelihood_of_superiority: ``[i]`` is the probability that ``ratings[i]`` is stronger
            than ``ratings[i + 1]``; length ``len(ratings) - 1``.
        crosstable: ``crosstable[row][col] = (points row scored against col, games)`` for
            every pair that played; rows and columns in table order (every player has a row).
        anchor: the player held at ``anchor_elo``.
        anchor_elo: the anchor's rating.
        interval: how the intervals were computed, e.g. ``"curvature"`` or
            ``"bootstrap (1000 samples, seed 0)"``.
    """

    ratings: list[Rating]
    likelihood_of_superiority: list[float]
    crosstable: dict[str, dict[str, tuple[float, int]]]
    anchor: str = ""
    anchor_elo: float = 0.0
    interval: str = "curvature"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ratings (list of dicts), LOS, crosstable, anchor, interval."""
        return {
            "ratings": [
                {
                    "name": r.name,
                    "elo": r.elo,
                    "ci95": list(r.ci95),
                    "games": r.games,
                    "score": r.score,
                }
                for r in self.ratings
            ],
            "likelihood_of_superiority": list(self.likelihood_of_superiority),
            "crosstable": {
                row: {col: [points, games] for col, (points, games) in cells.items()}
                for row, cells in self.crosstable.items()
            },
            "anchor": self.anchor,
            "anchor_elo": self.anchor_elo,
            "interval": self.interval,
        }

    def format(self) -> str:
        """The table a person reads: ratings with intervals and LOS, then the crosstable.

        ``-``/``+`` are the distances from the rating down to the lower and up to the upper
        end of the 95% interval; ``LOS`` is the likelihood that the player is stronger than
        the one on the next line. Crosstable columns are numbered by rank; a cell is the row
        player's points and games against that column (``-`` on the diagonal, blank when the
        two did not play).
        """
        total_games = sum(r.games for r in self.ratings) // 2
        width = max(4, *(len(r.name) for r in self.ratings))
        lines = [
            f"{total_games} games, {len(self.ratings)} players; Elo with 95% intervals "
            f"({self.interval}), anchored at {self.anchor} = {self.anchor_elo:g}",
            "",
            f"{'rank':>4}  {'name':<{width}}  {'Elo':>8}  {'-':>6}  {'+':>6}  {'games':>6}  "
            f"{'score':>6}  {'LOS':>6}",
        ]
        for rank, r in enumerate(self.ratings, 1):
            los = (
                f"{100 * self.likelihood_of_superiority[rank - 1]:5.1f}%"
                if rank < len(self.ratings)
                else ""
            )
            lines.append(
                f"{rank:>4}  {r.name:<{width}}  {r.elo:8.1f}  {r.elo - r.ci95[0]:6.1f}  "
                f"{r.ci95[1] - r.elo:6.1f}  {r.games:>6}  {100 * r.score:5.1f}%  {los:>6}"
            )
        lines += ["", "crosstable (points/games of the row player against the column):"]
        names = [r.name for r in self.ratings]
        cells = [
            ["-" if row == col else _points_text(self.crosstable[row].get(col)) for col in names]
            for row in names
        ]
        cell_width = max(3, *(len(cell) for line in cells for cell in line))
        header = " ".join(f"{j:>{cell_width}}" for j in range(1, len(names) + 1))
        lines.append(f"{'':>4}  {'':<{width}}  {header}")
        for rank, (name, line) in enumerate(zip(names, cells, strict=True), 1):
            row = " ".join(f"{cell:>{cell_width}}" for cell in line)
            lines.append(f"{rank:>4}  {name:<{width}}  {row}")
        return "\n".join(line.rstrip() for line in lines)


def _points_text(cell: tuple[float, int] | None) -> str:
    """``(7.5, 10)`` -> ``"7.5/10"``; no games -> ``""``."""
    if cell is None:
        return ""
    points, games = cell
    text = f"{points:.2f}".rstrip("0").rstrip(".")
    return f"{text}/{games}"


# --------------------------------------------------------------------------- the likelihood


def _log_posterior(
    theta: np.ndarray, points: np.ndarray, games: np.ndarray, prior_games: float
) -> tuple[float, np.ndarray, np.ndarray]:
    """Log-likelihood plus log-prior, its gradient and Hessian, in natural-log units.

    Args:
        theta: ratings divided by ``ELO_PER_NAT``; shape (n,).
        points: ``points[i, j]`` = points i scored against j; shape (n, n), zero diagonal.
        games: ``games[i, j]`` = games between i and j (symmetric); shape (n, n).
        prior_games: virtual games per player at 50% against the mean (see module docstring).

    Returns:
        ``(value, gradient (n,), hessian (n, n))``.
    """
    diff = theta[:, None] - theta[None, :]
    log_p = -np.logaddexp(0.0, -diff)  # log P(i beats j), stable for large |diff|
    p = np.exp(log_p)
    # Σ_{i≠j} S_ij log p_ij covers both sides of each pair, since S_ji = N_ij - S_ij.
    value = float(np.sum(points * log_p))
    gradient = (points - games * p).sum(axis=1)
    weight = games * p * (1.0 - p)
    hessian = weight - np.diag(weight.sum(axis=1))
    if prior_games > 0:
        # Virtual games against an opponent at the mean m: (g/2)(log σ(d) + log σ(-d)), d = θ - m.
        d = theta - theta.mean()
        value += 0.5 * prior_games * float(np.sum(-np.logaddexp(0.0, -d) - np.logaddexp(0.0, d)))
        sigma = np.exp(-np.logaddexp(0.0, -d))
        grad_d = 0.5 * prior_games * (1.0 - 2.0 * sigma)
        gradient = gradient + grad_d - grad_d.mean()  # chain rule through d = (I - J/n) θ
        h = np.diag(-prior_games * sigma * (1.0 - sigma))
        hessian = hessian + h - h.mean(axis=0) - h.mean(axis=1)[:, None] + h.mean()
    return value, gradient, hessian


def _maximise(
    points: np.ndarray,
    games: np.ndarray,
    prior_games: float,
    anchor: int,
    start: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Newton's method with backtracking on the log-posterior, ``theta[anchor]`` held at 0.

    Returns:
        ``(theta (n,), hessian (n, n))`` at the maximum.
    """
    free = np.arange(len(start)) != anchor
    theta = start - start[anchor]
    value, gradient, hessian = _log_posterior(theta, points, games, prior_games)
    for _ in range(MAX_NEWTON_STEPS):
        step = np.linalg.solve(-hessian[np.ix_(free, free)], gradient[free])
        if np.max(np.abs(step)) * ELO_PER_NAT < TOLERANCE_ELO:
            theta[free] += step
            return theta, _log_posterior(theta, points, games, prior_games)[2]
        # Backtrack (Armijo rule): far from the optimum a full step can overshoot. Near it the
        # change in value is at the level of round-off, which the allowance absorbs.
        slope = float(gradient[free] @ step)
        round_off = 1e-12 * (1.0 + abs(value))
        t = 1.0
        while True:
            candidate = theta.copy()
            candidate[free] += t * step
            new = _log_posterior(candidate, points, games, prior_games)
            if new[0] >= value + 1e-4 * t * slope - round_off:
                break
            t *= 0.5
            if t < 1e-10:
                raise RuntimeError("Elo fit: the line search found no ascent")
        theta, (value, gradient, hessian) = candidate, new
    raise RuntimeError(f"Elo fit did not converge in {MAX_NEWTON_STEPS} Newton steps")


def _divergence(points: np.ndarray, names: Sequence[str]) -> str | None:
    """Why the prior-free maximum-likelihood ratings are infinite, or None when they exist.

    They exist exactly when the graph "i scored against j" is strongly connected (Zermelo
    1929; Hunter 2004, Assumption 1): otherwise some group won every point it played against
    the rest.
    """
    scored = points > 0

    def reach(edges: np.ndarray) -> np.ndarray:
        seen = np.zeros(len(names), dtype=bool)
        seen[0] = True
        frontier = seen.copy()
        while frontier.any():
            frontier = edges[frontier].any(axis=0) & ~seen
            seen |= frontier
        return seen

    below = reach(scored)  # everyone player 0 scored against, transitively
    if below.all():
        above = reach(scored.T)  # everyone who scored against player 0, transitively
        if above.all():
            return None
        top, bottom = above, ~above
    else:
        top, bottom = ~below, below
    return (
        "with prior_games=0 the ratings are infinite: "
        f"{', '.join(n for n, t in zip(names, top, strict=True) if t)} scored every point "
        f"against (or never played) {', '.join(n for n, b in zip(names, bottom, strict=True) if b)}"
        "; use prior_games > 0 or add games between them"
    )


# --------------------------------------------------------------------------- fitting


MAX_BOOTSTRAP = 100_000
"""Bootstrap refits at most (each holds a row of points per pairing); 1,000 is plenty."""


def fit_elo(
    results: Iterable[GameResult],
    *,
    anchor: str | None = None,
    anchor_elo: float = 0.0,
    prior_games: float = 2.0,
    interval: Literal["curvature", "bootstrap"] = "curvature",
    bootstrap_samples: int = 1000,
    seed: int = 0,
    players: Sequence[str] | None = None,
) -> RatingTable:
    """Maximum-likelihood (with a weak prior) Elo ratings of the players in ``results``.

    Args:
        results: the games; each from the point of view of its ``a``.
        anchor: the player held at ``anchor_elo``; default the first player.
        anchor_elo: the anchor's rating; every rating shifts by exactly this.
        prior_games: virtual 50% games per player against the mean (see module docstring);
            0 for the plain maximum-likelihood fit.
        interval: ``"curvature"`` (inverse Hessian) or ``"bootstrap"`` (games resampled within
            pairings) 95% intervals.
        bootstrap_samples: refits for ``interval="bootstrap"``.
        seed: seeds the bootstrap's ``np.random.Generator``.
        players: every player, in the order that picks the default anchor; default the order
            of first appearance. Each must have played.

    Returns:
        The ``RatingTable``, best first.

    Raises:
        SpecError: no games; a NaN score or one outside [0, 1]; a game of a player against
            itself; a player not in ``players`` or one of ``players`` without games; an
            unknown anchor; negative ``prior_games``; prior-free ratings that are infinite.
    """
    if interval not in ("curvature", "bootstrap"):
        raise SpecError(f"interval must be 'curvature' or 'bootstrap', got {interval!r}")
    if not prior_games >= 0 or math.isinf(prior_games):
        raise SpecError(f"prior_games must be a finite number >= 0, got {prior_games}")
    if not math.isfinite(anchor_elo):
        raise SpecError(f"anchor_elo must be a finite number, got {anchor_elo}")
    if interval == "bootstrap" and not 2 <= bootstrap_samples <= MAX_BOOTSTRAP:
        raise SpecError(
            f"bootstrap_samples must be from 2 to {MAX_BOOTSTRAP:,}, got {bootstrap_samples}"
        )
    games_list = list(results)
    if not games_list:
        raise SpecError("no games to rate")
    names: list[str] = list(players) if players is not None else []
    if len(set(names)) != len(names):
        raise SpecError(f"players lists a name twice: {names}")
    index = {name: i for i, name in enumerate(names)}
    rows = np.empty((len(games_list), 2), dtype=np.int64)
    scores = np.empty(len(games_list))
    for k, game in enumerate(games_list):
        try:
            score = float(game.score)
        except (TypeError, ValueError):
            score = math.nan  # reported just below, with the game
        if not 0.0 <= score <= 1.0:  # also catches NaN
            raise SpecError(
                f"game {k + 1} ({game.a} vs {game.b}) has score {game.score}; a score is "
                "a's points in [0, 1] (1 win, 0.5 draw, 0 loss)"
            )
        if game.a == game.b:
            raise SpecError(f"game {k + 1} is {game.a!r} against itself; it cannot be rated")
        for name in (game.a, game.b):
            if name not in index:
                if players is not None:
                    raise SpecError(f"game {k + 1} has player {name!r}, who is not in players")
                index[name] = len(names)
                names.append(name)
        rows[k] = index[game.a], index[game.b]
        scores[k] = score
    n = len(names)
    points = np.zeros((n, n))
    games = np.zeros((n, n))
    np.add.at(points, (rows[:, 0], rows[:, 1]), scores)
    np.add.at(points, (rows[:, 1], rows[:, 0]), 1.0 - scores)
    np.add.at(games, (rows[:, 0], rows[:, 1]), 1.0)
    np.add.at(games, (rows[:, 1], rows[:, 0]), 1.0)
    played = games.sum(axis=1)
    if (played == 0).any():
        raise SpecError(f"player {names[int(np.argmin(played))]!r} has no games to rate")
    if anchor is None:
        anchor_index = 0
    elif anchor in index:
        anchor_index = index[anchor]
    else:
        raise SpecError(f"unknown anchor {anchor!r}; the players are: {', '.join(names)}")
    if prior_games == 0 and (reason := _divergence(points, names)) is not None:
        raise SpecError(reason)

    theta, hessian = _maximise(points, games, prior_games, anchor_index, np.zeros(n))
    free = np.arange(n) != anchor_index
    covariance = np.zeros((n, n))
    covariance[np.ix_(free, free)] = np.linalg.inv(-hessian[np.ix_(free, free)])
    covariance *= ELO_PER_NAT**2
    elo = anchor_elo + ELO_PER_NAT * theta
    if interval == "curvature":
        half = Z95 * np.sqrt(np.diag(covariance))
        lower, upper = elo - half, elo + half
        description = "curvature"
    else:
        samples = _bootstrap(
            rows, scores, games, prior_games, anchor_index, theta, bootstrap_samples, seed, names
        )
        lower, upper = np.quantile(anchor_elo + ELO_PER_NAT * samples, [0.025, 0.975], axis=0)
        description = f"bootstrap ({bootstrap_samples} samples, seed {seed})"

    # Best first; ties keep the players' order.
    order = sorted(range(n), key=lambda i: (-elo[i], i))
    ratings = [
        Rating(
            name=names[i],
            elo=float(elo[i]),
            ci95=(float(lower[i]), float(upper[i])),
            games=int(played[i]),
            score=float(points[i].sum() / played[i]),
        )
        for i in order
    ]
    los = []
    for i, j in itertools.pairwise(order):
        variance = covariance[i, i] + covariance[j, j] - 2.0 * covariance[i, j]
        gap = ELO_PER_NAT * (theta[i] - theta[j])  # not from elo: exact whatever anchor_elo
        los.append(normal_cdf(gap / math.sqrt(variance)) if variance > 0 else 0.5)
    crosstable = {
        names[i]: {
            names[j]: (float(points[i, j]), int(games[i, j])) for j in order if games[i, j] > 0
        }
        for i in order
    }
    return RatingTable(
        ratings=ratings,
        likelihood_of_superiority=los,
        crosstable=crosstable,
        anchor=names[anchor_index],
        anchor_elo=float(anchor_elo),
        interval=description,
    )


def _bootstrap(
    rows: np.ndarray,
    scores: np.ndarray,
    games: np.ndarray,
    prior_games: float,
    anchor: int,
    theta: np.ndarray,
    samples: int,
    seed: int,
    names: Sequence[str],
) -> np.ndarray:
    """Refit on games resampled with replacement within each pairing.

    Resampling within pairings keeps each pairing's number of games, so no player drops out
    and the design (who played whom how often) stays that of the real tournament.

    Returns:
        The refitted ``theta`` of each sample; shape (samples, n).
    """
    rng = np.random.default_rng(seed)
    n = len(theta)
    # Orient each game as (low index, high index) with the low-index player's score.
    low, high = rows.min(axis=1), rows.max(axis=1)
    oriented = np.where(rows[:, 0] == low, scores, 1.0 - scores)
    pair_id = low * n + high
    pairs = np.unique(pair_id)  # sorted, so the draws come in a fixed order
    first, second = np.divmod(pairs, n)
    totals = np.empty((len(pairs), samples))  # points of `first` against `second`
    for k, pair in enumerate(pairs):
        values, counts = np.unique(oriented[pair_id == pair], return_counts=True)
        draws = rng.multinomial(counts.sum(), counts / counts.sum(), size=samples)
        totals[k] = draws @ values
    fitted = np.empty((samples, n))
    points = np.zeros((n, n))
    for b in range(samples):
        points[first, second] = totals[:, b]
        points[second, first] = games[first, second] - totals[:, b]
        if prior_games == 0 and _divergence(points, names) is not None:
            raise SpecError(
                f"bootstrap sample {b + 1} has infinite ratings without a prior (a player won "
                "or lost every resampled game); use prior_games > 0"
            )
        fitted[b] = _maximise(points, games, prior_games, anchor, theta)[0]
    return fitted


# --------------------------------------------------------------------------- reading files

SQLITE_MAGIC = b"SQLite format 3\x00"
"""The first 16 bytes of every SQLite 3 database (https://www.sqlite.org/fileformat.html)."""
PGN_RESULTS = {"1-0": 1.0, "0-1": 0.0, "1/2-1/2": 0.5, "½-½": 0.5}


def read_results(paths: Iterable[str | Path]) -> list[GameResult]:
    """Games from results CSV files and tournament SQLite stores, in file order.

    Accepted formats (told apart by content, not by name):

    * CSV with header ``a,b,score``: ``score`` is a's points in [0, 1]; an empty score is an
      unfinished game and skipped.
    * CSV with header ``white,black,result``: ``result`` is ``1-0``, ``0-1`` or ``1/2-1/2``
      from white's side; ``*`` or empty (unfinished) is skipped.
    * An ``rlkit tournament`` store (``results.sqlite``): table ``games`` with columns
      ``a``, ``b``, ``score`` (a's points; NULL while unfinished, skipped).

    Other columns are ignored. Header names are matched case-insensitively.

    Raises:
        SpecError: a missing or unreadable file, an SQLite file without that table, a CSV
            with neither header, or a bad row (naming file and line).
    """
    results: list[GameResult] = []
    for raw in paths:
        path = Path(raw)
        if not path.is_file():
            raise SpecError(f"{path}: no such results file")
        with path.open("rb") as file:
            magic = file.read(len(SQLITE_MAGIC))
        results += _read_sqlite(path) if magic == SQLITE_MAGIC else _read_csv(path)
    return results


def _checked_score(value: float, where: str) -> float:
    if not 0.0 <= value <= 1.0:  # also catches NaN
        raise SpecError(f"{where}: score {value} is not a's points in [0, 1]")
    return value


def _read_sqlite(path: Path) -> list[GameResult]:
    try:
        # mode=rw never creates a file; query_only refuses every write. (mode=ro would leave
        # empty -wal and -shm files beside a WAL-mode store: a read-only connection cannot
        # remove them on close.)
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True)
    except sqlite3.Error as exc:
        raise SpecError(f"{path}: cannot open the SQLite file ({exc})") from None
    try:
        connection.execute("PRAGMA query_only = ON")
        columns = {row[1].lower() for row in connection.execute("PRAGMA table_info(games)")}
        if not {"a", "b", "score"} <= columns:
            raise SpecError(
                f"{path} is an SQLite file but not a tournament results store "
                "(it needs a table games with columns a, b, score)"
            )
        rows = connection.execute("SELECT a, b, score FROM games WHERE score IS NOT NULL")
        results = []
        for k, (a, b, score) in enumerate(rows, 1):
            where = f"{path}, games row {k}"
            if not isinstance(score, (int, float)):
                raise SpecError(f"{where}: score {score!r} is not a number")
            results.append(GameResult(str(a), str(b), _checked_score(float(score), where)))
        return results
    except sqlite3.Error as exc:
        raise SpecError(f"{path}: cannot read the SQLite file ({exc})") from None
    finally:
        connection.close()


def _read_csv(path: Path) -> list[GameResult]:
    results = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            reader = csv.reader(file)
            header = [cell.strip().lower() for cell in next(reader, [])]
            if {"a", "b", "score"} <= set(header):
                columns, pgn = [header.index(c) for c in ("a", "b", "score")], False
            elif {"white", "black", "result"} <= set(header):
                columns, pgn = [header.index(c) for c in ("white", "black", "result")], True
            else:
                raise SpecError(
                    f"{path}: a results file is a CSV with the header a,b,score or "
                    f"white,black,result, or a tournament results.sqlite; found header {header}"
                )
            for row in reader:
                where = f"{path}, line {reader.line_num}"
                if not any(cell.strip() for cell in row):
                    continue  # blank line
                if len(row) <= max(columns):
                    raise SpecError(f"{where}: expected {len(header)} columns, got {len(row)}")
                a, b, value = (row[c].strip() for c in columns)
                if not a or not b:
                    raise SpecError(f"{where}: a player name is empty")
                if pgn:
                    if value in ("", "*"):
                        continue  # unfinished
                    if value not in PGN_RESULTS:
                        raise SpecError(
                            f"{where}: result {value!r} is not one of 1-0, 0-1, 1/2-1/2"
                        )
                    score = PGN_RESULTS[value]
                else:
                    if value == "":
                        continue  # unfinished
                    try:
                        score = float(value)
                    except ValueError:
                        raise SpecError(f"{where}: score {value!r} is not a number") from None
                results.append(GameResult(a, b, _checked_score(score, where)))
    except UnicodeDecodeError:
        raise SpecError(
            f"{path} is neither a results CSV (UTF-8 text) nor an SQLite tournament store"
        ) from None
    except csv.Error as exc:
        raise SpecError(f"{path}: not a readable CSV ({exc})") from None
    return results


# --------------------------------------------------------------------------- the command

DESCRIPTION = """\
Fit maximum-likelihood Elo ratings (Bradley-Terry, draws as half points, a weak prior of
--prior-games virtual 50% games per player) to the games in FILE..., combined, and print the
ratings with 95% intervals, the likelihood of superiority of each player over the next, and
the crosstable.

Accepted files (told apart by content):
  CSV, header a,b,score           score = a's points: 1, 0.5, 0 (or any value in [0, 1])
  CSV, header white,black,result  result = 1-0, 0-1 or 1/2-1/2 (* = unfinished)
  SQLite (results.sqlite)         an rlkit tournament store: table games with columns a, b,
                                  score (a's points; NULL = unfinished)
Other columns are ignored; unfinished games are skipped."""


def _sample_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 2 <= value <= MAX_BOOTSTRAP:
        raise argparse.ArgumentTypeError(
            f"expected an integer from 2 to {MAX_BOOTSTRAP:,}, got {text!r}"
        )
    return value


def add_parser(subparsers: Any) -> None:
    """Register ``rlkit ratings`` on the CLI's subparsers."""
    from rlkit.argtypes import finite_float
    from rlkit.argtypes import seed as seed_type

    p = subparsers.add_parser(
        "ratings",
        help="fit Elo ratings to stored or CSV game results",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="results CSV or results.sqlite")
    p.add_argument(
        "--anchor", metavar="NAME", help="player held at --anchor-elo (default: the first seen)"
    )
    p.add_argument(
        "--anchor-elo", type=finite_float, default=0.0, metavar="X", help="anchor's Elo (default 0)"
    )
    p.add_argument(
        "--bootstrap",
        type=_sample_count,
        metavar="N",
        help="95%% intervals from N bootstrap refits (default: from the curvature)",
    )
    p.add_argument(
        "--prior-games",
        type=finite_float,
        default=2.0,
        metavar="G",
        help="virtual 50%% games per player against the mean (default 2; 0 = pure ML)",
    )
    p.add_argument("--seed", type=seed_type, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=_cmd_ratings)


def _cmd_ratings(args: argparse.Namespace) -> int:
    results = read_results(args.files)
    if not results:
        raise SpecError(f"no finished games in {', '.join(args.files)}")
    table = fit_elo(
        results,
        anchor=args.anchor,
        anchor_elo=args.anchor_elo,
        prior_games=args.prior_games,
        interval="bootstrap" if args.bootstrap else "curvature",
        bootstrap_samples=args.bootstrap or 1000,
        seed=args.seed,
    )
    print(json.dumps(table.to_dict()) if args.json else table.format())
    return 0
