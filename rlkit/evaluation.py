"""Evaluating an agent: mean return with a 95% confidence interval, and success rate."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from rlkit.agent import Agent, split_observation
from rlkit.errors import SpecError
from rlkit.stats import mean_ci95


@dataclass(frozen=True)
class EvalResult:
    """Summary of evaluation episodes.

    Attributes:
        mean_return: mean undiscounted episode return.
        ci95: half-width of the 95% confidence interval of the mean (normal approximation,
            1.96 standard errors; 0 for a single episode).
        std_return: sample standard deviation of the returns.
        episodes: number of episodes.
        mean_length: mean episode length in steps.
        success_rate: fraction of episodes whose last step reported ``info["is_success"]``
            true, or None when the environment does not report success.
    """

    mean_return: float
    ci95: float
    std_return: float
    episodes: int
    mean_length: float
    success_rate: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


MAX_EPISODES = 10**8
"""More episodes than any evaluation needs (each takes 16 bytes of results)."""


def evaluate(
    agent: Agent,
    env: gym.Env,
    episodes: int,
    *,
    seed: int | None = 0,
    explore: bool = False,
    progress: bool = False,
) -> EvalResult:
    """Play ``episodes`` episodes; the agent acts greedily unless ``explore`` is set.

    The environment is reset with ``seed`` once; later resets continue its random stream, so
    the same seed gives the same episodes. An environment whose episodes may never end needs
    a time limit (``rlkit eval --max-episode-steps N``); ``progress`` shows a bar with the
    steps of the current episode, so such a run is visible rather than silent.

    Raises:
        SpecError: ``episodes`` not from 1 to :data:`MAX_EPISODES`.
    """
    if not 0 < episodes <= MAX_EPISODES:
        raise SpecError(f"--episodes must be from 1 to {MAX_EPISODES:,}, got {episodes}")
    returns = np.empty(episodes)
    lengths = np.empty(episodes)
    successes: list[bool] = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=episodes, unit="ep", dynamic_ncols=True, mininterval=0.5, leave=False)
    try:
        _play(agent, env, episodes, seed, explore, returns, lengths, successes, bar)
    finally:
        if bar is not None:
            bar.close()
    mean, ci95 = mean_ci95(returns)
    std = float(returns.std(ddof=1)) if episodes > 1 else 0.0
    return EvalResult(
        mean_return=mean,
        ci95=ci95,
        std_return=std,
        episodes=episodes,
        mean_length=float(lengths.mean()),
        success_rate=float(np.mean(successes)) if len(successes) == episodes else None,
    )


def _play(
    agent: Agent,
    env: gym.Env,
    episodes: int,
    seed: int | None,
    explore: bool,
    returns: np.ndarray,
    lengths: np.ndarray,
    successes: list[bool],
    bar: Any,
) -> None:
    for i in range(episodes):
        observation, info = env.reset(seed=seed if i == 0 else None)
        observation, mask = split_observation(observation, info)
        total, length = 0.0, 0
        while True:
            action = agent.act(observation, mask, explore=explore)
            observation, reward, terminated, truncated, info = env.step(action)
            observation, mask = split_observation(observation, info)
            total += float(reward)
            length += 1
            if terminated or truncated:
                break
            if bar is not None and length % 10_000 == 0:
                bar.set_postfix_str(f"episode {i + 1}: {length:,} steps", refresh=True)
        returns[i], lengths[i] = total, length
        if "is_success" in info:
            successes.append(bool(info["is_success"]))
        if bar is not None:
            bar.update(1)
