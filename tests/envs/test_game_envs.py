"""The generic game environments: PettingZoo and Gymnasium conformance, opponents, rewards,
chance resolution and illegal moves."""

from __future__ import annotations

import warnings
from typing import NamedTuple

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from pettingzoo.test import api_test, seed_test

from rlkit.agents.random_agent import RandomAgent
from rlkit.envs.connect_four import ConnectFour
from rlkit.envs.game_envs import (
    GAME_ENV_IDS,
    GameAECEnv,
    GameVsOpponentEnv,
    connect_four_v0,
    game_observation_space,
    register_game_envs,
    tictactoe_v0,
)
from rlkit.envs.tictactoe import TicTacToe
from rlkit.game import CHANCE, TERMINAL, Game, GameAgent, GameInfo, IllegalMoveError

# PettingZoo's api_test warns about every dict observation of an env outside its own list,
# although dict observations with an action mask are its classic convention.
PETTINGZOO_DICT_WARNINGS = (
    "Observation is not a NumPy array",
    "Observation space for each agent probably should be",
)


class DiceState(NamedTuple):
    roll: int  # -1 before the roll
    scores: tuple[int, int]
    turn: int


class DiceGuess(Game[DiceState]):
    """A toy game with chance nodes: a die of two faces is rolled before each turn, the player
    to move guesses it (action 0 or 1) and scores on a right guess; two turns each."""

    def __init__(self) -> None:
        self.info = GameInfo("dice_guess", 2, 2, True, True, -1.0, 1.0, 4, (3,))

    def initial_state(self) -> DiceState:
        return DiceState(-1, (0, 0), 0)

    def current_player(self, state: DiceState) -> int:
        if state.turn == 4:
            return TERMINAL
        return CHANCE if state.roll < 0 else state.turn % 2

    def legal_actions(self, state: DiceState) -> list[int]:
        return [0, 1] if self.current_player(state) >= 0 else []

    def chance_outcomes(self, state: DiceState) -> list[tuple[int, float]]:
        return [(0, 0.5), (1, 0.5)]

    def apply(self, state: DiceState, action: int) -> DiceState:
        if action not in (0, 1) or self.current_player(state) == TERMINAL:
            raise IllegalMoveError(f"move {action!r} is illegal here")
        if state.roll < 0:
            return state._replace(roll=action)
        scores = list(state.scores)
        scores[state.turn % 2] += action == state.roll
        return DiceState(-1, (scores[0], scores[1]), state.turn + 1)

    def returns(self, state: DiceState) -> np.ndarray:
        if state.turn < 4:
            return np.zeros(2)
        return np.sign(np.array([1.0, -1.0]) * (state.scores[0] - state.scores[1]))

    def observation(self, state: DiceState, player: int) -> np.ndarray:
        own, other = state.scores[player], state.scores[1 - player]
        return np.array([own / 2, other / 2, 1.0], np.float32)

    def render(self, state: DiceState) -> str:
        return f"{state}\n"


AEC_FACTORIES = {
    "tictactoe": tictactoe_v0,
    "connect_four": connect_four_v0,
    "dice_guess": lambda render_mode=None: GameAECEnv(DiceGuess(), render_mode=render_mode),
}


@pytest.fixture(autouse=True, scope="module")
def _registered():
    register_game_envs()


# -- PettingZoo -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(AEC_FACTORIES))
def test_pettingzoo_api_and_seed_tests(name):
    factory = AEC_FACTORIES[name]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        api_test(factory(render_mode="ansi"), num_cycles=200)
        seed_test(factory, num_cycles=200)
    unexpected = [
        str(w.message) for w in caught if not str(w.message).startswith(PETTINGZOO_DICT_WARNINGS)
    ]
    assert unexpected == []


def random_aec_game(env: GameAECEnv, rng: np.random.Generator) -> dict[str, float]:
    """Play one game with random legal moves; the final reward of each agent."""
    final = {}
    for agent in env.agent_iter():
        observation, reward, terminated, truncated, _ = env.last()
        assert env.game.current_player(env.game_state) in (0, 1, TERMINAL)  # chance resolved
        if terminated or truncated:
            final[agent] = reward
            env.step(None)
        else:
            assert env.agent_selection == f"player_{env.game.current_player(env.game_state)}"
            legal = np.flatnonzero(observation["action_mask"])
            assert legal.tolist() == env.game.legal_actions(env.game_state)
            env.step(int(rng.choice(legal)))
    return final


@pytest.mark.parametrize("name", sorted(AEC_FACTORIES))
def test_aec_rewards_sum_to_zero_and_match_the_returns(name):
    env = AEC_FACTORIES[name]()
    rng = np.random.default_rng(0)
    for seed in range(20):
        env.reset(seed=seed)
        final = random_aec_game(env, rng)
        assert set(final) == {"player_0", "player_1"}
        assert sum(final.values()) == 0
        returns = env.game.returns(env.game_state)
        assert [final["player_0"], final["player_1"]] == returns.tolist()


