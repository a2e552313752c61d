"""Q-learning against ground truth: exact updates, and optimal policies from value iteration."""

import gymnasium as gym
import numpy as np
import pytest

import rlkit
from rlkit.agent import Transition
from rlkit.agents.q_learning import QLearning, QLearningConfig
from rlkit.envs.gridworld import value_iteration
from rlkit.evaluation import evaluate
from rlkit.schedules import Schedule
from rlkit.training import RunSettings, TrainingSession


def train_q(env_spec: str, agent_spec: str, steps: int, seed: int):
    env = rlkit.make_env(env_spec)
    agent = rlkit.make_agent(agent_spec, env.observation_space, env.action_space, seed=seed)
    env.reset(seed=seed)
    session = TrainingSession(
        RunSettings(agent_spec, env_spec, seed=seed, steps=steps), progress=False
    )
    agent.fit(env, session)
    return agent, env


def start_state(env: gym.Env) -> int:
    return int(env.reset(seed=0)[0])


# Every built-in deterministic map, and Gymnasium's own deterministic toy-text envs.
DETERMINISTIC = [
    ("cliff", 30_000),
    ("frozenlake4x4", 20_000),
    ("frozenlake8x8", 100_000),
    ("windy", 60_000),
    ("maze", 80_000),
    ("empty5x5", 20_000),
    ("CliffWalking-v1", 30_000),
    ("FrozenLake-v1:is_slippery=false", 20_000),
]


@pytest.mark.parametrize(("env_spec", "steps"), DETERMINISTIC)
def test_greedy_policy_earns_the_optimal_return(env_spec, steps):
    env = rlkit.make_env(env_spec)
    optimal = value_iteration(env, 1.0).values[start_state(env)]
    for seed in range(5):
        agent, env = train_q(
            env_spec, f"q-learning:alpha=0.5,epsilon_decay_steps={steps // 2}", steps, seed
        )
        result = evaluate(agent, env, episodes=1, seed=seed)
        assert result.mean_return == pytest.approx(optimal), (env_spec, seed)


def test_update_is_the_q_learning_rule():
    space = gym.spaces.Discrete(3)
    agent = QLearning(QLearningConfig(alpha=0.5, gamma=0.9), space, gym.spaces.Discrete(2))
    agent.q[1] = [2.0, 4.0]
    agent.observe(Transition(0, 1, 1.0, 1, terminated=False, truncated=False))
    assert agent.q[0][1] == pytest.approx(0.5 * (1.0 + 0.9 * 4.0))
    # A terminal next state is not bootstrapped...
    agent.observe(Transition(2, 0, 3.0, 1, terminated=True, truncated=False))
    assert agent.q[2][0] == pytest.approx(1.5)
    # ...but a time-limit cut is: the state itself is not terminal.
    agent.observe(Transition(2, 1, 0.0, 1, terminated=False, truncated=True))
    assert agent.q[2][1] == pytest.approx(0.5 * 0.9 * 4.0)
    # An illegal next action does not count in the max.
    agent.observe(Transition(1, 0, 0.0, 1, False, False, next_action_mask=np.array([1, 0])))
    assert agent.q[1][0] == pytest.approx(2.0 + 0.5 * (0.9 * 2.0 - 2.0))


def test_masks_are_honoured_in_exploration_and_greedy_play():
    agent = QLearning(
        QLearningConfig(epsilon=1.0), gym.spaces.Discrete(1), gym.spaces.Discrete(6), seed=0
    )
    agent.q[0] = [9.0, 0.0, 0.0, 5.0, 0.0, 0.0]
    mask = np.array([0, 1, 0, 1, 0, 1], dtype=bool)
    explored = {agent.act(0, mask, explore=True) for _ in range(300)}
    assert explored == {1, 3, 5}
    assert agent.act(0, mask) == 3


def test_ties_are_broken_at_random_but_reproducibly():
    def make() -> QLearning:
        return QLearning(QLearningConfig(), gym.spaces.Discrete(1), gym.spaces.Discrete(4), seed=7)

    agent = make()
    assert len({agent.act(0) for _ in range(20)}) > 1
    a, b = make(), make()
    assert [a.act(0) for _ in range(50)] == [b.act(0) for _ in range(50)]


def test_state_round_trip_gives_identical_behaviour():
    agent, _ = train_q("frozenlake4x4", "q-learning", 3000, seed=1)
    clone = QLearning(agent.config, agent.observation_space, agent.action_space)
    clone.load_state_dict(agent.state_dict())
    clone.load_extra_state(agent.extra_state())
    assert clone.q == agent.q and clone.steps == agent.steps
    assert [clone.act(s % 16, explore=True) for s in range(200)] == [
        agent.act(s % 16, explore=True) for s in range(200)
    ]


def test_taxi_with_action_masks():
    """Gymnasium's Taxi-v4 passes legal-action masks in info; the optimum averages ~8."""
    agent, env = train_q(
        "Taxi-v4", "q-learning:alpha=0.5,epsilon_decay_steps=100000", 200_000, seed=0
    )
    assert evaluate(agent, env, episodes=200, seed=1).mean_return > 7.0


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        ("constant", [1.0, 1.0, 1.0]),
        ("linear", [1.0, 0.55, 0.1]),
        ("exponential", [1.0, 0.316228, 0.1]),
    ],
)
def test_schedules(kind, values):
    schedule = Schedule(kind, 1.0, 0.1, 10)
    got = [schedule.value(t) for t in (0, 5, 10)]
    assert got == pytest.approx(values, rel=1e-5)
    assert schedule.value(1000) == pytest.approx(values[-1])


@pytest.mark.parametrize(
    "params",
    [
        {"alpha": 0.0},
        {"epsilon": 1.5},
        {"gamma": -0.1},
        {"alpha_schedule": "exponential", "alpha_final": 0.0},
    ],
)
def test_config_validation(params):
    with pytest.raises(ValueError):
        QLearningConfig(**params)


class _FixedPolicy(rlkit.Agent):
    """Plays a given table of actions (the value-iteration policy)."""

    def __init__(self, policy, env):
        super().__init__(None, env.observation_space, env.action_space)
        self.policy = policy

    def act(self, observation, action_mask=None, *, explore=False):
        return int(self.policy[int(observation)])


@pytest.mark.slow
def test_slippery_8x8_success_rate_within_005_of_optimal(tmp_path):
    """The shipped config reaches the best stationary policy's success rate (10,000 episodes)."""
    from pathlib import Path

    from rlkit.cli import main

    config = Path(__file__).parents[2] / "configs" / "q-learning-frozenlake8x8-slippery.toml"
    run = tmp_path / "lake8"
    assert (
        main(["train", "--config", str(config), "--seed", "0", "--out", str(run), "--quiet"]) == 0
    )
    env = rlkit.make_env("frozenlake8x8-slippery")
    trained = evaluate(rlkit.load_agent(run / "final.pt"), env, 10_000, seed=123).success_rate
    optimal = max(
        evaluate(
            _FixedPolicy(value_iteration(env, g).policy, env), env, 10_000, seed=123
        ).success_rate
        for g in (0.99, 0.995, 0.999)
    )
    assert optimal > 0.85
    assert trained >= optimal - 0.05, (trained, optimal)
