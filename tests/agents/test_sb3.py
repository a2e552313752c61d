"""Tests for rlkit.agents.sb3: the Stable-Baselines3 agents behind rlkit's Agent contract.

The learning tests train through the real command line on the non-slippery 4x4 FrozenLake,
whose optimal greedy policy reaches the goal every time (mean return 1.0).
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import random
import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

import rlkit
from rlkit.checkpoint import agent_from_checkpoint, load_checkpoint, save_agent
from rlkit.cli import main
from rlkit.errors import IncompatibleEnvError, SpecError
from rlkit.evaluation import evaluate
from rlkit.training import RunSettings, TrainingSession

pytest.importorskip("stable_baselines3")

LAKE = "frozenlake4x4"
# Settings and budgets that solve the lake with seed 0 in a few seconds. Runs repeat exactly on
# CPU, so these tests are not flaky; in a sweep over seeds 0-7, A2C solved all 8 and PPO 7 of 8.
SOLVERS = {
    "sb3:PPO": ("sb3:PPO:learning_rate=0.001,n_steps=256,n_epochs=4,device=cpu", 8000),
    "sb3:A2C": ("sb3:A2C:learning_rate=0.001,device=cpu", 5000),
    "sb3:DQN": (
        "sb3:DQN:learning_rate=0.001,learning_starts=500,target_update_interval=500,"
        "exploration_fraction=0.5,device=cpu",
        10000,
    ),
}


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny networks train several times faster on one thread than on contended cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _train(run: Path, spec: str, steps: int, *extra: str, seed: int = 0) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SB3's advice about mini-batch sizes and GPUs
        code = main(
            [
                "train",
                spec,
                "--env",
                LAKE,
                "--steps",
                str(steps),
                "--seed",
                str(seed),
                "--out",
                str(run),
                "--quiet",
                "--no-tensorboard",
                *extra,
            ]
        )
    assert code == 0


def _eval(checkpoint: Path, episodes: int = 5) -> dict[str, Any]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["eval", str(checkpoint), "--env", LAKE, "--json", "--episodes", str(episodes)])
    assert code == 0
    return json.loads(out.getvalue())


def _lake() -> gym.Env:
    return rlkit.make_env(LAKE)


@pytest.fixture(scope="module")
def ppo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("ppo") / "run"
    _train(run, *SOLVERS["sb3:PPO"])
    return run


# -- building --------------------------------------------------------------------------------------
def test_spec_parameters_reach_the_sb3_model():
    env = _lake()
    agent = rlkit.make_agent(
        "sb3:PPO:learning_rate=0.001,n_steps=128,net_arch=32x16,device=cpu",
        env.observation_space,
        env.action_space,
        seed=0,
    )
    assert agent.config.learning_rate == 0.001
    assert agent.model.learning_rate == 0.001 and agent.model.n_steps == 128
    sizes = [
        m.out_features
        for m in agent.model.policy.mlp_extractor.policy_net
        if isinstance(m, torch.nn.Linear)
    ]
    assert sizes == [32, 16]


@pytest.mark.parametrize("name", ["sb3:PPO", "sb3:A2C", "sb3:DQN", "sb3:MaskablePPO"])
def test_every_agent_builds_from_spaces_alone_with_documented_defaults(name):
    env = _lake()
    agent = rlkit.make_agent(name + ":device=cpu", env.observation_space, env.action_space, seed=0)
    assert agent.config.net_arch == (64, 64)
    assert 0 <= agent.act(0) < 4
    assert 0 <= agent.act(0, explore=True) < 4
    lines = [s.strip() for s in inspect.getsource(type(agent).Config).splitlines()]
    for field in agent.config.__dataclass_fields__:  # a docstring follows every field
        line = next(i for i, s in enumerate(lines) if s.startswith(field + ":"))
        assert lines[line + 1].startswith('"""'), field


@pytest.mark.parametrize(
    "spec, message",
    [
        ("sb3:PPO:batch_size=1", "batch_size"),
        ("sb3:PPO:n_step=5", "n_steps"),
        ("sb3:DQN:exploration_final_eps=2", "exploration_final_eps"),
        ("sb3:A2C:gamma=1.5", "gamma"),
    ],
)
def test_bad_parameters_are_rejected_by_name(spec, message):
    env = _lake()
    with pytest.raises(SpecError, match=message):
        rlkit.make_agent(spec, env.observation_space, env.action_space)


