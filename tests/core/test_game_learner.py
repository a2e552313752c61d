"""`rlkit train` on a game: a GameLearner trains on the rules, checkpoints, and plays."""

import json
from dataclasses import dataclass

import torch

from rlkit.cli import main
from rlkit.game import GameLearner


@dataclass(frozen=True)
class CountingConfig:
    first_move: int = 4
    """The opening move it learns to prefer (tic-tac-toe cell)."""


class CountingLearner(GameLearner):
    """Plays random games against itself and counts how often each opening won."""

    Config = CountingConfig

    def __init__(self, config, game, *, seed=None):
        super().__init__(config, game, seed=seed)
        self.wins = torch.zeros(game.info.num_actions)

    def act(self, state):
        legal = self.game.legal_actions(state)
        best = max(legal, key=lambda a: (float(self.wins[a]), -a))
        return best if state.moves == 0 else int(self.rng.choice(legal))

    def fit(self, game, session):
        while not session.finished:
            state = game.initial_state()
            opening = int(self.rng.integers(9))
            state = game.apply(state, opening)
            moves = 1
            while game.legal_actions(state):
                state = game.apply(state, int(self.rng.choice(game.legal_actions(state))))
                moves += 1
            result = float(game.returns(state)[0])
            self.wins[opening] += result
            session.end_episode(result, moves, {"wins_centre": float(self.wins[4])})

    def state_dict(self):
        return {"wins": self.wins.clone()}

    def load_state_dict(self, tensors):
        self.wins = tensors["wins"].clone()


def test_game_learner_trains_checkpoints_and_plays(tmp_path, capsys):
    run = tmp_path / "run"
    spec = "tests.core.test_game_learner:CountingLearner"
    args = ["train", spec, "--env", "tictactoe", "--episodes", "300", "--seed", "1"]
    assert main([*args, "--out", str(run), "--quiet", "--log-interval", "200"]) == 0
    assert "wins_centre" in (run / "metrics.csv").read_text().splitlines()[0]
    capsys.readouterr()
    assert (
        main(
            [
                "play",
                str(run / "final.pt"),
                "random",
                "--env",
                "tictactoe",
                "--games",
                "4",
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["games"] == 4
    # Seeded: the same run again gives the same metrics.
    assert main([*args, "--out", str(tmp_path / "again"), "--quiet", "--log-interval", "200"]) == 0
    assert (run / "metrics.csv").read_text() == (tmp_path / "again" / "metrics.csv").read_text()
    # A game agent is measured with `rlkit play`, not `rlkit eval`.
    assert main(["eval", str(run), "--env", "tictactoe"]) == 2
    assert "rlkit play" in capsys.readouterr().err
