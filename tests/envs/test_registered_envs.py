"""Conformance of every environment rlkit registers: Gymnasium's own checker, and seeding."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env, data_equivalence

import rlkit
from rlkit.registry import ENVS

REGISTERED = sorted(ENVS)


@pytest.mark.parametrize("name", REGISTERED)
def test_check_env_passes(name):
    env = rlkit.make_env(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped, skip_render_check=False)


@pytest.mark.parametrize("name", REGISTERED)
def test_same_seed_same_rollout(name):
    def rollout(seed: int) -> list:
        env = rlkit.make_env(name)
        actions = np.random.default_rng(0).integers(env.action_space.n, size=300)
        observation, _ = env.reset(seed=seed)
        trace = [observation]
        for action in actions:
            observation, reward, terminated, truncated, _ = env.step(int(action))
            trace.append((observation, reward, terminated, truncated))
            if terminated or truncated:
                trace.append(env.reset()[0])
        return trace

    assert data_equivalence(rollout(3), rollout(3))


def test_every_short_name_points_at_a_gymnasium_id():
    import rlkit.envs  # noqa: F401

    for entry in ENVS.values():
        assert entry.entry_point.removeprefix("gym:") in gym.registry
