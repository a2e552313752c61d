"""Grid-world speed against Gymnasium's FrozenLake, measured in the same run.

Prints environment steps per second (random actions, on the bare env and through
``gymnasium.make``'s wrappers) for our 8x8 frozen lake and Gymnasium's ``FrozenLake8x8-v1``,
their ratio, and tabular Q-learning updates per second on both.

    python scripts/bench_gridworld.py [--steps 200000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import rlkit
from rlkit.envs.gridworld import GridWorldEnv
from rlkit.training import RunSettings, TrainingSession


def random_steps_per_second(env: gym.Env, steps: int, seed: int = 0) -> float:
    """Step with pre-drawn random actions; reset on episode end."""
    actions = np.random.default_rng(seed).integers(env.action_space.n, size=steps).tolist()
    env.reset(seed=seed)
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - start)


def q_learning_steps_per_second(env_spec: str, steps: int, seed: int = 0) -> float:
    """Full training loop: act, env step, Q update (rlkit's shared loop)."""
    env = rlkit.make_env(env_spec)
    agent = rlkit.make_agent("q-learning", env.observation_space, env.action_space, seed=seed)
    env.reset(seed=seed)
    session = TrainingSession(
        RunSettings("q-learning", env_spec, seed=seed, steps=steps), progress=False
    )
    start = time.perf_counter()
    agent.fit(env, session)
    return session.steps / (time.perf_counter() - start)


def best_of(repeats: int, measure, *args) -> float:
    return max(measure(*args) for _ in range(repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n, k = args.steps, args.repeats

    rows = [
        (
            "bare env (no wrappers)",
            best_of(k, random_steps_per_second, GridWorldEnv("frozenlake8x8-slippery"), n),
            best_of(
                k,
                random_steps_per_second,
                gym.make("FrozenLake8x8-v1", is_slippery=True).unwrapped,
                n,
            ),
        ),
        (
            "gymnasium.make (TimeLimit, checks)",
            best_of(k, random_steps_per_second, rlkit.make_env("frozenlake8x8-slippery"), n),
            best_of(k, random_steps_per_second, gym.make("FrozenLake8x8-v1", is_slippery=True), n),
        ),
        (
            "q-learning training loop",
            best_of(k, q_learning_steps_per_second, "frozenlake8x8-slippery", n),
            best_of(k, q_learning_steps_per_second, "FrozenLake8x8-v1", n),
        ),
    ]
    print(
        f"{'measure (slippery 8x8 frozen lake)':<38}{'rlkit/s':>12}{'gymnasium/s':>14}{'ratio':>8}"
    )
    for label, ours, theirs in rows:
        print(f"{label:<38}{ours:>12,.0f}{theirs:>14,.0f}{ours / theirs:>8.2f}")


if __name__ == "__main__":
    main()