def test_aec_illegal_move_raises_and_leaves_the_env_unchanged():
    env = connect_four_v0()
    env.reset(seed=0)
    for _ in range(6):
        env.step(3)
    before = env.game_state
    with pytest.raises(IllegalMoveError, match=r"column 3 \(written 4\) is full"):
        env.step(3)
    with pytest.raises(IllegalMoveError, match="not a column"):
        env.step(7)
    assert env.game_state == before and env.agent_selection == "player_0"


def test_aec_masks_render_and_state():
    env = tictactoe_v0(render_mode="ansi")
    env.reset()
    env.step(4)
    assert env.observe("player_0")["action_mask"].sum() == 0  # not to move
    assert env.observe("player_1")["action_mask"].tolist() == [1, 1, 1, 1, 0, 1, 1, 1, 1]
    assert env.render() == "...\n.x.\n...\n"
    with pytest.raises(AttributeError):
        env.game_state = env.game.initial_state()
    with pytest.raises(ValueError, match="render_mode"):
        tictactoe_v0(render_mode="rgb_array")


def test_aec_chance_is_seeded():
    def rolls(seed: int) -> list[int]:
        env = AEC_FACTORIES["dice_guess"]()
        env.reset(seed=seed)
        seen = []
        for _ in range(4):
            seen.append(env.game_state.roll)
            env.step(0)
        return seen

    assert rolls(1) == rolls(1)
    assert len({tuple(rolls(s)) for s in range(10)}) > 1


# -- Gymnasium --------------------------------------------------------------------------------
@pytest.mark.parametrize("env_id", sorted(GAME_ENV_IDS))
@pytest.mark.parametrize("play_as", [0, 1, "alternate"])
def test_check_env_on_registered_ids(env_id, play_as):
    env = gymnasium.make(env_id, play_as=play_as)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped, skip_render_check=False)


@pytest.mark.parametrize(
    "game", [TicTacToe(), ConnectFour(), DiceGuess()], ids=lambda g: g.info.name
)
def test_check_env_raising_on_illegal_moves(game):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = GameVsOpponentEnv(game, render_mode="ansi")
        check_env(env, skip_render_check=True)  # the render check needs a registered spec
    env.reset(seed=0)
    assert env.render() == game.render(env.game_state)


def test_register_is_idempotent():
    register_game_envs()
    register_game_envs()
    assert all(env_id in gymnasium.registry for env_id in GAME_ENV_IDS)


def random_vs_opponent_game(env: GameVsOpponentEnv, rng: np.random.Generator, seed=None):
    """Play random legal moves; check each opponent reply is legal. Returns the last step."""
    observation, info = env.reset(seed=seed)
    game = env.game
    while True:
        assert game.current_player(env.game_state) == env.player
        legal = np.flatnonzero(observation["action_mask"])
        np.testing.assert_array_equal(info["action_mask"], observation["action_mask"])
        assert observation["action_mask"].dtype == np.int8
        action = int(rng.choice(legal))
        before = game.apply(env.game_state, action)
        observation, reward, terminated, truncated, info = env.step(action)
        after = env.game_state
        assert not truncated
        if game.current_player(before) != TERMINAL:
            replies = [game.apply(before, a) for a in game.legal_actions(before)]
            assert after in replies  # the opponent played one legal move
        if terminated:
            return reward, after
        assert reward == 0


@pytest.mark.parametrize("game", [TicTacToe(), ConnectFour()], ids=lambda g: g.info.name)
def test_full_games_against_random_end_with_the_agents_return(game):
    env = GameVsOpponentEnv(game, play_as="alternate")
    rng = np.random.default_rng(1)
    players = []
    for i in range(30):
        reward, final = random_vs_opponent_game(env, rng, seed=7 if i == 0 else None)
        players.append(env.player)
        assert game.current_player(final) == TERMINAL
        assert reward == game.returns(final)[env.player]
    assert players[:4] == [0, 1, 0, 1]


def test_known_game_against_a_fixed_policy():
    game = ConnectFour()
    always_first = lambda game, state, rng: game.legal_actions(state)[0]  # noqa: E731
    env = GameVsOpponentEnv(game, opponent=always_first, play_as=0)
    env.reset(seed=0)
    for _ in range(3):
        assert env.step(3)[1:3] == (0.0, False)
    assert env.step(3)[1:3] == (1.0, True)  # four in column 4
    assert game.render(env.game_state).splitlines()[2:6] == [
        "...x...",
        "o..x...",
        "o..x...",
        "o..x...",
    ]
    env = GameVsOpponentEnv(game, opponent=always_first, play_as=1)
    env.reset(seed=0)
    for _ in range(2):
        assert env.step(6)[1:3] == (0.0, False)
    assert env.step(6)[1:3] == (-1.0, True)  # the opponent completed column 1 first


class FirstLegal(GameAgent):
    def act(self, state):
        return self.game.legal_actions(state)[0]


