"""Backgammon move generation speed against OpenSpiel's C++ ``backgammon``, same run.

Uniformly random games, counted in games per second and decisions per second, for

- OpenSpiel's C++ game driven from Python (``legal_actions`` and ``apply_action`` at every
  decision, chance outcomes drawn from ``chance_outcomes``; a double is two of its
  decisions);
- rlkit's :class:`~rlkit.envs.backgammon.BackgammonGame` driven from Python the same way
  (``legal_actions`` generates every legal full move of the roll, then ``apply``);
- rlkit's face with ``afterstates`` at every decision (every next state built, what TD(lambda)
  and pubeval agents do);
- rlkit's compiled playout kernel (``random_games``), which also generates every legal full
  move at every decision.

A uniformly random choice among OpenSpiel's actions and among our distinct full moves are
different random players, so games differ in length; decisions per second is reported too.
The process pins itself to one core (``--core``). OpenSpiel is the ``bench`` extra.

    python scripts/bench_backgammon.py [--games 500] [--seed 0] [--core 0]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from rlkit.envs.backgammon import BackgammonGame
from rlkit.game import CHANCE, TERMINAL


def openspiel_games(games: int, seed: int) -> tuple[float, int]:
    import pyspiel

    game = pyspiel.load_game(
        "backgammon", {"scoring_type": "full_scoring", "max_player_turns": 1_000_000}
    )
    rng = np.random.default_rng(seed)
    decisions = 0
    start = time.perf_counter()
    for _ in range(games):
        state = game.new_initial_state()
        while not state.is_terminal():
            if state.is_chance_node():
                outcomes = state.chance_outcomes()
                state.apply_action(outcomes[int(rng.integers(len(outcomes)))][0])
            else:
                legal = state.legal_actions()
                state.apply_action(legal[int(rng.integers(len(legal)))])
                decisions += 1
    return time.perf_counter() - start, decisions


def rlkit_games(games: int, seed: int, afterstates: bool) -> tuple[float, int]:
    game = BackgammonGame()
    rng = np.random.default_rng(seed)
    decisions = 0
    start = time.perf_counter()
    for _ in range(games):
        state = game.initial_state()
        while (player := game.current_player(state)) != TERMINAL:
            if player == CHANCE:
                state = game.apply(state, game.sample_chance(state, rng))
            elif afterstates:
                after = game.afterstates(state)
                state = after[int(rng.integers(len(after)))][1]
                decisions += 1
            else:
                legal = game.legal_actions(state)
                state = game.apply(state, legal[int(rng.integers(len(legal)))])
                decisions += 1
    return time.perf_counter() - start, decisions


def rlkit_kernel_games(games: int, seed: int) -> tuple[float, int]:
    game = BackgammonGame()
    state = game.apply(game.initial_state(), 36 + 34)
    start = time.perf_counter()
    stats = game._random_games_raw(state, games, seed)
    return time.perf_counter() - start, int(stats[:, 2].sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--games", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--core", type=int, default=0)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.core})
    # compile and warm up everything first
    rlkit_games(2, args.seed, afterstates=False)
    rlkit_kernel_games(2, args.seed)
    runs = [("rlkit legal_actions + apply", lambda: rlkit_games(args.games, args.seed, False))]
    runs.append(("rlkit afterstates", lambda: rlkit_games(args.games, args.seed, True)))
    runs.append(("rlkit compiled playouts", lambda: rlkit_kernel_games(args.games, args.seed)))
    try:
        import pyspiel  # noqa: F401

        runs.insert(0, ("OpenSpiel C++ from Python", lambda: openspiel_games(args.games, 0)))
    except ImportError:
        print("OpenSpiel is not installed: rlkit's numbers only")
    results = {}
    print(f"{args.games} uniformly random games each, one core (core {args.core})")
    for name, run in runs:
        seconds, decisions = run()
        results[name] = args.games / seconds
        print(
            f"{name:28s} {args.games / seconds:9.1f} games/s  {decisions / seconds:11.0f} "
            f"decisions/s  {decisions / args.games:6.1f} decisions/game"
        )
    if "OpenSpiel C++ from Python" in results:
        base = results["OpenSpiel C++ from Python"]
        for name, rate in results.items():
            print(f"{name:28s} {rate / base:6.2f}x OpenSpiel's games/s")


if __name__ == "__main__":
    main()
