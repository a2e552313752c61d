"""Minimax against ground truth: tic-tac-toe solved exhaustively, Connect Four endgames against a
plain brute-force solver, and a small dice game whose expectimax value is worked out by hand."""

from __future__ import annotations

import dataclasses
import random
from typing import NamedTuple

import numpy as np
import pytest

from rlkit.agents.minimax import DISCOUNT, Minimax, MinimaxConfig
from rlkit.envs.tictactoe import TicTacToe
from rlkit.errors import IncompatibleEnvError
from rlkit.game import CHANCE, TERMINAL, Game, GameInfo
from rlkit.specs import build_config

try:
    from rlkit.envs.connect_four import ConnectFour
except ImportError:  # pragma: no cover - the module arrives with the Connect Four issue
    ConnectFour = None

needs_connect_four = pytest.mark.skipif(ConnectFour is None, reason="no rlkit.envs.connect_four")

TTT = TicTacToe()


def ttt(*cells: int):
    """The tic-tac-toe state after marking ``cells`` in turn, x first."""
    state = TTT.initial_state()
    for cell in cells:
        state = TTT.apply(state, cell)
    return state


def losing_lines(game: Game, agent: Minimax, state, me: int) -> int:
    """Lines lost by ``me`` (played by ``agent``) against every possible opponent: at each of
    the opponent's turns every legal reply is followed."""
    player = game.current_player(state)
    if player == TERMINAL:
        return int(game.returns(state)[me] < 0)
    if player == me:
        return losing_lines(game, agent, game.apply(state, agent.act(state)), me)
    return sum(
        losing_lines(game, agent, game.apply(state, a), me) for a in game.legal_actions(state)
    )


def random_position(game: Game, rng: np.random.Generator, moves: int):
    """A non-terminal position after up to ``moves`` uniformly random moves."""
    state = game.initial_state()
    for _ in range(moves):
        following = game.apply(state, int(rng.choice(game.legal_actions(state))))
        if game.current_player(following) == TERMINAL:
            break
        state = following
    return state


def brute_force(game: Game, state, player: int, memo: dict) -> float:
    """Plain negamax over the whole tree, players alternating, with the same per-move
    discount: a win in k moves is worth DISCOUNT ** k."""
    if game.current_player(state) == TERMINAL:
        return float(game.returns(state)[player])
    if state not in memo:
        memo[state] = max(
            DISCOUNT * -brute_force(game, game.apply(state, a), 1 - player, memo)
            for a in game.legal_actions(state)
        )
    return memo[state]


# -- tic-tac-toe -----------------------------------------------------------------------------------
def test_tictactoe_is_a_draw():
    agent = Minimax(MinimaxConfig(), TTT, seed=0)
    assert agent.value(TTT.initial_state()) == 0.0
    info = agent.search_info
    assert info.solved and info.depth <= 9 and info.nodes > 0 and info.seconds >= 0
    assert len(info.principal_variation) >= 1


@pytest.mark.parametrize("me", [0, 1])
def test_never_loses_against_any_opponent(me):
    agent = Minimax(MinimaxConfig(), TTT, seed=me)
    assert losing_lines(TTT, agent, TTT.initial_state(), me) == 0


def test_depth_one_is_weaker():
    """One move deep it takes wins but does not see threats: some opponent beats it."""
    lost = 0
    for me in (0, 1):
        agent = Minimax(MinimaxConfig(depth=1, deterministic=True), TTT)
        lost += losing_lines(TTT, agent, TTT.initial_state(), me)
    assert lost > 0


def test_takes_wins_and_blocks():
    agent = Minimax(MinimaxConfig(), TTT, seed=0)
    win = ttt(0, 3, 1, 4)  # x to move: 2 wins, and o threatens 5
    assert agent.act(win) == 2
    assert agent.value(win) == DISCOUNT  # a win in one move
    block = ttt(0, 3, 8, 4)  # x to move, no win of its own, o threatens 5
    assert agent.act(block) == 5
    # o to move after x0 o3 x1 o4 x8: x threatens 2, o wins at once at 5 (the faster result)
    assert agent.act(ttt(0, 3, 1, 4, 8)) == 5


def test_faster_wins_and_slower_losses_are_preferred():
    agent = Minimax(MinimaxConfig(), TTT, seed=0)
    # x0 o1 x4 o8: x has a fork; x wins in 3 moves (its move, o's block, its win).
    assert agent.value(ttt(0, 1, 4, 8)) == pytest.approx(DISCOUNT**3)
    # o to move after x0 o1 x4 o8 x3: x threatens 5 and 6; o loses in 2 moves.
    assert agent.value(ttt(0, 1, 4, 8, 3)) == pytest.approx(-(DISCOUNT**2))


