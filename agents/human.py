"""A person at the terminal as an agent (registry name ``human``).

``rlkit play human td-gammon --env backgammon`` seats you against TD-Gammon; every game the
registry knows works the same way (``--env go:size=9``, ``connect4``, ``tictactoe``). On each of
your turns the agent shows

- what happened since your last move: the opponent's move and the dice, in the game's notation
  (found by comparing positions, see :meth:`Human.events_between`, because
  :func:`rlkit.match.play_game` tells an agent only the state it must move in);
- the board (``game.render``; in backgammon always from your side, so that the point numbers
  on the board are the ones you type, also when you play ``O``);
- whose move it is, the dice in backgammon, and a prompt.

Moves are written in the game's own notation, parsed by ``game.string_to_action``:

=============  ==========================================================================
game           examples
=============  ==========================================================================
backgammon     ``24/18 13/11``, ``bar/22*``, ``6/off``, ``8/5(2)`` (gnubg notation, points
               numbered from your side)
go             GTP vertices ``D4``, ``c3``, and ``pass``
connect four   a column ``1``-``7``
tic-tac-toe    a cell ``0``-``8``, row by row from the top left (or ``x(1,1)``)
=============  ==========================================================================

Commands at the prompt: ``help`` (commands and a few legal moves), ``hint`` (the move of the
``hint`` agent, shown and not played), ``moves`` or ``legal`` (every legal move), ``board``
(the position again), ``quit``, ``resign`` or ``exit`` (end the match). Illegal or unreadable
input prints the reason and asks again. When the rules leave only a pass (backgammon without a
legal move) it is played for you. A move that ends the game is followed by the final position
and the result; a game that the opponent's move ends is shown only where the caller hands the
final state to :meth:`Human.game_over`.

Ending the match: ``quit``/``resign`` and the end of the input (Ctrl-D, or a script that ran out
of lines) raise :class:`Quit`, a :class:`KeyboardInterrupt`, so every command treats it like
Ctrl-C: ``rlkit play`` stops and reports the games finished so far; the game in progress does
not count (the move API has no way to resign one game and go on to the next).

Streams: the agent reads lines from ``sys.stdin`` and writes to ``sys.stderr``, so that stdout
carries only the command's result (``rlkit play human random --env tictactoe --json >
result.json`` stays valid JSON). Tests and front ends pass other streams as the keyword
arguments ``input_stream``/``output_stream``, or set the class attributes of the same names
(the registry builds agents as ``cls(config, game, seed=seed)``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, ClassVar, TextIO

from rlkit.errors import RlkitError
from rlkit.game import CHANCE, TERMINAL, Game, GameAgent

__all__ = ["DEFAULT_HINTS", "FALLBACK_HINT", "Human", "Quit"]

DEFAULT_HINTS: dict[str, str] = {
    "backgammon": "td-gammon",
    "connect_four": "minimax:depth=4",
    "go": "mcts:simulations=2000",
    "tictactoe": "minimax",
}
"""The hint agent per game (``game.info.name``): each answers within seconds on one core."""
FALLBACK_HINT = "mcts:simulations=1000"
"""The hint agent of games without an entry in :data:`DEFAULT_HINTS` (MCTS needs only rules)."""

PLAYER_NAMES: dict[str, tuple[str, str]] = {
    "backgammon": ("X", "O"),
    "connect_four": ("x", "o"),
    "go": ("Black (X)", "White (O)"),
    "tictactoe": ("x", "o"),
}
"""How each game's render names players 0 and 1 (others: ``player 0``, ``player 1``)."""

NOTATION_HELP: dict[str, str] = {
    "backgammon": "moves like 24/18 13/11, bar/22*, 6/off, 8/5(2), points numbered from your side",
    "connect_four": "a column 1-7",
    "go": "a vertex like D4 (columns without I, rows from the bottom) or pass",
    "tictactoe": "a cell 0-8, row by row from the top left: 012 / 345 / 678",
}

COMMANDS = (
    ("help", "this list and a few legal moves"),
    ("hint", "the move the hint agent would play (not played)"),
    ("moves, legal", "every legal move"),
    ("board", "show the position again"),
    ("quit, resign, exit", "end the match (the game in progress does not count)"),
)

