"""Checkpoints: round trips, atomic writes, and refusal of anything unsafe or corrupt."""

import json
import pickle

import gymnasium as gym
import numpy as np
import pytest
import torch

import rlkit
from rlkit.checkpoint import (
    load_checkpoint,
    save_agent,
    save_checkpoint,
    space_from_dict,
    space_to_dict,
)
from rlkit.errors import CheckpointError


@pytest.mark.parametrize(
    "space",
    [
        gym.spaces.Discrete(5, start=2),
        gym.spaces.Box(-1.0, 2.0, shape=(3, 2), dtype=np.float32),
        gym.spaces.MultiBinary(4),
        gym.spaces.MultiDiscrete([2, 3]),
        gym.spaces.Dict(
            {"observation": gym.spaces.Discrete(3), "action_mask": gym.spaces.MultiBinary(3)}
        ),
    ],
)
def test_spaces_round_trip_through_json(space):
    assert space_from_dict(json.loads(json.dumps(space_to_dict(space)))) == space


def _q_agent():
    env = rlkit.make_env("FrozenLake-v1")
    agent = rlkit.make_agent(
        "q-learning:alpha=0.3", env.observation_space, env.action_space, seed=4
    )
    agent.q[3][2] = 0.75
    return agent


def test_agent_round_trip(tmp_path):
    agent = _q_agent()
    save_agent(tmp_path / "a.pt", "q-learning:alpha=0.3", agent, env="FrozenLake-v1")
    loaded = rlkit.load_agent(tmp_path / "a.pt")
    assert loaded.q == agent.q and loaded.config == agent.config
    assert [loaded.act(s, explore=True) for s in range(16)] == [
        agent.act(s, explore=True) for s in range(16)
    ]
    assert load_checkpoint(tmp_path / "a.pt").metadata["env"] == "FrozenLake-v1"


def test_failed_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    agent = _q_agent()
    save_agent(tmp_path / "a.pt", "q-learning", agent)
    before = (tmp_path / "a.pt").read_bytes()
    with pytest.raises(CheckpointError, match="not JSON"):  # refused before writing
        save_checkpoint(tmp_path / "a.pt", {"bad": object()}, {})
    assert (tmp_path / "a.pt").read_bytes() == before

    def broken_save(file, **arrays):  # a disk that fails mid-write
        file.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr("numpy.savez", broken_save)
    with pytest.raises(OSError):
        save_checkpoint(tmp_path / "a.pt", {"fine": 1}, {})
    assert (tmp_path / "a.pt").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.pt"]  # no temporary file left behind


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_pickled_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("this must never run",))

    with (tmp_path / "evil.pt").open("wb") as f:
        pickle.dump({"format": "rlkit-checkpoint", "payload": Evil()}, f)
    with pytest.raises(CheckpointError, match="does not unpickle"):
        load_checkpoint(tmp_path / "evil.pt")


def test_tensors_that_do_not_fit_the_agent(tmp_path):
    agent = _q_agent()
    save_agent(tmp_path / "a.pt", "q-learning", agent)
    ckpt = load_checkpoint(tmp_path / "a.pt")
    save_checkpoint(tmp_path / "b.pt", ckpt.metadata, {"q": torch.zeros(3, 3)})
    with pytest.raises(CheckpointError, match="does not fit"):
        rlkit.load_agent(tmp_path / "b.pt")
    broken = dict(ckpt.metadata, agent="no-such-agent")
    save_checkpoint(tmp_path / "c.pt", broken, ckpt.tensors)
    with pytest.raises(CheckpointError, match="cannot be found here"):
        rlkit.load_agent(tmp_path / "c.pt")


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        rlkit.load_agent(tmp_path / "nothing.pt")