@pytest.mark.parametrize("depth", [None, 2, 3])
def test_transposition_table_does_not_change_values(depth):
    rng = np.random.default_rng(1)
    memo: dict = {}
    for _ in range(10):
        state = random_position(TTT, rng, int(rng.integers(1, 6)))
        with_table = Minimax(MinimaxConfig(depth=depth), TTT, seed=0)
        without = Minimax(MinimaxConfig(depth=depth, transposition_table=False), TTT, seed=0)
        assert with_table.value(state) == pytest.approx(without.value(state), abs=1e-12)
        if depth is None:
            exact = brute_force(TTT, state, TTT.current_player(state), memo)
            assert with_table.value(state) == pytest.approx(exact, abs=1e-12)


def test_a_tiny_table_still_gives_exact_values():
    agent = Minimax(MinimaxConfig(max_table_size=8), TTT, seed=0)
    assert agent.value(ttt(4)) == 0.0
    assert len(agent.table) <= 8
    agent.new_game()
    assert not agent.table


def test_ties_go_to_the_seeded_generator():
    """After x takes the centre, o draws in any corner and loses on any edge: four ties."""
    state = ttt(4)
    agent, twin = Minimax(MinimaxConfig(), TTT, seed=5), Minimax(MinimaxConfig(), TTT, seed=5)
    replies = [agent.act(state) for _ in range(20)]
    assert set(replies) == {0, 2, 6, 8}
    assert [twin.act(state) for _ in range(20)] == replies
    assert Minimax(MinimaxConfig(deterministic=True), TTT).act(state) == 0


def test_refuses_states_without_a_player_to_move():
    agent = Minimax(MinimaxConfig(), TTT)
    with pytest.raises(ValueError, match="game is over"):
        agent.act(ttt(0, 3, 1, 4, 2))


# -- configuration and construction ----------------------------------------------------------------
@pytest.mark.parametrize(
    "params",
    [
        {"depth": 0},
        {"time": 0.0},
        {"time": -1.0},
        {"time": float("inf")},
        {"max_table_size": 0},
        {"evaluation": "neural"},
        {"rollouts": 0},
    ],
)
def test_config_validation(params):
    with pytest.raises(ValueError):
        MinimaxConfig(**params)


def test_config_from_a_spec():
    config = build_config(MinimaxConfig, {"depth": "4", "time": "0.5"}, owner="minimax")
    assert (config.depth, config.time) == (4, 0.5)
    config = build_config(MinimaxConfig, {"depth": "none", "evaluation": "rollout"}, owner="m")
    assert (config.depth, config.evaluation) == (None, "rollout")


@pytest.mark.parametrize(
    "change", [{"zero_sum": False}, {"num_players": 3}], ids=["general-sum", "three-players"]
)
def test_rejects_games_that_are_not_two_player_zero_sum(change):
    game = TicTacToe()
    game.info = dataclasses.replace(game.info, **change)
    with pytest.raises(IncompatibleEnvError, match="two-player zero-sum"):
        Minimax(MinimaxConfig(), game)


# -- Connect Four ----------------------------------------------------------------------------------
# Endgames from random play (28 or 30 discs), the result for the side to move: a win (+k) or
# loss (-k) in k moves, or a draw (0). Checked against the brute-force solver below as well.
ENDGAMES = [
    ("1771566376111312355376576227", -10),
    ("7716536765356623353355174114", +11),
    ("5257261452643115367565214214", -14),
    ("3672122664777443236225533713", +3),
    ("6444261163767247262344775322", -12),
    ("123263451151761374212562436435", 0),
    ("652151246232642416621747557144", +9),
    ("133431336472371476115755451662", +7),
]


@needs_connect_four
@pytest.mark.parametrize(("moves", "result"), ENDGAMES)
def test_connect_four_endgames(moves, result):
    game = ConnectFour()
    state = game.state_from_moves(moves)
    player = game.current_player(state)
    expected = 0.0 if result == 0 else np.sign(result) * DISCOUNT ** abs(result)
    memo: dict = {}
    assert brute_force(game, state, player, memo) == pytest.approx(expected, abs=1e-12)
    agent = Minimax(MinimaxConfig(solve=True), game, seed=0)
    assert agent.value(state) == pytest.approx(expected, abs=1e-12)
    assert agent.search_info.solved
    # the move played keeps the value
    following = game.apply(state, agent.act(state))
    if game.current_player(following) == TERMINAL:
        assert DISCOUNT * game.returns(following)[player] == pytest.approx(expected)
    else:
        reply = brute_force(game, following, 1 - player, memo)
        assert DISCOUNT * -reply == pytest.approx(expected, abs=1e-12)
    # a depth-limited search with the heuristic finds the same value once deep enough
    if result != 0:
        limited = Minimax(MinimaxConfig(depth=abs(result)), game, seed=0)
        assert limited.value(state) == pytest.approx(expected, abs=1e-12)