@pytest.mark.parametrize("kind", ["game_agent", "env_agent"])
def test_agent_objects_as_opponents(kind):
    game = TicTacToe()
    if kind == "game_agent":
        opponent = FirstLegal(None, game, seed=0)
    else:
        space = game_observation_space(game)
        opponent = RandomAgent(None, space, gymnasium.spaces.Discrete(9), seed=0)
    env = GameVsOpponentEnv(game, opponent=opponent, play_as=1)
    reward, final = random_vs_opponent_game(env, np.random.default_rng(0), seed=0)
    assert reward == game.returns(final)[1]


def test_illegal_actions():
    env = GameVsOpponentEnv(TicTacToe())
    env.reset(seed=0)
    env.step(4)
    taken = int(np.flatnonzero(~env.game.legal_mask(env.game_state))[0])
    with pytest.raises(IllegalMoveError, match="already taken"):
        env.step(taken)

    env = gymnasium.make("rlkit/TicTacToe-v0")
    env.reset(seed=0)
    _, reward, terminated, truncated, info = env.step(4)
    taken = int(np.flatnonzero(info["action_mask"] == 0)[1])
    _, reward, terminated, truncated, info = env.step(taken)
    assert (reward, terminated, truncated, info["illegal_action"]) == (-1.0, True, False, True)
    with pytest.raises(IllegalMoveError, match="episode is over"):
        env.unwrapped.step(0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="play_as"):
        GameVsOpponentEnv(TicTacToe(), play_as=2)
    with pytest.raises(TypeError, match="opponent"):
        GameVsOpponentEnv(TicTacToe(), opponent=3)
    with pytest.raises(ValueError, match="render_mode"):
        GameVsOpponentEnv(TicTacToe(), render_mode="human")
    for bad in (-1, 9, 1.5, "2"):
        with pytest.raises(ValueError, match="opening_moves"):
            GameVsOpponentEnv(TicTacToe(), opening_moves=bad)


def test_opening_moves_start_each_episode_from_random_legal_moves():
    game = ConnectFour()

    def moves_made(state) -> int:
        return int(np.count_nonzero(game.observation(state, 0)[:2]))

    env = GameVsOpponentEnv(game, opponent="minimax:depth=1", play_as="alternate", opening_moves=3)
    env.reset(seed=4)
    openings = set()
    for episode in range(40):
        if episode:
            env.reset()
        state = env.game_state
        # 3 random moves (player 0, 1, 0), then the opponent's reply when it is player 1
        assert moves_made(state) == 3 + (env.player == 0)
        assert game.current_player(state) == env.player
        openings.add(state)
    assert len(openings) > 20  # the openings differ (7^3 of them); the bare start would be one
    # repeatable from the seed
    a = GameVsOpponentEnv(game, opening_moves=2)
    b = GameVsOpponentEnv(game, opening_moves=2)
    assert a.reset(seed=9)[0]["observation"].tolist() == b.reset(seed=9)[0]["observation"].tolist()
    # through an env spec, as the league and `rlkit train --env` pass it
    from rlkit.registry import make_env

    env = make_env("connect4:opening_moves=2")
    env.reset(seed=0)
    assert moves_made(env.unwrapped.game_state) == 2  # player 0 (the agent) to move


def test_spec_string_opponent_is_built_by_make_player_and_repeats_with_its_seed():
    game = TicTacToe()

    def final_state(seed: int):
        env = GameVsOpponentEnv(game, opponent="rlkit.agents.random_agent:RandomAgent")
        reward, final = random_vs_opponent_game(env, np.random.default_rng(0), seed=seed)
        assert reward == game.returns(final)[0]
        return final

    assert final_state(5) == final_state(5)


def test_backgammon_aec_env_passes_pettingzoo_api_test():
    from pettingzoo.test import api_test, seed_test

    from rlkit.envs.game_envs import backgammon_v0

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PettingZoo's notes about dict observation spaces
        api_test(backgammon_v0(), num_cycles=300)
        seed_test(backgammon_v0, num_cycles=100)


def test_go_aec_env_passes_pettingzoo_api_test():
    from pettingzoo.test import api_test

    from rlkit.envs.game_envs import go_v0

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PettingZoo's notes about dict observation spaces
        api_test(go_v0(size=5), num_cycles=200)


def test_go_truncation_is_reported_as_truncation():
    """Go's maximum length cuts the game: the episode is truncated, not terminated."""
    from rlkit.envs.game_envs import GameVsOpponentEnv
    from rlkit.envs.go import GoGame

    env = GameVsOpponentEnv(GoGame(5, max_game_length=6), "random", 0, None)
    _, info = env.reset(seed=0)
    terminated = truncated = False
    while not (terminated or truncated):
        first_legal = int(np.flatnonzero(info["action_mask"])[0])
        _, _, terminated, truncated, info = env.step(first_legal)
    assert truncated and not terminated