def test_continuous_actions_are_rejected():
    with pytest.raises(IncompatibleEnvError, match="Discrete"):
        rlkit.make_agent("sb3:PPO", gym.spaces.Discrete(3), gym.spaces.Box(-1, 1, (2,)))


def _seed_globals(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def test_the_callers_global_random_streams_are_left_alone():
    env = _lake()
    _seed_globals(5)
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    _seed_globals(5)
    agent = rlkit.make_agent(
        "sb3:DQN:learning_starts=10,device=cpu", env.observation_space, env.action_space, seed=1
    )
    agent.fit(env, TrainingSession(RunSettings("sb3:DQN", LAKE, steps=50), progress=False))
    agent.act(3, explore=True)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


# -- training --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "settings, steps, episodes",
    [
        ({"steps": 777}, 777, None),
        ({"episodes": 30}, None, 30),
    ],
)
def test_fit_spends_exactly_the_budget(settings, steps, episodes):
    env = _lake()
    agent = rlkit.make_agent(
        "sb3:PPO:n_steps=64,device=cpu", env.observation_space, env.action_space, seed=0
    )
    session = TrainingSession(RunSettings("sb3:PPO", LAKE, **settings), progress=False)
    env.reset(seed=0)
    agent.fit(env, session)
    assert agent.model.num_timesteps == session.steps
    if steps is not None:
        assert session.steps == steps
    else:
        assert session.episodes == episodes


@pytest.mark.parametrize("name", ["sb3:PPO", "sb3:A2C", "sb3:DQN"])
def test_cli_training_solves_the_lake(name, ppo_run, tmp_path):
    if name == "sb3:PPO":
        run = ppo_run
    else:
        run = tmp_path / "run"
        _train(run, *SOLVERS[name])
    result = _eval(run / "final.pt")
    assert result["mean_return"] == 1.0
    assert result["mean_length"] == 6.0  # the shortest path
    header = (run / "metrics.csv").read_text().splitlines()[0].split(",")
    assert header[:4] == ["steps", "episodes", "return_mean", "length_mean"]
    agent = rlkit.load_agent(run / "final.pt")
    assert set(header[4:]) == set(agent.training_metrics())


def test_checkpoint_loads_weights_only_and_acts_the_same(ppo_run):
    with np.load(ppo_run / "final.pt", allow_pickle=False) as payload:  # no pickled code
        assert any(k.startswith("optimizer.") for k in payload.files)
    env = _lake()
    trained = rlkit.load_agent(ppo_run / "final.pt")
    again = agent_from_checkpoint(load_checkpoint(ppo_run / "final.pt"))
    states = range(env.observation_space.n)
    assert [trained.act(s) for s in states] == [again.act(s) for s in states]
    # the random streams travel too: both sample the same exploratory actions
    assert [trained.act(s % 16, explore=True) for s in range(200)] == [
        again.act(s % 16, explore=True) for s in range(200)
    ]


def test_save_and_load_round_trip_keeps_policy_optimizer_and_counters(tmp_path):
    env = _lake()
    agent = rlkit.make_agent(
        "sb3:DQN:learning_starts=20,device=cpu", env.observation_space, env.action_space, seed=3
    )
    agent.fit(env, TrainingSession(RunSettings("sb3:DQN", LAKE, steps=300), progress=False))
    save_agent(tmp_path / "a.pt", "sb3:DQN:learning_starts=20,device=cpu", agent, env=LAKE)
    loaded = rlkit.load_agent(tmp_path / "a.pt")
    for key, value in agent.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    assert loaded.model.num_timesteps == 300
    assert loaded.model.exploration_rate == agent.model.exploration_rate


def test_resume_continues_the_step_count(tmp_path):
    run = tmp_path / "run"
    _train(run, "sb3:A2C:device=cpu", 400)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert (
            main(["train", "--resume", str(run), "--steps", "900", "--quiet", "--no-tensorboard"])
            == 0
        )
    meta = load_checkpoint(run / "final.pt").metadata
    assert meta["training"]["steps"] == 900
    assert meta["extra_state"]["num_timesteps"] == 900


