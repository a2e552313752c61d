"""League learners: learning against an opponent, the KL penalty, supervised start, resume,
MaskablePPO, determinism and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from rlkit.agents.bc import train_bc
from rlkit.builder import load_agent
from rlkit.errors import CheckpointError, RlkitError, SpecError
from rlkit.leagues.learners import LEARNERS, LeagueLearner, make_learner
from rlkit.match import make_player, play_match
from rlkit.registry import make_game

NET = "mlp:hidden=32"
FAST = {"net": "mlp:hidden=64x64", "learning_rate": 1e-2, "episodes_per_update": 8}


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks: one thread is fastest, and it fixes the float summation order."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def lowest_cell_records(folder: Path, games: int, seed: int) -> None:
    """Tic-tac-toe games of two random moves, then both players take the lowest free cell."""
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
def bc_run(tmp_path_factory) -> Path:
    """A small behaviour-cloned tic-tac-toe policy (``rlkit train bc``'s run folder)."""
    root = tmp_path_factory.mktemp("bc")
    lowest_cell_records(root / "records", 60, seed=0)
    before = torch.get_num_threads()
    train_bc(
        data=root / "records",
        env="tictactoe",
        net=NET,
        out=root / "run",
        trainer={"epochs": 12, "batch_size": 64, "optimizer": "adam:lr=3e-3"},
        progress=False,
        autocast="off",
        device="cpu",
        threads=1,
    )
    torch.set_num_threads(before)
    return root / "run"


def positions(count: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Observations and legal masks of random tic-tac-toe positions (the mover's view)."""
    game = make_game("tictactoe")
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < count:
        state = game.initial_state()
        for _ in range(int(rng.integers(0, 7))):
            state = game.apply(state, int(rng.choice(game.legal_actions(state))))
            if game.is_terminal(state):
                break
        if not game.is_terminal(state):
            player = game.current_player(state)
            out.append((game.observation(state, player), game.legal_mask(state)))
    return out


def greedy_score(learner: LeagueLearner, tmp_path: Path, games: int = 200) -> tuple[float, float]:
    """Win rate and points per game (wins - losses) of the learner's greedy policy against
    ``random`` (colours alternating)."""
    path = tmp_path / "probe.pt"
    learner.save(path)
    summary = play_match(make_game("tictactoe"), str(path), "random", games, seed=1).summary()
    return summary["wins"] / games, summary["points_per_game"]


def weights(learner: LeagueLearner) -> dict[str, torch.Tensor]:
    return learner.agent.state_dict()


def same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# -- learning ------------------------------------------------------------------------------------
def test_reinforce_learns_tictactoe_against_random(tmp_path):
    """Measured for seeds 0-4 (greedy, 200 games): win rate 0.36-0.59 before, 0.77-0.87
    after 15,000 steps; points per game up by 0.37 to 0.98."""
    learner = make_learner("reinforce", "tictactoe", FAST, init=None, seed=0)
    wins_before, points_before = greedy_score(learner, tmp_path)
    curve = [learner.train_against("random", 1000, seed=i)["win_rate"] for i in range(15)]
    wins_after, points_after = greedy_score(learner, tmp_path)
    assert learner.steps >= 15_000
    assert wins_after > 0.7 and points_after > points_before + 0.3, (wins_before, wins_after)
    assert np.mean(curve[-3:]) > np.mean(curve[:2]) + 0.15, curve


def test_metrics_of_a_call():
    learner = make_learner("reinforce", "tictactoe", FAST, init=None, seed=0)
    metrics = learner.train_against("random", 200, seed=0)
    assert set(metrics) >= {"episodes", "steps", "win_rate", "mean_return", "loss", "kl"}
    assert metrics["steps"] >= 200 and learner.steps == metrics["steps"]
    assert metrics["steps"] < 200 + 5  # whole episodes: at most one more (tic-tac-toe: <= 5)
    assert metrics["updates"] == metrics["episodes"] // 8
    assert np.isnan(metrics["kl"])  # no supervised start, kl_coef=0: no reference
    assert 0 <= metrics["win_rate"] + metrics["draw_rate"] <= 1


# -- supervised start and the KL penalty -----------------------------------------------------------
def test_init_from_bc_reproduces_its_action_probabilities(bc_run, tmp_path):
    clone = load_agent(bc_run, game=make_game("tictactoe"), device="cpu")
    learner = make_learner("reinforce", "tictactoe", {"device": "cpu"}, init=str(bc_run), seed=3)
    assert learner.agent.config.net == NET  # the clone's network by default
    for observation, mask in positions(50, seed=0):
        expected, _ = clone.evaluate(observation[None], mask[None])
        np.testing.assert_allclose(
            learner.agent.action_probabilities(observation, mask), expected[0], atol=1e-6
        )
    # Its checkpoint plays like the clone (greedy) before any training.
    learner.save(tmp_path / "start.pt")
    player = make_player(str(tmp_path / "start.pt"), make_game("tictactoe"))
    for observation, mask in positions(20, seed=1):
        assert player.agent.act(observation, mask) == clone.act(observation, mask)


def test_a_large_kl_coef_keeps_the_policy_at_the_supervised_one(bc_run):
    def final_kl(kl_coef: float) -> float:
        settings = {"kl_coef": kl_coef, "learning_rate": 1e-2, "device": "cpu"}
        learner = make_learner("reinforce", "tictactoe", settings, init=str(bc_run), seed=0)
        for i in range(4):
            metrics = learner.train_against("random", 500, seed=i)
        return metrics["kl"]

    held, free = final_kl(100.0), final_kl(0.0)
    assert held < 0.01 and free > 0.1 and free > 20 * held, (held, free)


def test_a_network_unlike_the_clones_is_refused_in_one_line(bc_run):
    with pytest.raises(SpecError, match="supervised policy's network") as error:
        make_learner("reinforce", "tictactoe", {"net": "mlp:hidden=16"}, init=str(bc_run), seed=0)
    assert "\n" not in str(error.value)


def test_init_must_be_a_behaviour_cloned_policy(tmp_path):
    other = make_learner("reinforce", "tictactoe", FAST, init=None, seed=0)
    other.save(tmp_path / "rl.pt")
    with pytest.raises(SpecError, match="behaviour-cloned"):
        make_learner("reinforce", "tictactoe", {}, init=str(tmp_path / "rl.pt"), seed=0)
    with pytest.raises(CheckpointError, match="does not exist"):
        make_learner("reinforce", "tictactoe", {}, init=str(tmp_path / "missing.pt"), seed=0)


def test_init_of_another_game_is_refused(bc_run):
    with pytest.raises(RlkitError, match="connect_four") as error:
        make_learner("reinforce", "connect4", {}, init=str(bc_run), seed=0)
    assert "\n" not in str(error.value)


# -- determinism and resume ------------------------------------------------------------------------
def test_same_seed_same_weights():
    def run(seed: int) -> dict[str, torch.Tensor]:
        learner = make_learner("reinforce", "tictactoe", FAST, init=None, seed=seed)
        learner.train_against("random", 300, seed=7)
        return weights(learner)

    assert same_weights(run(0), run(0))
    assert not same_weights(run(0), run(1))


@pytest.mark.parametrize("supervised", [False, True])
def test_save_and_load_continue_identically(tmp_path, bc_run, supervised):
    settings = {**FAST, "kl_coef": 0.5, "episodes_per_update": 5}
    if supervised:
        settings = {"kl_coef": 0.5, "episodes_per_update": 5}
    init = str(bc_run) if supervised else None
    learner = make_learner("reinforce", "tictactoe", settings, init=init, seed=0)
    learner.train_against("random", 230, seed=1)  # leaves finished episodes pending
    assert learner.agent._pending
    learner.save(tmp_path / "learner.pt")
    resumed = LEARNERS["reinforce"].load(tmp_path / "learner.pt", "tictactoe", settings)
    assert resumed.steps == learner.steps and resumed.episodes == learner.episodes
    assert same_weights(weights(learner), weights(resumed))
    first = learner.train_against("minimax:depth=1", 200, seed=2)
    second = resumed.train_against("minimax:depth=1", 200, seed=2)
    assert first == second
    assert same_weights(weights(learner), weights(resumed))


def test_load_refuses_other_settings_learners_and_games(tmp_path):
    learner = make_learner("reinforce", "tictactoe", FAST, init=None, seed=0)
    learner.save(tmp_path / "learner.pt")
    with pytest.raises(CheckpointError, match="learning_rate"):
        LEARNERS["reinforce"].load(tmp_path / "learner.pt", "tictactoe", {"learning_rate": 0.5})
    with pytest.raises(CheckpointError, match="not the maskable-ppo learner"):
        LEARNERS["maskable-ppo"].load(tmp_path / "learner.pt", "tictactoe", {})
    with pytest.raises(RlkitError, match="connect_four"):
        LEARNERS["reinforce"].load(tmp_path / "learner.pt", "connect4", {})


# -- MaskablePPO -----------------------------------------------------------------------------------
PPO = {"n_steps": 128, "batch_size": 64, "n_epochs": 2, "device": "cpu"}


def test_maskable_ppo_trains_saves_and_is_seated(tmp_path):
    learner = make_learner("maskable-ppo", "tictactoe", PPO, init=None, seed=0)
    untrained = weights(learner)
    metrics = learner.train_against("random", 300, seed=0)
    # Whole rollouts: 3 x 128 steps, then the episode that crosses into the 4th.
    assert 385 <= metrics["steps"] < 385 + 5
    assert metrics["updates"] == 3 and np.isfinite(metrics["loss"])
    assert not same_weights(untrained, weights(learner))
    learner.save(tmp_path / "ppo.pt")
    game = make_game("tictactoe")
    player = make_player(str(tmp_path / "ppo.pt"), game)
    observation, mask = positions(1, seed=0)[0]
    assert mask[player.agent.act(observation, mask)]
    result = play_match(game, str(tmp_path / "ppo.pt"), "random", 4, seed=0)
    assert result.summary()["games"] == 4
    resumed = LEARNERS["maskable-ppo"].load(tmp_path / "ppo.pt", "tictactoe", PPO)
    assert resumed.steps == learner.steps


def test_maskable_ppo_is_deterministic_and_refuses_a_supervised_start(bc_run):
    def run() -> dict[str, torch.Tensor]:
        learner = make_learner("maskable-ppo", "tictactoe", PPO, init=None, seed=4)
        learner.train_against("random", 128, seed=1)
        return weights(learner)

    assert same_weights(run(), run())
    with pytest.raises(SpecError, match="cannot start from a supervised checkpoint"):
        make_learner("maskable-ppo", "tictactoe", PPO, init=str(bc_run), seed=0)


# -- bad input -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "settings", "match"),
    [
        ("reinforce", {"learning_rat": 0.1}, "no parameter 'learning_rat'"),
        ("reinforce", {"kl_coef": -1.0}, "kl_coef"),
        ("reinforce", {"net": "transformer:layers=2"}, "transformer"),
        ("reinforce", {"value_head": "median"}, "value head"),
        ("maskable-ppo", {"n_step": 64}, "no parameter 'n_step'"),
        ("dqn", {}, "known learners: reinforce, maskable-ppo"),
    ],
)
def test_bad_settings_are_one_line_spec_errors(name, settings, match):
    with pytest.raises(SpecError, match=match) as error:
        make_learner(name, "tictactoe", settings, init=None, seed=0)
    assert "\n" not in str(error.value)


def test_bad_opponent_and_budget_are_one_line_errors():
    learner = make_learner("reinforce", "tictactoe", FAST, init=None, seed=0)
    with pytest.raises(RlkitError) as error:
        learner.train_against("no-such-agent", 100, seed=0)
    assert "\n" not in str(error.value)
    with pytest.raises(SpecError, match="steps"):
        learner.train_against("random", 0, seed=0)
    with pytest.raises(SpecError, match="seed"):
        learner.train_against("random", 10, seed=-1)
    assert learner.steps == 0  # refused calls train nothing
    assert learner.train_against("random", np.int64(10), seed=np.uint32(3))["steps"] >= 10
