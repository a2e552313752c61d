"""Measure alphazero-dice: its search against 1-ply play, and training from scratch.

Two measurements (run with ``nice -n 10``; each stops at its time limit):

``paired``: ``alphazero-dice:net=td-gammon,plies=2`` (the expectimax search over the shipped
TD-Gammon network) against ``td-gammon`` (the same network at 1 ply), in colour-swapped pairs
of games that share their dice (``rlkit.match.play_match(..., swap=True)``), and, on the same
dice, the older ``td-gammon:ply=2`` against ``td-gammon`` for the first ``--compare-blocks``
blocks (with the same candidates it plays the same moves, so its games come out identical;
the script checks that). Games are played in blocks of ``--block`` games (block ``k`` uses
match seed ``--seed + k``) until ``--games`` or ``--minutes`` is reached::

    nice -n 10 python scripts/bench_alphazero_dice.py paired --games 2000 --minutes 10

``train``: ``rlkit train alphazero-dice --env backgammon --minutes M`` (through
:func:`rlkit.training.train`, from a fresh network), then the trained run against pubeval
over ``--eval-games`` paired games at 1 ply and at 2 plies::

    nice -n 10 python scripts/bench_alphazero_dice.py train --minutes 60 --out runs/azd

The 95% intervals are :func:`rlkit.stats.mean_ci95` over the pair means (the two games of a
pair share their dice, so they are not independent; the pair means are).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from rlkit.envs.backgammon import BackgammonGame
from rlkit.match import play_match
from rlkit.stats import mean_ci95

SPEC = "rlkit.agents.alphazero_dice:AlphaZeroDice"


def summarise(name: str, points: list[float]) -> str:
    """``name: +0.123 ± 0.045 ppg over N games (W% won)`` with the pair-mean interval."""
    p = np.asarray(points, np.float64)
    pairs = p[: len(p) // 2 * 2].reshape(-1, 2).mean(axis=1)
    mean, ci = mean_ci95(pairs) if len(pairs) > 1 else (float(p.mean()), float("nan"))
    return (
        f"{name}: {mean:+.3f} ± {ci:.3f} ppg over {len(p)} games ({100 * (p > 0).mean():.1f}% won)"
    )


def paired(args: argparse.Namespace) -> None:
    game = BackgammonGame()
    search = f"{SPEC}:net=td-gammon,plies={args.plies},candidates={args.candidates}"
    contenders = {f"alphazero-dice plies={args.plies},candidates={args.candidates}": search}
    if args.compare_blocks:
        contenders["td-gammon:ply=2"] = f"td-gammon:ply=2,candidates={args.candidates}"
    points: dict[str, list[float]] = {name: [] for name in contenders}
    start = time.perf_counter()
    block = 0
    while len(points[next(iter(points))]) < args.games:
        if time.perf_counter() - start > 60 * args.minutes:
            break
        count = min(args.block, args.games - block * args.block)
        for name, spec in contenders.items():
            if name.startswith("td-gammon") and block >= args.compare_blocks:
                continue
            result = play_match(game, spec, "td-gammon", count, seed=args.seed + block, swap=True)
            points[name].extend(result.points_of_a().tolist())
        block += 1
        elapsed = time.perf_counter() - start
        print(f"[{elapsed:6.0f} s] " + " | ".join(summarise(n, p) for n, p in points.items()))
    print(f"\nagainst td-gammon (1 ply), paired dice, {time.perf_counter() - start:.0f} s:")
    for name, p in points.items():
        print("  " + summarise(name, p))
    if args.save:
        np.savez(args.save, **{n.replace(" ", "_"): np.asarray(p) for n, p in points.items()})
    if args.compare_blocks:
        ours, theirs = points.values()
        same = ours[: len(theirs)] == theirs
        print(f"  the two agree game by game on the {len(theirs)} games both played: {same}")


def train_run(args: argparse.Namespace) -> None:
    from rlkit.training import RunSettings, train

    out = Path(args.out)
    agent = f"{SPEC}:{args.params}" if args.params else SPEC
    settings = RunSettings(
        agent=agent,
        env="backgammon",
        seed=args.seed,
        minutes=args.minutes,
        log_interval=20_000,
        checkpoint_interval=1_000_000,
    )
    began = time.perf_counter()
    trained = train(settings, out, progress=False, tensorboard=False)
    print(
        f"trained {trained.games_played} games, {trained.updates} update rounds in "
        f"{time.perf_counter() - began:.0f} s; evaluations (games, ppg, ci95): "
        f"{trained.evaluations}"
    )
    game = BackgammonGame()
    for plies in (1, 2):
        result = play_match(
            game, f"{out}:plies={plies}", "pubeval", args.eval_games, seed=args.seed, swap=True
        )
        print("  " + summarise(f"{out}:plies={plies} vs pubeval", result.points_of_a().tolist()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("paired", help="search vs 1 ply on paired dice")
    p.add_argument("--games", type=int, default=2000, help="games per contender (even)")
    p.add_argument("--minutes", type=float, default=10.0, help="stop after this long")
    p.add_argument("--block", type=int, default=50, help="games per block (even)")
    p.add_argument("--plies", type=int, default=2, help="search depth of alphazero-dice")
    p.add_argument("--candidates", type=int, default=8, help="moves searched deeper")
    p.add_argument(
        "--compare-blocks",
        type=int,
        default=4,
        help="blocks on which td-gammon:ply=2 also plays the same dice (0: none)",
    )
    p.add_argument("--seed", type=int, default=1000, help="match seed of the first block")
    p.add_argument("--save", default="", help="write every game's points to this .npz")
    t = commands.add_parser("train", help="from-scratch training, then games vs pubeval")
    t.add_argument("--minutes", type=float, default=8.0)
    t.add_argument("--out", default="runs/alphazero_dice")
    t.add_argument("--params", default="", help="agent parameters, e.g. target_lambda=1")
    t.add_argument("--eval-games", type=int, default=200)
    t.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)  # small forward passes are fastest on one thread
    if args.command == "paired":
        paired(args)
    else:
        train_run(args)


if __name__ == "__main__":
    main()
