"""Behaviour cloning: acting, checkpoints, training from records and shards, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlkit.agents.bc import BehaviourCloning, BehaviourCloningConfig, train_bc
from rlkit.builder import load_agent
from rlkit.datasets import load_records, positions, save_shards
from rlkit.errors import RlkitError, SpecError
from rlkit.game import game_observation_space
from rlkit.match import play_match
from rlkit.registry import make_game

TINY = "mlp:hidden=32"
FAST = {"epochs": 2, "batch_size": 64}
# One thread: tiny networks on shared cores run many times slower on two (thread contention).


def agent_for(spec: str, **config) -> BehaviourCloning:
    game = make_game(spec)
    return BehaviourCloning(
        BehaviourCloningConfig(device="cpu", autocast="off", **config),
        game_observation_space(game),
        gym.spaces.Discrete(game.info.num_actions),
        seed=0,
    )


def lowest_cell_records(folder: Path, games: int, seed: int) -> None:
    """Tic-tac-toe games whose first two moves are random and whose players then always take
    the lowest free cell: an expert whose move is a simple function of the position."""
    game = make_game("tictactoe")
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for index in range(games):
        state, moves = game.initial_state(), []
        while not game.is_terminal(state):
            legal = game.legal_actions(state)
            action = int(rng.choice(legal)) if len(moves) < 2 else legal[0]
            moves.append(str(action))
            state = game.apply(state, action)
        returns = " ".join(f"{r:g}" for r in game.returns(state))
        (folder / f"game_{index:05d}.txt").write_text(
            f"game: tictactoe\nmoves: {' '.join(moves)}\nopening: 2\nreturns: {returns}\n"
        )


@pytest.fixture(scope="module")
def c4_records(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("c4") / "records"
    play_match(make_game("connect4"), "random", "random", 6, seed=0, record_dir=folder)
    return folder


# -- acting -------------------------------------------------------------------------------------
def test_greedy_act_is_the_most_probable_legal_move():
    agent = agent_for("connect4", net="resnet:blocks=1,channels=8")
    game = make_game("connect4")
    state = game.state_from_moves("1111112")  # column 1 is full
    obs, mask = game.observation(state, 1), game.legal_mask(state)
    priors, values = agent.evaluate(obs[None], mask[None])
    assert priors[0, 0] == 0 and abs(priors.sum() - 1) < 1e-5 and -1 <= values[0] <= 1
    assert agent.act(obs, mask) == int(np.argmax(priors[0]))
    dict_obs = {"observation": obs, "action_mask": mask.astype(np.int8)}
    assert agent.act(dict_obs) == agent.act(obs, mask)


def test_sampling_with_a_temperature_is_legal_and_repeats_with_the_seed():
    game = make_game("connect4")
    state = game.state_from_moves("1111114")
    obs, mask = game.observation(state, 1), game.legal_mask(state)
    a = agent_for("connect4", net=TINY, temperature=1.0)
    b = agent_for("connect4", net=TINY, temperature=1.0)
    moves = [a.act(obs, mask) for _ in range(200)]
    assert moves == [b.act(obs, mask) for _ in range(200)]
    assert 0 not in moves and len(set(moves)) > 1  # column 1 is full; the policy is spread


def test_bad_temperature_and_a_net_that_does_not_fit_are_one_line_errors():
    with pytest.raises(SpecError, match="temperature"):
        BehaviourCloningConfig(temperature=-1.0)
    with pytest.raises(SpecError, match="mlp"):
        agent_for("backgammon", net="resnet:blocks=1,channels=8")  # flat observations
    with pytest.raises(SpecError, match="kernel"):
        agent_for("tictactoe", net="resnet:blocks=1,channels=8,kernel=5")
    with pytest.raises(SpecError, match="channels"):
        agent_for("tictactoe", net="resnet:blocks=1,chanels=8")


# -- training -----------------------------------------------------------------------------------
def test_train_writes_a_run_that_plays_in_matches(tmp_path, c4_records):
    out = tmp_path / "run"
    summary = train_bc(
        data=c4_records, env="connect4", net=TINY, out=out, trainer=FAST, progress=False, threads=1
    )
    assert {p.name for p in out.iterdir()} >= {"config.toml", "final.pt", "summary.json"}
    assert summary["games"] == 6 and summary["holdout_games"] == 1
    assert summary["train_games"] == 5 and summary["epochs_run"] == 2
    assert 0 <= summary["holdout_agreement"] <= 1
    assert json.loads((out / "summary.json").read_text())["positions"] == summary["positions"]
    agent = load_agent(out)
    assert isinstance(agent, BehaviourCloning) and agent.config.net == TINY
    result = play_match(make_game("connect4"), str(out), "random", 2, seed=1)
    assert len(result.records) == 2
    with pytest.raises(RlkitError, match="already holds a run"):
        train_bc(data=c4_records, env="connect4", net=TINY, out=out, progress=False, threads=1)


def test_checkpoint_round_trip_gives_the_same_priors(tmp_path, c4_records):
    out = tmp_path / "run"
    train_bc(
        data=c4_records, env="connect4", net=TINY, out=out, trainer=FAST, progress=False, threads=1
    )
    trained = load_agent(out)
    game = make_game("connect4")
    lines = load_records(c4_records, "connect4")
    data = positions(lines[:2], game)
    again = BehaviourCloning(  # a fresh agent of the same config, other initial weights
        trained.config,
        game_observation_space(game),
        gym.spaces.Discrete(game.info.num_actions),
        seed=1,
    )
    again.load_state_dict(trained.state_dict())
    np.testing.assert_array_equal(
        again.evaluate(data["x"], data["legal_mask"])[0],
        trained.evaluate(data["x"], data["legal_mask"])[0],
    )


def test_the_clone_learns_a_simple_expert_from_records(tmp_path):
    """Take-the-lowest-free-cell is a function of the position: held-out games agree."""
    lowest_cell_records(tmp_path / "records", 80, seed=5)
    summary = train_bc(
        data=tmp_path / "records",
        env="tictactoe",
        net="mlp:hidden=64",
        out=tmp_path / "run",
        trainer={"epochs": 60, "batch_size": 32, "optimizer": "adam:lr=3e-3"},
        augment=False,  # the expert is not symmetric
        holdout=0.25,
        value_weight=0.0,
        progress=False,
        threads=1,
    )
    # at most 9 * 8 distinct games; copies of a game are held out together
    assert summary["distinct_games"] < 72
    assert summary["holdout_games"] == round(0.25 * summary["distinct_games"])
    assert summary["holdout_agreement"] >= 0.95
    assert summary["train_agreement"] >= 0.95


def test_same_seed_same_weights_and_shards_train_like_records(tmp_path, c4_records):
    a = train_bc(
        data=c4_records,
        env="connect4",
        net=TINY,
        out=tmp_path / "a",
        trainer=FAST,
        opening_moves=0,
        progress=False,
        threads=1,
    )
    b = train_bc(
        data=c4_records,
        env="connect4",
        net=TINY,
        out=tmp_path / "b",
        trainer=FAST,
        opening_moves=0,
        progress=False,
        threads=1,
    )
    game = make_game("connect4")
    arrays = positions(load_records(c4_records, "connect4"), game)
    save_shards(arrays, tmp_path / "shards", 50, game="connect4")
    c = train_bc(
        data=tmp_path / "shards",
        env="connect4",
        net=TINY,
        out=tmp_path / "c",
        trainer=FAST,
        progress=False,
        threads=1,
    )
    weights = [load_agent(tmp_path / n).state_dict() for n in "abc"]
    for key in weights[0]:
        assert torch.equal(weights[0][key], weights[1][key])
        assert torch.equal(weights[0][key], weights[2][key])
    assert a["holdout_agreement"] == b["holdout_agreement"] == c["holdout_agreement"]


def test_wdl_value_head_and_resuming_a_finished_run(tmp_path, c4_records):
    out = tmp_path / "run"
    first = train_bc(
        data=c4_records,
        env="connect4",
        net=TINY,
        out=out,
        trainer=FAST,
        value_head="wdl",
        progress=False,
        threads=1,
    )
    before = load_agent(out).state_dict()
    again = train_bc(
        data=c4_records,
        env="connect4",
        net=TINY,
        out=out,
        trainer=FAST,
        value_head="wdl",
        progress=False,
        threads=1,
        resume=True,
    )
    after = load_agent(out)
    assert after.config.value_head == "wdl"
    assert all(torch.equal(before[k], v) for k, v in after.state_dict().items())
    assert first["holdout_agreement"] == again["holdout_agreement"]
    with pytest.raises(RlkitError, match="no run to resume"):
        train_bc(data=c4_records, env="connect4", out=tmp_path / "new", resume=True)


@pytest.mark.parametrize(
    ("case", "match"),
    [
        ("missing", "does not exist"),
        ("other game", "not of 'tictactoe'"),
        ("corrupt shard", "corrupt"),
        ("foreign shards", "positions of 'connect4', not of 'tictactoe'"),
        ("typo", "chanels"),
        ("too big", "kernel"),
    ],
)
def test_bad_input_gives_one_line_errors(tmp_path, c4_records, case, match):
    data, env, net = c4_records, "tictactoe", TINY
    if case == "missing":
        data = tmp_path / "nowhere"
    elif case in ("corrupt shard", "foreign shards"):
        game = make_game("connect4")
        save_shards(
            positions(load_records(c4_records, "connect4"), game),
            tmp_path / "s",
            1000,
            game="connect4",
        )
        data = tmp_path / "s"
        if case == "corrupt shard":
            env = "connect4"
            (data / "shard_00000.npz").write_bytes(b"PK\x03\x04 not a zip")
    elif case == "typo":
        env, net = "connect4", "resnet:blocks=1,chanels=8"
    elif case == "too big":
        env, net = "tictactoe", "resnet:blocks=1,channels=8,kernel=5"
    with pytest.raises(RlkitError, match=match) as info:
        train_bc(
            data=data,
            env=env,
            net=net,
            out=tmp_path / "run",
            trainer=FAST,
            progress=False,
            threads=1,
        )
    assert "\n" not in str(info.value)
