"""The registry: names, module:Class specs, Gymnasium ids, close matches in errors."""

import gymnasium as gym
import pytest

import rlkit
from rlkit.agents.q_learning import QLearning
from rlkit.agents.random_agent import RandomAgent
from rlkit.errors import IncompatibleEnvError, SpecError, UnknownNameError


def test_make_agent_from_spec_applies_parameters():
    env = rlkit.make_env("FrozenLake-v1")
    agent = rlkit.make_agent(
        "q-learning:alpha=0.3,gamma=0.9", env.observation_space, env.action_space, seed=0
    )
    assert isinstance(agent, QLearning)
    assert (agent.config.alpha, agent.config.gamma) == (0.3, 0.9)


def test_make_agent_by_module_and_class():
    env = rlkit.make_env("FrozenLake-v1")
    agent = rlkit.make_agent(
        "rlkit.agents.random_agent:RandomAgent", env.observation_space, env.action_space
    )
    assert isinstance(agent, RandomAgent)


def test_unknown_agent_lists_close_matches():
    env = rlkit.make_env("FrozenLake-v1")
    with pytest.raises(UnknownNameError, match="did you mean 'q-learning'"):
        rlkit.make_agent("q-lerning", env.observation_space, env.action_space)


def test_unknown_env_lists_close_matches():
    with pytest.raises(UnknownNameError, match="did you mean 'FrozenLake-v1'"):
        rlkit.make_env("FrozenLak-v1")


def test_env_parameters_reach_gymnasium():
    env = rlkit.make_env("FrozenLake-v1:is_slippery=false,map_name=8x8")
    assert env.observation_space.n == 64
    # Non-slippery: every transition of the model is deterministic.
    assert all(len(outcomes) == 1 for row in env.unwrapped.P.values() for outcomes in row.values())


def test_bad_env_parameter_is_a_spec_error():
    with pytest.raises(SpecError, match="rejected its parameters"):
        rlkit.make_env("FrozenLake-v1:colour=blue")


def test_non_agent_class_is_rejected():
    env = rlkit.make_env("FrozenLake-v1")
    with pytest.raises(SpecError, match="not an rlkit Agent"):
        rlkit.make_agent("collections:OrderedDict", env.observation_space, env.action_space)


def test_q_learning_refuses_continuous_observations():
    env = gym.make("CartPole-v1")
    with pytest.raises(IncompatibleEnvError, match="Discrete observation space"):
        rlkit.make_agent("q-learning", env.observation_space, env.action_space)