@needs_connect_four
def test_connect_four_immediate_win_and_forced_loss():
    game = ConnectFour()
    agent = Minimax(MinimaxConfig(solve=True), game, seed=0)
    # x has 1, 2, 3 on the bottom row (o stacked in column 1): x wins in column 4.
    state = game.state_from_moves("112131")
    assert agent.act(state) == 3
    assert agent.value(state) == DISCOUNT
    assert agent.search_info.solved and agent.search_info.depth == 1
    # x has 2, 3, 4 on the bottom row with 1 and 5 open: o blocks one end, x wins at the other.
    state = game.state_from_moves("33442")
    assert agent.value(state) == pytest.approx(-(DISCOUNT**2))
    assert agent.search_info.solved and agent.search_info.depth == 2
    # The same found with a depth limit and the heuristic.
    limited = Minimax(MinimaxConfig(depth=4), game, seed=0)
    assert limited.value(state) == pytest.approx(-(DISCOUNT**2))
    # One move earlier x makes that open three (column 2 or 5) and wins in 3 moves.
    attacker = Minimax(MinimaxConfig(depth=3), game, seed=0)
    assert attacker.act(game.state_from_moves("3344")) in (1, 4)
    assert attacker.value(game.state_from_moves("3344")) == pytest.approx(DISCOUNT**3)
    assert attacker.search_info.solved


@needs_connect_four
def test_time_limited_search_stops_at_its_deadline(monkeypatch):
    """A clock that advances 0.1 ms per reading: the 0.2 s budget is 2,000 node visits, so the
    search is cut by the deadline, not by the machine (wall-clock timing:
    scripts/bench_search_limits.py)."""
    clock = iter(i * 1e-4 for i in range(10**9))
    monkeypatch.setattr("rlkit.agents.minimax.perf_counter", lambda: next(clock))
    game = ConnectFour()
    agent = Minimax(MinimaxConfig(time=0.2), game, seed=0)
    state = game.initial_state()
    move = agent.act(state)
    assert move in game.legal_actions(state)
    info = agent.search_info
    assert info.depth >= 2 and not info.solved
    assert info.seconds == pytest.approx(0.2, abs=0.01)  # stopped at the deadline's reading


@needs_connect_four
def test_evaluators_are_pluggable():
    game = ConnectFour()
    calls = []

    def likes_column_one(game_, state, player):
        calls.append(player)
        mine = state.stones0 if player == 0 else state.stones1
        return 0.5 if mine & 0b111111 else -5.0  # -5 is clipped to the utility range

    agent = Minimax(MinimaxConfig(depth=1), game, evaluator=likes_column_one)
    assert agent.act(game.initial_state()) == 0
    assert agent.value(game.initial_state()) == pytest.approx(DISCOUNT * 0.5)
    assert calls and set(calls) == {0}  # asked for the player who chose, at the root
    worst = Minimax(MinimaxConfig(depth=1), game, evaluator=lambda g, s, p: -5.0)
    assert worst.value(game.initial_state()) == pytest.approx(-DISCOUNT)


@needs_connect_four
def test_rollout_evaluation_is_seeded():
    game = ConnectFour()
    state = game.state_from_moves("4455")

    def run(seed):
        agent = Minimax(MinimaxConfig(depth=2, evaluation="rollout", rollouts=4), game, seed=seed)
        return agent.act(state), agent.value(state)

    assert run(3) == run(3)
    assert abs(run(5)[1]) <= 0.5


@needs_connect_four
def test_heuristic_depth_limited_values_stay_inside_the_utility_range():
    game = ConnectFour()
    agent = Minimax(MinimaxConfig(depth=4), game, seed=0)
    value = agent.value(game.state_from_moves("4453"))
    assert -1.0 < value < 1.0 and not agent.search_info.solved
    assert agent.search_info.depth == 4


# -- a dice game -----------------------------------------------------------------------------------
class DiceState(NamedTuple):
    stage: str  # "start", "rolled", "again", "reply", "coin" or "end"
    result: float = 0.0  # player 0's return at the end


