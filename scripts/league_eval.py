"""Measure a league's main agent after a run: its held-out panel curve, its final score against
its supervised start, and how exploitable it is (Vinyals et al., Nature 2019, "exploiter
win rate" as the measure of robustness).

Three sections, each playing through :func:`rlkit.match.play_match` (colours alternate; each
pair of games opens with ``--opening-moves`` random moves shared by both colourings):

``panel``: the supervised start (``main@0``), every snapshot of the main agent and its final
version against a fixed held-out panel that never joined the league, ``--games`` games each;
writes ``RUN/panel.csv`` (one row per version: steps, score against each panel agent, mean)
and, with ``--plot``, an SVG of the mean score by training steps::

    python scripts/league_eval.py panel runs/league --plot docs/league_panel.svg

``versus``: the final main agent against its supervised start::

    python scripts/league_eval.py versus runs/league --games 200

``exploit``: for each run, a fresh exploiter -- the main player's own learner and settings,
started from the same supervised policy -- trains ``--steps`` environment steps against that
run's final main agent alone, then plays ``--games`` games against it; its win rate says how
exploitable the final agent is (lower: less). Runs given together get the same budget and
seeds (the league against naive self-play, ``configs/selfplay-connect4.toml``)::

    python scripts/league_eval.py exploit runs/league runs/selfplay --steps 100000

Each run is a folder written by ``rlkit league run``.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

from rlkit.errors import RlkitError

PANEL = "random;minimax:depth=2;minimax:depth=4;mcts:simulations=500"


def main_versions(run: Path) -> list[tuple[str, int, str]]:
    """``(name, steps, checkpoint path)`` of the main agent's start, snapshots and final
    version, oldest first."""
    from rlkit.leagues.roles import MAIN
    from rlkit.leagues.runner import league_status

    players = league_status(run)["players"]
    main = next(p for p in players if p.role == MAIN and not p.frozen)
    versions = [
        (p.name, p.steps, str(run / p.checkpoint))
        for p in players
        if p.frozen and p.parent == main.name
    ]
    versions.sort(key=lambda v: v[1])
    if versions and versions[-1][1] == main.steps:  # the last snapshot is the final version
        return versions
    versions.append((f"{main.name} (final)", main.steps, str(run / main.checkpoint)))
    return versions


def score(game, a: str, b: str, games: int, opening_moves: int, seed: int) -> dict:
    """``play_match``'s summary with ``score``: (wins + draws / 2) / games for ``a``."""
    from rlkit.match import play_match

    summary = play_match(
        game, a, b, games, seed=seed, opening_moves=opening_moves, threads=1
    ).summary()
    summary["score"] = (summary["wins"] + summary["draws"] / 2) / summary["games"]
    return summary


def run_panel(args: argparse.Namespace) -> None:
    from rlkit.leagues.runner import league_status
    from rlkit.plot import svg_plot
    from rlkit.registry import make_game

    run = Path(args.run)
    game = make_game(league_status(run)["game"])
    panel = [s for s in args.panel.split(";") if s]
    versions = main_versions(run)
    count = max(args.versions, 2)
    if args.versions and len(versions) > count:  # evenly spaced, the first and last kept
        keep = {round(i * (len(versions) - 1) / (count - 1)) for i in range(count)}
        versions = [v for i, v in enumerate(versions) if i in keep]
    rows = []
    for name, steps, path in versions:
        begin = time.monotonic()
        scores = {
            spec: score(game, path, spec, args.games, args.opening_moves, args.seed)["score"]
            for spec in panel
        }
        mean = sum(scores.values()) / len(scores)
        rows.append({"version": name, "steps": steps, **scores, "mean": mean})
        cells = "  ".join(f"{spec} {s:.2f}" for spec, s in scores.items())
        print(
            f"{name:<14} {steps:>9,} steps  {cells}  mean {mean:.3f}"
            f"  ({time.monotonic() - begin:.0f} s)",
            flush=True,
        )
    with open(run / "panel.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {run / 'panel.csv'}")
    if args.plot:
        svg = svg_plot(
            [(r["steps"], r["mean"]) for r in rows],
            title=f"{run.name}: main agent against the held-out panel",
            x_label="main agent's training steps",
            y_label=f"mean score ({args.games} games per panel agent)",
        )
        Path(args.plot).write_text(svg)
        print(f"wrote {args.plot}")


def run_versus(args: argparse.Namespace) -> None:
    from rlkit.leagues.runner import league_status
    from rlkit.registry import make_game

    run = Path(args.run)
    game = make_game(league_status(run)["game"])
    versions = main_versions(run)
    (start_name, _, start), (final_name, steps, final) = versions[0], versions[-1]
    summary = score(game, final, start, args.games, args.opening_moves, args.seed)
    print(
        f"{final_name} ({steps:,} steps) against {start_name} (the supervised start): "
        f"{summary['wins']} W {summary['draws']} D {summary['losses']} L of {summary['games']},"
        f" score {summary['score']:.3f}"
    )


def run_exploit(args: argparse.Namespace) -> None:
    from rlkit.leagues.roles import MAIN
    from rlkit.leagues.runner import league_status, resolve_learner
    from rlkit.registry import make_game

    for folder in args.runs:
        run = Path(folder)
        status = league_status(run)
        config = status["config"]
        main = next(p for p in config.players if p.role == MAIN)
        supervised = status["supervised"]
        target = main_versions(run)[-1][2]
        learner = resolve_learner(main.learner).create(
            config.game, main.settings, init=supervised, seed=args.seed
        )
        begin = time.monotonic()
        trained = 0
        while trained < args.steps:
            chunk = min(args.chunk, args.steps - trained)
            learner.train_against(
                target, chunk, seed=args.seed + trained, opening_moves=args.opening_moves
            )
            trained = learner.steps
        path = run / "exploiter.pt"
        learner.save(path)
        summary = score(
            make_game(config.game), str(path), target, args.games, args.opening_moves, args.seed
        )
        print(
            f"{run}: a fresh exploiter trained {learner.steps:,} steps "
            f"({time.monotonic() - begin:.0f} s) against the final main agent: "
            f"{summary['wins']} W {summary['draws']} D {summary['losses']} L of "
            f"{summary['games']}: win rate {summary['wins'] / summary['games']:.3f}, score "
            f"{summary['score']:.3f}",
            flush=True,
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="section", required=True)
    for name, help_text in (
        ("panel", "the main agent's versions against the held-out panel"),
        ("versus", "the final main agent against its supervised start"),
        ("exploit", "a fresh exploiter against each run's final main agent"),
    ):
        p = sub.add_parser(name, help=help_text)
        if name == "exploit":
            p.add_argument("runs", nargs="+", help="league run folders")
            p.add_argument("--steps", type=int, default=100_000, help="exploiter's budget")
            p.add_argument("--chunk", type=int, default=10_000, help="steps per call")
        else:
            p.add_argument("run", help="a league run folder")
        p.add_argument("--games", type=int, default=200 if name != "panel" else 20)
        p.add_argument("--opening-moves", type=int, default=2)
        p.add_argument("--seed", type=int, default=12345)
        if name == "panel":
            p.add_argument("--panel", default=PANEL, help="agent specs separated by ';'")
            p.add_argument("--plot", default="", help="write the curve to this SVG")
            p.add_argument(
                "--versions", type=int, default=0, help="at most this many versions (0: all)"
            )
    return parser


def main() -> int:
    args = build_parser().parse_args()
    try:
        {"panel": run_panel, "versus": run_versus, "exploit": run_exploit}[args.section](args)
    except RlkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
