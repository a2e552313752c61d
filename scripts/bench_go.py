"""Go speed against OpenSpiel's C++ ``go`` and PettingZoo's ``go_v5``, measured in the same run.

Random play, whole games from the empty board, on one core; prints moves per second for:

(a) ours driven from Python through the Game API (``legal_actions``, a random pick,
    ``apply``: a new immutable state every move);
(b) ours inside the kernel (``GoGame.play_random_games``: the same policy, uniformly random
    legal moves with pass among them, no Python per move);
(c) OpenSpiel's C++ ``go`` driven from Python (``legal_actions``, a random pick,
    ``apply_action`` on one mutable state);
(d) PettingZoo ``go_v5`` (AEC env: ``last``, a random pick from the action mask, ``step``),
    skipped when it cannot be imported (it needs ``pettingzoo[classic]``);

and the ratios ours / peer. The Python-driven loops share one driver: a random pick is
``legal[int(u * len(legal))]`` with the uniform numbers ``u`` of a game drawn at its start, so
the driver costs the same for all. Every engine plays to the same maximum length
(3 * size * size moves).

    python scripts/bench_go.py [--sizes 9 19] [--seconds 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from rlkit.envs.go import GoGame
from rlkit.game import TERMINAL


def timed_games(play_one, seconds: float) -> float:
    """Play whole games with ``play_one() -> moves`` for about ``seconds``; moves per second."""
    moves = 0
    start = time.perf_counter()
    while True:
        moves += play_one()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return moves / elapsed


def ours_python(size: int, seconds: float, seed: int) -> float:
    game = GoGame(size)
    rng = np.random.default_rng(seed)

    def play_one() -> int:
        draws = rng.random(game.max_game_length).tolist()
        state = game.initial_state()
        while game.current_player(state) != TERMINAL:
            legal = game.legal_actions(state)
            state = game.apply(state, legal[int(draws[state.moves] * len(legal))])
        return state.moves

    play_one()  # compile (or load the numba cache) outside the clock
    return timed_games(play_one, seconds)


def ours_kernel(size: int, seconds: float, seed: int) -> float:
    game = GoGame(size)
    game.play_random_games(1, seed)  # compile outside the clock
    games, moves, elapsed = 16, 0, 0.0
    while elapsed < seconds:
        stats = game.play_random_games(games, seed)
        moves, elapsed, seed, games = (
            moves + stats.moves,
            elapsed + stats.seconds,
            seed + 1,
            2 * games,
        )
    return moves / elapsed


def openspiel(size: int, seconds: float, seed: int) -> float | None:
    try:
        import pyspiel
    except ImportError:
        return None
    game = pyspiel.load_game(
        "go", {"board_size": size, "komi": 7.5, "max_game_length": 3 * size * size}
    )
    rng = np.random.default_rng(seed)

    def play_one() -> int:
        draws = rng.random(3 * size * size).tolist()
        state = game.new_initial_state()
        moves = 0
        while not state.is_terminal():
            legal = state.legal_actions()
            state.apply_action(legal[int(draws[moves] * len(legal))])
            moves += 1
        return moves

    return timed_games(play_one, seconds)


def pettingzoo(size: int, seconds: float, seed: int) -> float | None:
    try:
        from pettingzoo.classic import go_v5
    except ImportError:
        return None
    env = go_v5.env(board_size=size, komi=7.5)
    rng = np.random.default_rng(seed)

    def play_one() -> int:
        draws = rng.random(3 * size * size).tolist()
        env.reset(seed=seed)
        moves = 0
        for _agent in env.agent_iter():
            observation, _, terminated, truncated, _ = env.last()
            if terminated or truncated or moves >= 3 * size * size:
                break
            legal = np.flatnonzero(observation["action_mask"])
            env.step(int(legal[int(draws[moves] * len(legal))]))
            moves += 1
        return moves

    return timed_games(play_one, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[9, 19])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for size in args.sizes:
        rates = {
            "(a) ours, Python loop": ours_python(size, args.seconds, args.seed),
            "(b) ours, in kernel": ours_kernel(size, args.seconds, args.seed),
            "(c) OpenSpiel C++ from Python": openspiel(size, args.seconds, args.seed),
            "(d) PettingZoo go_v5": pettingzoo(size, args.seconds, args.seed),
        }
        print(f"\n{size}x{size} random play, moves per second (one core):")
        for name, rate in rates.items():
            print(f"  {name:32s} {'skipped' if rate is None else f'{rate:12,.0f}'}")
        for ours in ("(a) ours, Python loop", "(b) ours, in kernel"):
            for peer in ("(c) OpenSpiel C++ from Python", "(d) PettingZoo go_v5"):
                if rates[peer]:
                    print(f"  {ours[:3]} / {peer[:3]}: {rates[ours] / rates[peer]:8.2f}x")


if __name__ == "__main__":
    main()