class DiceGame(Game[DiceState]):
    """Player 0 stops (a draw) or rolls a die. A 1 loses. A 5 or 6 gives player 0 another
    move: bank (+1) or pass (0). A 2, 3 or 4 gives player 1 the move: accept (player 0 gets
    +0.5) or toss a coin (+1 or -1 for player 0)."""

    def __init__(self) -> None:
        self.info = GameInfo("dice", 2, 7, True, True, -1.0, 1.0, 3, (1,))

    def initial_state(self) -> DiceState:
        return DiceState("start")

    def current_player(self, state: DiceState) -> int:
        return {"start": 0, "again": 0, "reply": 1, "rolled": CHANCE, "coin": CHANCE}.get(
            state.stage, TERMINAL
        )

    def legal_actions(self, state: DiceState) -> list[int]:
        return [0, 1] if self.current_player(state) >= 0 else []

    def chance_outcomes(self, state: DiceState) -> list[tuple[int, float]]:
        if state.stage == "rolled":
            return [(face, 1 / 6) for face in range(1, 7)]
        return [(0, 0.5), (1, 0.5)]

    def apply(self, state: DiceState, action: int) -> DiceState:
        stage = state.stage
        if stage == "start":
            return DiceState("rolled") if action else DiceState("end", 0.0)
        if stage == "rolled":
            return (
                DiceState("end", -1.0)
                if action == 1
                else DiceState("again" if action >= 5 else "reply")
            )
        if stage == "again":
            return DiceState("end", 0.0 if action else 1.0)
        if stage == "reply":
            return DiceState("coin") if action else DiceState("end", 0.5)
        return DiceState("end", 1.0 if action else -1.0)  # the coin

    def returns(self, state: DiceState) -> np.ndarray:
        return np.array([state.result, -state.result])

    def observation(self, state: DiceState, player: int) -> np.ndarray:
        return np.zeros(1, dtype=np.float32)

    def render(self, state: DiceState) -> str:
        return f"{state}\n"


@pytest.mark.parametrize("table", [True, False])
def test_dice_game_expectimax_value(table):
    """By hand, a win in k moves worth DISCOUNT ** k (g): after a 5 or 6 player 0 banks, g.
    After 2-4, player 1 prefers the coin (worth 0) to giving away 0.5: 0. So rolling is worth
    g * (-1/6 + 2/6 * g + 3/6 * 0) = g (2g - 1) / 6, about 1/6, better than stopping (0).
    Player 0 moving twice in a row (after a 5 or 6) must not flip the sign."""
    game = DiceGame()
    agent = Minimax(MinimaxConfig(transposition_table=table), game, seed=0)
    g = DISCOUNT
    assert agent.value(game.initial_state()) == pytest.approx(g * (2 * g - 1) / 6, rel=1e-12)
    assert agent.search_info.solved
    assert agent.act(game.initial_state()) == 1
    assert agent.value(DiceState("again")) == pytest.approx(g)
    assert agent.value(DiceState("reply")) == 0.0  # for player 1: the coin
    assert agent.act(DiceState("reply")) == 1
    with pytest.raises(ValueError, match="chance node"):
        agent.act(DiceState("rolled"))


def test_dice_game_depth_counts_decisions_only():
    """One move deep, the position after rolling (a chance node) is evaluated, not expanded."""
    game = DiceGame()
    seen = []

    def evaluator(game_, state, player):
        seen.append((state.stage, player))
        return 0.25

    agent = Minimax(MinimaxConfig(depth=1), game, evaluator=evaluator)
    assert agent.value(game.initial_state()) == pytest.approx(DISCOUNT * 0.25)
    assert seen == [("rolled", 0)]


