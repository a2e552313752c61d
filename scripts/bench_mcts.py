"""MCTS speed against OpenSpiel's MCTS bots, measured in the same run.

Prints simulations per second of a whole one-move search (UCT, one uniformly random rollout
per simulation, no solver) from the initial state, for

- rlkit's :class:`rlkit.agents.mcts.MCTS` on rlkit's game,
- OpenSpiel's Python ``open_spiel.python.algorithms.mcts.MCTSBot`` on pyspiel's game,
- OpenSpiel's C++ ``pyspiel.MCTSBot`` on pyspiel's game,

and the ratios. OpenSpiel is the ``bench`` extra (``pip install open_spiel``); without it only
rlkit's numbers are printed. Everything runs in this one thread; for steadier numbers pin the
process to one core (``taskset -c 0 python scripts/bench_mcts.py``).

    python scripts/bench_mcts.py [--game tictactoe] [--simulations 5000] [--repeats 3]

``--game go`` searches 9x9 Go (OpenSpiel's ``go(board_size=9,komi=7.5)``); rlkit's rollouts
there run in the game's compiled ``random_rollout`` kernel.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import time
from collections.abc import Callable

import numpy as np

from rlkit.agents.mcts import MCTS

UCT_C = math.sqrt(2)


def rlkit_game(name: str):
    """rlkit's game for ``name``, or None when it does not exist yet."""
    if name == "tictactoe":
        from rlkit.envs.tictactoe import TicTacToe

        return TicTacToe()
    if name == "go":
        from rlkit.envs.go import GoGame

        return GoGame(size=9, komi=7.5)
    raise ValueError(name)


OPENSPIEL_NAMES = {"tictactoe": "tic_tac_toe", "go": "go(board_size=9,komi=7.5)"}


def rlkit_search(name: str, simulations: int, seed: int) -> Callable[[], object]:
    game = rlkit_game(name)
    config = MCTS.Config(simulations=simulations, uct_c=UCT_C, rollouts=1)
    agent = MCTS(config, game, seed=seed)
    state = game.initial_state()
    return lambda: agent.search(state)


def openspiel_python_search(name: str, simulations: int, seed: int) -> Callable[[], object]:
    import pyspiel
    from open_spiel.python.algorithms import mcts

    game = pyspiel.load_game(OPENSPIEL_NAMES[name])
    evaluator = mcts.RandomRolloutEvaluator(1, np.random.RandomState(seed))
    bot = mcts.MCTSBot(
        game,
        UCT_C,
        simulations,
        evaluator,
        solve=False,
        random_state=np.random.RandomState(seed),
    )
    state = game.new_initial_state()
    return lambda: bot.mcts_search(state)


def openspiel_cpp_search(name: str, simulations: int, seed: int) -> Callable[[], object]:
    import pyspiel

    game = pyspiel.load_game(OPENSPIEL_NAMES[name])
    evaluator = pyspiel.RandomRolloutEvaluator(1, seed)
    max_memory_mb, solve, verbose = 1000, False, False
    bot = pyspiel.MCTSBot(game, evaluator, UCT_C, simulations, max_memory_mb, solve, seed, verbose)
    state = game.new_initial_state()
    return lambda: bot.mcts_search(state)


def best_rates(searches: dict[str, Callable[[], object]], simulations: int, repeats: int):
    """Best simulations/second of each search over ``repeats`` rounds; the rounds interleave
    the searches, so load from other processes hits all of them alike."""
    best = dict.fromkeys(searches, 0.0)
    for _ in range(repeats):
        for label, search in searches.items():
            start = time.perf_counter()
            search()
            best[label] = max(best[label], simulations / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--game", choices=["tictactoe", "go"], default="tictactoe")
    parser.add_argument("--simulations", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    n, k, seed = args.simulations, args.repeats, args.seed
    print(f"{args.game}, {n} simulations per search from the initial state, best of {k}")
    searches = {"rlkit MCTS (Python)": rlkit_search(args.game, n, seed)}
    have_openspiel = importlib.util.find_spec("pyspiel") is not None
    if have_openspiel:
        searches["OpenSpiel MCTSBot (Python)"] = openspiel_python_search(args.game, n, seed)
        searches["OpenSpiel MCTSBot (C++)"] = openspiel_cpp_search(args.game, n, seed)
    rates = best_rates(searches, n, k)
    ours = rates["rlkit MCTS (Python)"]
    for label, rate in rates.items():
        ratio = "" if rate is ours else f"   rlkit / this = {ours / rate:.2f}"
        print(f"  {label:<30}{rate:>12,.0f} sims/s{ratio}")
    if not have_openspiel:
        print("  OpenSpiel not installed (pip install open_spiel, the 'bench' extra): skipped")


if __name__ == "__main__":
    main()
