"""Wall-clock behaviour of the agents' time limits and of the cheap look-ahead, measured here
rather than asserted in tests (a loaded machine would make such tests fail).

Prints, each against its peer in the same run:

- ``minimax:time=T`` on connect four's opening: seconds taken per move / the budget T;
- ``mcts:time=T`` with an unbounded simulation count on tic-tac-toe: seconds / T;
- TD(lambda) at 2 ply with ``candidates=4`` against 1 ply and against ``candidates=1000``
  (every move looked ahead): seconds per move, and the ratios;
- TD(lambda) self-play training: games per second.

    python scripts/bench_search_limits.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from rlkit.agents.mcts import MCTS
from rlkit.agents.minimax import Minimax, MinimaxConfig
from rlkit.agents.td_lambda import TDLambda, TDLambdaConfig
from rlkit.envs.backgammon import BackgammonGame
from rlkit.envs.connect_four import ConnectFour
from rlkit.envs.tictactoe import TicTacToe
from rlkit.specs import build_config


def seconds(run: Callable[[], object], repeats: int) -> float:
    """Median wall-clock seconds of ``run()`` over ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    n = args.repeats

    c4 = ConnectFour()
    for budget in (0.05, 0.2):
        agent = Minimax(MinimaxConfig(time=budget), c4, seed=0)
        took = seconds(lambda a=agent: (a.new_game(), a.act(c4.initial_state())), n)
        print(
            f"minimax:time={budget:<5} connect four opening: {took:.3f} s = "
            f"{took / budget:.2f} x the budget (depth {agent.search_info.depth})"
        )

    ttt = TicTacToe()
    for budget in (0.05, 0.2):
        config = build_config(MCTS.Config, {"simulations": 10**9, "time": budget}, owner="mcts")
        agent = MCTS(config, ttt, seed=0)
        took = seconds(lambda a=agent: a.search(ttt.initial_state()), n)
        print(
            f"mcts:time={budget:<8} tic-tac-toe opening:  {took:.3f} s = "
            f"{took / budget:.2f} x the budget"
        )

    game = BackgammonGame()
    state = game.state_from_position_id("4HPwATDgc/ABMA", (6, 5))
    by_ply = {}
    for label, params in (
        ("1 ply", {"ply": 1}),
        ("2 ply, candidates=4", {"ply": 2, "candidates": 4}),
        ("2 ply, candidates=1000", {"ply": 2, "candidates": 1000}),
    ):
        agent = TDLambda(TDLambdaConfig(**params), game, seed=0)
        agent.act(state)  # compile and warm up
        by_ply[label] = seconds(lambda a=agent: a.act(state), n)
        print(f"td-lambda {label:<24} opening 6-5: {by_ply[label] * 1e3:8.2f} ms per move")
    cheap, full = by_ply["2 ply, candidates=4"], by_ply["2 ply, candidates=1000"]
    print(
        f"  2 ply with 4 candidates: {cheap / by_ply['1 ply']:.1f} x 1 ply, "
        f"{full / cheap:.1f} x faster than every move looked ahead"
    )

    learner = TDLambda(TDLambdaConfig(eval_every=0), game, seed=0)
    learner.train_game()  # compile
    games = 300
    took = seconds(lambda: [learner.train_game() for _ in range(games)], 1)
    print(f"td-lambda self-play training: {games / took:,.0f} games/s")


if __name__ == "__main__":
    main()