def test_same_seed_gives_the_same_metrics(tmp_path):
    spec = "sb3:PPO:n_steps=128,batch_size=32,n_epochs=2,device=cpu"
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        _train(tmp_path / name, spec, 1500, "--log-interval", "200", seed=seed)
    a, b, c = ((tmp_path / n / "metrics.csv").read_text() for n in "abc")
    assert a == b
    assert a != c


# -- masks -----------------------------------------------------------------------------------------
class SlotsEnv(gym.Env):
    """Fill four slots, each once: the mask allows the empty ones; an illegal pick costs -1 and
    ends the episode, each legal pick earns +1.

    Observation: the filled slots as a ``MultiBinary(4)`` vector, either alone (mask in
    ``info["action_mask"]``) or in a ``Dict`` with ``"action_mask"``.
    """

    def __init__(self, mask_in: str = "info") -> None:
        self.mask_in = mask_in
        inner = gym.spaces.MultiBinary(4)
        self.observation_space = (
            gym.spaces.Dict({"observation": inner, "action_mask": gym.spaces.MultiBinary(4)})
            if mask_in == "dict"
            else inner
        )
        self.action_space = gym.spaces.Discrete(4)
        self.illegal = 0
        self.filled = np.zeros(4, dtype=np.int8)

    def _out(self) -> tuple[Any, dict[str, Any]]:
        mask = (self.filled == 0).astype(np.int8)
        if self.mask_in == "dict":
            return {"observation": self.filled.copy(), "action_mask": mask}, {}
        return self.filled.copy(), {"action_mask": mask.astype(bool)}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.filled = np.zeros(4, dtype=np.int8)
        return self._out()

    def step(self, action: int):
        if self.filled[action]:
            self.illegal += 1
            observation, info = self._out()
            return observation, -1.0, True, False, info
        self.filled[action] = 1
        observation, info = self._out()
        return observation, 1.0, bool(self.filled.all()), False, info


@pytest.mark.parametrize("mask_in", ["info", "dict"])
def test_maskable_ppo_never_takes_an_illegal_action(mask_in):
    env = SlotsEnv(mask_in)
    agent = rlkit.make_agent(
        "sb3:MaskablePPO:n_steps=64,batch_size=32,device=cpu",
        env.observation_space,
        env.action_space,
        seed=0,
    )
    session = TrainingSession(RunSettings("sb3:MaskablePPO", "slots", steps=600), progress=False)
    env.reset(seed=0)
    agent.fit(env, session)
    assert session.episodes == 600 // 4 and env.illegal == 0
    for explore in (False, True):
        result = evaluate(agent, env, 20, seed=1, explore=explore)
        assert result.mean_return == 4.0
    assert env.illegal == 0


def test_maskable_ppo_refuses_an_env_without_masks():
    env = _lake()
    agent = rlkit.make_agent(
        "sb3:MaskablePPO:device=cpu", env.observation_space, env.action_space, seed=0
    )
    session = TrainingSession(RunSettings("sb3:MaskablePPO", LAKE, steps=100), progress=False)
    with pytest.raises(IncompatibleEnvError, match="action masks"):
        agent.fit(env, session)


@pytest.mark.parametrize("name", ["sb3:PPO", "sb3:A2C", "sb3:DQN"])
def test_unmasked_agents_replace_an_illegal_choice_by_the_best_legal_one(name):
    env = SlotsEnv()
    agent = rlkit.make_agent(name + ":device=cpu", env.observation_space, env.action_space, seed=0)
    observation = np.array([0, 1, 0, 0], dtype=np.int8)
    obs_tensor, _ = agent.model.policy.obs_to_tensor(observation)
    with torch.no_grad():
        if name == "sb3:DQN":
            scores = agent.model.policy.q_net(obs_tensor)[0].numpy()
        else:
            scores = agent.model.policy.get_distribution(obs_tensor).distribution.probs[0].numpy()
    greedy = agent.act(observation)
    assert greedy == int(np.argmax(scores))
    mask = np.ones(4, dtype=bool)
    mask[greedy] = False
    expected = int(np.argmax(np.where(mask, scores, -np.inf)))
    assert agent.act(observation, mask) == expected
    for _ in range(50):
        assert mask[agent.act(observation, mask, explore=True)]