# -- random trees with chance nodes and players moving in any order --------------------------------
class RandomTreeGame(Game[tuple]):
    """A game tree drawn at random from ``seed``: states are the paths of actions from the
    root; each node is a decision of player 0 or 1 (in no fixed order), a chance node with two
    or three unequally likely outcomes, or an end with a return on a 0.25 grid (so that ties
    occur)."""

    def __init__(self, seed: int, length: int = 6) -> None:
        self.info = GameInfo("random-tree", 2, 3, True, True, -1.0, 1.0, length, (1,))
        self.seed, self.length = seed, length
        self._nodes: dict[tuple, tuple] = {}

    def _node(self, path: tuple) -> tuple:
        """(kind, branching or outcomes, return) of the node at ``path``."""
        if path not in self._nodes:
            rng = random.Random(f"{self.seed}:{path}")
            if len(path) >= self.length or (len(path) >= 2 and rng.random() < 0.15):
                node = (TERMINAL, 0, rng.randint(-4, 4) / 4)
            elif rng.random() < 0.3:
                weights = [rng.random() + 0.1 for _ in range(rng.randint(2, 3))]
                node = (CHANCE, [(i, w / sum(weights)) for i, w in enumerate(weights)], 0.0)
            else:
                node = (rng.randrange(2), rng.randint(1, 3), 0.0)
            self._nodes[path] = node
        return self._nodes[path]

    def initial_state(self) -> tuple:
        return ()

    def current_player(self, state: tuple) -> int:
        return self._node(state)[0]

    def legal_actions(self, state: tuple) -> list[int]:
        kind, branching, _ = self._node(state)
        return list(range(branching)) if kind >= 0 else []

    def chance_outcomes(self, state: tuple) -> list[tuple[int, float]]:
        return self._node(state)[1]

    def apply(self, state: tuple, action: int) -> tuple:
        return (*state, action)

    def returns(self, state: tuple) -> np.ndarray:
        result = self._node(state)[2] if self.current_player(state) == TERMINAL else 0.0
        return np.array([result, -result])

    def observation(self, state: tuple, player: int) -> np.ndarray:
        return np.zeros(1, dtype=np.float32)

    def render(self, state: tuple) -> str:
        return f"{state}\n"


def expectimax(game: Game, state, player: int) -> float:
    """Plain expectiminimax for ``player``, with the per-move discount and no pruning."""
    mover = game.current_player(state)
    if mover == TERMINAL:
        return float(game.returns(state)[player])
    if mover == CHANCE:
        return sum(
            p * expectimax(game, game.apply(state, o), player)
            for o, p in game.chance_outcomes(state)
        )
    best = max(
        DISCOUNT * expectimax(game, game.apply(state, a), mover) for a in game.legal_actions(state)
    )
    return best if mover == player else -best


@pytest.mark.parametrize("seed", range(12))
def test_expectiminimax_matches_plain_search_on_random_trees(seed):
    game = RandomTreeGame(seed)
    state = game.initial_state()
    while game.current_player(state) == CHANCE:  # start at a decision
        state = game.apply(state, 0)
    player = game.current_player(state)
    children = {
        a: DISCOUNT * expectimax(game, game.apply(state, a), player)
        for a in game.legal_actions(state)
    }
    for table in (True, False):
        agent = Minimax(MinimaxConfig(transposition_table=table), game, seed=seed)
        assert agent.value(state) == pytest.approx(max(children.values()), abs=1e-12)
        assert children[agent.act(state)] == pytest.approx(max(children.values()), abs=1e-12)


@needs_connect_four
def test_alpha_beta_matches_plain_depth_limited_minimax():
    """With the heuristic at the depth limit, on random middle-game positions."""
    game = ConnectFour()

    def plain(state, player, depth):
        if game.current_player(state) == TERMINAL:
            return float(game.returns(state)[player])
        if depth == 0:
            return game.evaluate(state, player)
        return max(
            DISCOUNT * -plain(game.apply(state, a), 1 - player, depth - 1)
            for a in game.legal_actions(state)
        )

    rng = np.random.default_rng(2)
    for _ in range(8):
        state = random_position(game, rng, int(rng.integers(0, 16)))
        player = game.current_player(state)
        for depth in (1, 2, 3):
            expected = plain(state, player, depth)
            for table in (True, False):
                agent = Minimax(MinimaxConfig(depth=depth, transposition_table=table), game)
                assert agent.value(state) == pytest.approx(expected, abs=1e-12)


def test_value_agents_from_specs_drive_expectiminimax():
    """``minimax:value=pubeval`` searches with pubeval's values: at depth 1 it plays pubeval's
    opening moves; ``value=td-gammon`` uses the shipped network; a valueless agent is refused."""
    from rlkit.envs.backgammon import BackgammonGame
    from rlkit.errors import SpecError
    from rlkit.match import make_player

    game = BackgammonGame()
    searcher = make_player("minimax:depth=1,value=pubeval,deterministic=true", game).agent
    pubeval = make_player("pubeval", game).agent
    for dice in [(3, 1), (6, 5), (4, 2), (6, 1), (5, 3)]:
        state = game.state_from_position_id("4HPwATDgc/ABMA", dice=dice)
        assert searcher.act(state) == pubeval.act(state), dice
    td = make_player("minimax:depth=1,value=td-gammon", game).agent
    state = game.state_from_position_id("4HPwATDgc/ABMA", dice=(3, 1))
    assert td.act(state) in game.legal_actions(state)
    with pytest.raises(SpecError, match="has no value"):
        make_player("minimax:depth=1,value=random", game)