SEARCH_BUDGET = 200_000
"""Positions :meth:`Human.events_between` may visit before it gives up naming the opponent's
move (a backgammon turn takes about 21 rolls x 20 moves x 21 rolls ~ 9,000)."""
LINE_WIDTH = 100
_SWAP_XO = str.maketrans("XO", "OX")


class Quit(KeyboardInterrupt):
    """The person at the terminal ended the match (``quit``, ``resign``, or end of input).

    A :class:`KeyboardInterrupt`, so commands handle it exactly as Ctrl-C.
    """


class Human(GameAgent):
    """Asks a person for each move, in the game's notation (see the module docstring).

    Args:
        config: a :class:`Human.Config`.
        game: the game being played.
        seed: seeds the hint agent (the person needs no generator).
        input_stream: where moves are read, one per line (default: :attr:`input_stream`, or
            ``sys.stdin`` when that is None).
        output_stream: where the board and prompts go (default: :attr:`output_stream`, or
            ``sys.stderr`` when that is None).
    """

    interactive = True
    """Reads its moves from a person: no tournament worker can seat it."""

    @dataclass(frozen=True)
    class Config:
        hint: str | None = None
        """Agent spec or checkpoint that answers ``hint``, built at the first request. None: a
        default per game: ``td-gammon`` for backgammon, ``minimax:depth=4`` for connect four,
        ``minimax`` for tic-tac-toe, ``mcts:simulations=2000`` for Go, else
        ``mcts:simulations=1000``."""
        help_moves: int = 8
        """Legal moves that ``help`` shows as examples (``moves`` lists them all)."""

        def __post_init__(self) -> None:
            if self.help_moves < 0:
                raise ValueError(f"help_moves must be at least 0, got {self.help_moves}")

    input_stream: ClassVar[TextIO | None] = None
    """Stream every new agent reads from (None: ``sys.stdin`` at the time of reading)."""
    output_stream: ClassVar[TextIO | None] = None
    """Stream every new agent writes to (None: ``sys.stderr`` at the time of writing)."""

    def __init__(
        self,
        config: Config,
        game: Game,
        *,
        seed: int | None = None,
        input_stream: TextIO | None = None,
        output_stream: TextIO | None = None,
    ) -> None:
        super().__init__(config, game, seed=seed)
        self._input = input_stream if input_stream is not None else type(self).input_stream
        self._output = output_stream if output_stream is not None else type(self).output_stream
        self._hint_player: Any = None  # a rlkit.match.Player, built on the first ``hint``
        self._seat: int | None = None  # our player index in the current game
        self._last: Any = None  # the state after our last move (None: none yet this game)
        self._over = False  # the end of the current game has been shown

    # -- streams ----------------------------------------------------------------------------
    def _write(self, text: str = "") -> None:
        out = self._output if self._output is not None else sys.stderr
        out.write(text + "\n")
        out.flush()

    def _read(self, prompt: str) -> str | None:
        """One line of input without its newline; None at the end of the input."""
        out = self._output if self._output is not None else sys.stderr
        out.write(prompt)
        out.flush()
        line = (self._input if self._input is not None else sys.stdin).readline()
        if not line:
            out.write("\n")
            return None
        return line.rstrip("\r\n")

    # -- the GameAgent contract -----------------------------------------------------------
    def new_game(self) -> None:
        self._seat = None
        self._last = None
        self._over = False
        if self._hint_player is not None:
            self._hint_player.new_game()

    def act(self, state: Any) -> int:
        """Show the position and read moves and commands until a legal move is given.

        Raises:
            Quit: the person typed ``quit``/``resign``/``exit`` or the input ended.
        """
        game = self.game
        seat = game.current_player(state)
        if self._seat is None:
            self._seat = seat
            self._write(f"\nnew game of {game.info.name}: you play {self._name(seat)}")
        self._show_events(state, seat)
        self._write(self.picture(state))
        legal = game.legal_actions(state)
        if len(legal) == 1 and game.action_to_string(state, legal[0]) == "pass":
            self._write(f"{self._name(seat)}: no legal move, you pass")
            return self._played(state, legal[0])
        while True:
            line = self._read(f"{self._name(seat)} to move{self._dice(state)}> ")
            if line is None:
                raise Quit("the input ended")
            text = line.strip()
            command = text.lower()
            if not text:
                continue
            if command in ("quit", "resign", "exit"):
                self._write("you ended the match; the game in progress does not count")
                raise Quit(f"{self._name(seat)} ended the match")
            if command in ("help", "?"):
                self._help(state, legal)
            elif command in ("moves", "legal"):
                self._write(self._wrap([game.action_to_string(state, a) for a in legal]))
            elif command == "board":
                self._write(self.picture(state))
            elif command == "hint":
                self._hint(state)
            else:
                action = self._parse(state, text)
                if action is not None:
                    return self._played(state, action)

    # -- what the person sees -------------------------------------------------------------
    def picture(self, state: Any) -> str:
        """The board as the person sees it: ``game.render``, in backgammon from their side.

        Backgammon's render numbers the points from player 0's (``X``'s) side; notation
        numbers them from the mover's. For player 1 (``O``) the picture is rendered from the
        position with the two sides exchanged and the letters ``X`` and ``O`` swapped back, so
        that ``O`` moves from 24 down to 1 and the numbers on the board are the ones to type.
        """
        if self.game.info.name == "backgammon" and self._seat == 1 and hasattr(state, "board"):
            board = bytes(state.board)
            turn = state.turn if state.turn < 0 else 1 - state.turn
            mirrored = state._replace(board=board[26:] + board[:26], turn=turn)
            picture = self.game.render(mirrored).translate(_SWAP_XO).rstrip("\n")
            return picture + "\n(points numbered from your side, O)"
        return self.game.render(state).rstrip("\n")

    def _name(self, player: int) -> str:
        names = PLAYER_NAMES.get(self.game.info.name)
        return names[player] if names and 0 <= player < len(names) else f"player {player}"

    def _dice(self, state: Any) -> str:
        dice = getattr(state, "dice", None)
        if self.game.info.name == "backgammon" and dice and dice[0]:
            return f" with {dice[0]}-{dice[1]}"
        return ""

    @staticmethod
    def _wrap(items: list[str]) -> str:
        """Items separated by commas, in lines of at most :data:`LINE_WIDTH` characters
        (an item is never split: backgammon moves contain spaces)."""
        lines, current = [], ""
        for item in items:
            piece = item if not current else ", " + item
            if current and len(current) + len(piece) > LINE_WIDTH:
                lines.append(current + ",")
                current = item
            else:
                current += piece
        lines.append(current)
        return "\n".join(lines)

    def _help(self, state: Any, legal: list[int]) -> None:
        width = max(len(name) for name, _ in COMMANDS)
        notation = NOTATION_HELP.get(self.game.info.name, "a move as listed by 'moves'")
        self._write(f"type a move ({notation}), or a command:")
        for name, text in COMMANDS:
            self._write(f"  {name:<{width}}  {text}")
        shown = [self.game.action_to_string(state, a) for a in legal[: self.config.help_moves]]
        if shown:
            more = f" (and {len(legal) - len(shown)} more)" if len(legal) > len(shown) else ""
            self._write(f"legal moves: {', '.join(shown)}{more}")

    def _show_events(self, state: Any, seat: int) -> None:
        start = self._last if self._last is not None else self.game.initial_state()
        events = self.events_between(start, state, seat)
        if events is None:
            if self._last is not None:
                self._write("(the opponent's move could not be worked out)")
            return
        if events:
            self._write("; ".join(events))

    def events_between(self, start: Any, target: Any, player: int) -> list[str] | None:
        """What happened between two positions: chance outcomes and other players' moves.

        Searches forward from ``start`` through chance nodes and at most two decisions of
        players other than ``player`` (us), for a path to a state equal to ``target``; turns
        of ``player`` and ends of games are dead ends. Each event is described by
        ``game.action_to_string`` (a decision prefixed with its player's name). A chance
        outcome that the positions do not pin down is left out: in backgammon an opponent who
        rolled 6-1, 5-2 or 4-3 and played 24/17 leaves the same position, so only the move is
        shown. At most :data:`SEARCH_BUDGET` states are visited.

        Returns:
            The events in order (empty when ``start == target``), or None when no path was
            found within the budget.
        """
        game = self.game
        target_hash = hash(target)
        visited = 0

        def search(state: Any, decisions: int) -> list[str] | None:
            nonlocal visited
            if hash(state) == target_hash and state == target:
                return []
            mover = game.current_player(state)
            if mover in (TERMINAL, player):
                return None
            if mover != CHANCE and decisions >= 2:
                return None
            found: list[tuple[str, list[str]]] = []
            if mover == CHANCE:
                actions = [outcome for outcome, _ in game.chance_outcomes(state)]
            else:
                actions = game.legal_actions(state)
            for action in actions:
                visited += 1
                if visited > SEARCH_BUDGET:
                    return None
                child = game.apply(state, action)
                rest = search(child, decisions + (mover != CHANCE))
                if rest is None:
                    continue
                text = game.action_to_string(state, action)
                if mover != CHANCE:
                    return [f"{self._name(mover)} played {text}", *rest]
                if " " not in text and game.current_player(child) >= 0:
                    text = f"{self._name(game.current_player(child))} rolled {text}"
                found.append((text, rest))
            if not found:
                return None
            if len(found) == 1:
                return [found[0][0], *found[0][1]]
            return found[0][1]  # several outcomes lead here: which one is unknown

        return search(start, 0)

    # -- moves ------------------------------------------------------------------------------
    def _parse(self, state: Any, text: str) -> int | None:
        """The legal action ``text`` names, or None after printing why it is not one."""
        try:
            return int(self.game.string_to_action(state, text))
        except ValueError as exc:  # IllegalMoveError is a ValueError
            self._write(f"{self._why_illegal(state, text, exc)}; type 'help' for help")
            return None

    def _why_illegal(self, state: Any, text: str, error: Exception) -> str:
        """The most specific reason available: where the text names a move that the rules
        forbid (an occupied point in Go, a taken cell in tic-tac-toe), the rules' reason."""
        game = self.game
        action: int | None = None
        try:
            if hasattr(game, "vertex_to_action"):  # Go: any vertex of the board
                action = int(game.vertex_to_action(text))
            elif game.info.name == "tictactoe" and text.strip().isdigit():
                action = int(text)
            if action is not None:
                game.apply(state, action)
        except ValueError as exc:
            return str(exc)
        return str(error)

    def _played(self, state: Any, action: int) -> int:
        """Remember the position after our move; if it ends the game, show the result."""
        after = self.game.apply(state, action)
        self._last = after
        if self.game.current_player(after) == TERMINAL:
            self.game_over(after)
        return action

    def game_over(self, state: Any) -> None:
        """Show the final position and the result for us.

        Called by :meth:`act` when our own move ends the game. A game ended by the opponent's
        move is seen only by a caller that hands the final state here (``play_game`` does not
        tell agents that a game ended). Shows each game's end once, however often called.
        """
        if self._seat is None or self._over:
            return
        self._over = True
        events = None
        if self._last is not None:
            events = self.events_between(self._last, state, self._seat)
        if events:
            self._write("; ".join(events))
        self._write(self.picture(state))
        points = float(self.game.returns(state)[self._seat])
        if points > 0:
            result = f"you win ({points:+g})"
        elif points < 0:
            result = f"you lose ({points:+g})"
        else:
            result = "a draw"
        self._write(f"game over: {result}")

    def _hint(self, state: Any) -> None:
        spec = self.config.hint or DEFAULT_HINTS.get(self.game.info.name, FALLBACK_HINT)
        self._write(f"({spec} is thinking...)")
        try:
            if self._hint_player is None:
                from rlkit.match import make_player

                seed = int(self.rng.integers(2**31))
                self._hint_player = make_player(spec, self.game, seed=seed)
            action = self._hint_player.act(self.game, state)
            self._write(f"hint from {spec}: {self.game.action_to_string(state, action)}")
        except RlkitError as exc:
            self._write(f"no hint: {exc}")
