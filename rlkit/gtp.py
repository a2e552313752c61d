"""A GTP engine: any rlkit agent plays Go in GoGui, Sabaki, gogui-twogtp or against GNU Go.

GTP, the Go Text Protocol (version 2, https://www.lysator.liu.se/~gunnar/gtp/), is a line
protocol on stdin and stdout. The controller sends ``[id] command [arguments]``; the engine
answers ``=[id] result`` or ``?[id] error message``, each answer ending with an empty line::

    1 boardsize 9          →   =1
    2 play black E5        →   =2
    3 genmove white        →   =3 C3
    4 final_score          →   =4 W+6.5
    5 play b E5            →   ?5 illegal move

Following the protocol, lines are cleaned before they are read: control characters other than
tab and newline are dropped, tabs become spaces, ``#`` starts a comment, and a line left empty
gets no answer at all. An id is ASCII digits only. Colours are ``black``/``b``/``white``/``w``,
vertices like ``D4`` or ``pass`` (case-insensitive; the letter I is skipped).

Engine behaviour where GTP leaves room:

- The rules are rlkit's Go: Tromp-Taylor area scoring (``final_score``), positional superko,
  no suicide; ``final_status_list dead`` is always empty, since every stone on the board counts.
- The engine follows the controller and models exactly the moves it sent. ``play`` and
  ``genmove`` are for either colour at any time: a colour that is not to move simply moves
  (no pass is inserted for the other), and play goes on after two passes when the
  controller says so (KGS's clean-up phase); the position then has the colour to move and no
  passes pending (:meth:`~rlkit.envs.go.GoGame.resume`). ``undo`` takes back exactly the last
  ``play`` or ``genmove``, and ``is_legal`` answers for the colour it names. Games are not cut
  off: the engine's game allows :data:`LENGTH_FACTOR` ``* size * size`` moves (1,620 on 9x9,
  far past any real game; rlkit's default is ``3 * size * size``), and only past that is a
  move refused, with that reason.
- ``kgs-genmove_cleanup`` is ``genmove`` that does not pass while dead enemy stones are left
  to capture (:func:`cleanup_move` judges which): Tromp-Taylor scoring counts every stone on
  the board, so capturing them makes our ``final_score`` agree with an engine that removes
  dead stones by judgement (GNU Go's under ``--chinese-rules``).
- Handicap (``fixed_handicap``, ``place_free_handicap``, ``set_free_handicap``, only on an
  empty board): the black stones are set up, not played (``moves`` stays 0, they are not on the
  undo stack), and White is to move (:meth:`~rlkit.envs.go.GoGame.handicap_state`).
  ``fixed_handicap`` uses the placements of GTP 2 section 4.1.1 (:func:`fixed_handicap_points`).
- ``komi`` keeps the position; ``boardsize`` and ``komi`` build a new game and a new player
  (the player is made for one game's rules), and ``clear_board`` starts a new game with the same
  player.
- ``loadsgf`` reads and replays the file into a new game first and changes nothing when that
  fails; a file without ``KM`` keeps the engine's current komi.
- ``name`` is ``rlkit`` and ``version`` rlkit's version; the agent is not named.
- Errors in the agent are answered ``? ...``; the engine itself never stops on bad input.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import IO, Any

from rlkit.errors import RlkitError, SpecError
from rlkit.game import TERMINAL

PROTOCOL_VERSION = "2"
LENGTH_FACTOR = 20
"""The engine's game allows ``LENGTH_FACTOR * size * size`` moves (passes included)."""
_ID = re.compile(r"[0-9]+")


class GtpError(Exception):
    """A failed command; its message is the text after ``?``."""


def _default_game(size: int, komi: float) -> Any:
    from rlkit.envs.go import GoGame

    return GoGame(size=size, komi=komi, max_game_length=LENGTH_FACTOR * size * size)


def board_limits() -> tuple[int, int]:
    """The smallest and largest board sizes rlkit's Go plays (5 and 19)."""
    from rlkit.envs.go import MAX_SIZE, MIN_SIZE

    return MIN_SIZE, MAX_SIZE


def parse_color(text: str) -> int:
    """0 for black, 1 for white (``b``, ``black``, ``w``, ``white``, any case)."""
    lowered = text.lower()
    if lowered in ("b", "black"):
        return 0
    if lowered in ("w", "white"):
        return 1
    raise GtpError(f"invalid color {text!r} (expected black, b, white or w)")


# -- handicap -------------------------------------------------------------------------------------
def max_fixed_handicap(size: int) -> int:
    """The most stones ``fixed_handicap`` places on a ``size`` board (GTP 2, section 4.1.1).

    9 on odd boards from 9x9 up, 4 on 7x7 and on even boards from 8x8 up, none below 7x7
    (there is no agreed placement there).
    """
    if size < 7:
        return 0
    return 9 if size % 2 == 1 and size >= 9 else 4


def fixed_handicap_points(size: int, count: int) -> list[int]:
    """The points of ``count`` fixed handicap stones (GTP 2, section 4.1.1), in its order.

    Stones go on the third line (the fourth from 12x12 up): the two opposite corners lower
    left and upper right first, then upper left, lower right, then the side midpoints left
    and right, then bottom and top, and the centre last for an odd count. On 19x19: 2 stones
    ``D4 Q16``, 5 stones ``D4 Q16 D16 Q4 K10``, 9 stones ``D4 Q16 D16 Q4 D10 Q10 K4 K16 K10``.
    Points are ``row * size + col`` with row 0 the top row.

    Raises:
        ValueError: ``count`` is not from 2 to :func:`max_fixed_handicap`.
    """
    if not 2 <= count <= max_fixed_handicap(size):
        raise ValueError(f"{count} fixed handicap stones on {size}x{size}")
    low = 3 if size >= 12 else 2  # line index, 0 at the edge (as GNU Go, the reference)
    high, mid = size - 1 - low, size // 2
    # (row, col) with row 0 at the top: lower left, upper right, upper left, lower right,
    # left and right midpoints, bottom and top midpoints.
    order = [(high, low), (low, high), (low, low), (high, high)]
    order += [(mid, low), (mid, high), (high, mid), (low, mid)]
    corners_and_sides = order[: count - count % 2] if count >= 5 else order[:count]
    points = [row * size + col for row, col in corners_and_sides]
    if count >= 5 and count % 2 == 1:
        points.append(mid * size + mid)
    return points


def free_handicap_points(size: int, count: int) -> list[int]:
    """Where ``place_free_handicap`` puts ``count`` stones: the fixed placement where GTP
    defines one, else those stones and then, one at a time, the empty point farthest (in
    Manhattan distance, ties to the lowest point) from the stones placed so far and from
    the edge (counted in lines, the edge being the first), so the stones spread out."""
    fixed = min(count, max_fixed_handicap(size))
    points = fixed_handicap_points(size, fixed) if fixed >= 2 else []

    def room(p: int) -> tuple[int, int]:
        row, col = divmod(p, size)
        edge = min(row, col, size - 1 - row, size - 1 - col) + 1
        near = min((abs(row - q // size) + abs(col - q % size) for q in points), default=size)
        return min(near, edge), -p

    while len(points) < count:
        points.append(max((p for p in range(size * size) if p not in points), key=room))
    return points


# -- clean-up -------------------------------------------------------------------------------------
def _neighbour_lists(size: int) -> list[list[int]]:
    out = []
    for p in range(size * size):
        row, col = divmod(p, size)
        out.append(
            [
                r * size + c
                for r, c in ((row - 1, col), (row + 1, col), (row, col - 1), (row, col + 1))
                if 0 <= r < size and 0 <= c < size
            ]
        )
    return out


def _dead_chains(board: list[int], neighbours: list[list[int]], colour: int) -> list[set[int]]:
    """The chains of ``colour`` (1 black, 2 white) judged dead on ``board`` (0 empty).

    Each connected empty region belongs to the colour with more distinct stones next to it
    (to neither on a tie). A chain is dead when every one of its liberties lies in a region
    of the other colour: a stone left inside the opponent's area is outnumbered by the
    stones that wall the area in, while a living group's eyes and territory touch its own
    stones (and at most a few dead intruders). This is a static judgement for finished
    games, not reading: it does not see seki or groups that are short of liberties.
    """
    n = len(board)
    region = [-1] * n
    owner: list[int] = []
    for start in range(n):
        if board[start] != 0 or region[start] >= 0:
            continue
        label, stack = len(owner), [start]
        touching: tuple[set[int], set[int]] = (set(), set())
        region[start] = label
        while stack:
            p = stack.pop()
            for q in neighbours[p]:
                if board[q] == 0:
                    if region[q] < 0:
                        region[q] = label
                        stack.append(q)
                else:
                    touching[board[q] - 1].add(q)
        black, white = len(touching[0]), len(touching[1])
        owner.append(1 if black > white else 2 if white > black else 0)
    dead: list[set[int]] = []
    seen = [False] * n
    for start in range(n):
        if board[start] != colour or seen[start]:
            continue
        stones, owners, stack = {start}, set(), [start]
        seen[start] = True
        while stack:
            p = stack.pop()
            for q in neighbours[p]:
                if board[q] == colour and not seen[q]:
                    seen[q] = True
                    stones.add(q)
                    stack.append(q)
                elif board[q] == 0:
                    owners.add(owner[region[q]])
        if owners == {3 - colour}:
            dead.append(stones)
    return dead


def cleanup_move(game: Any, state: Any) -> int | None:
    """A move that helps the player to move capture dead enemy stones, or None.

    Dead stones are judged by :func:`_dead_chains`. Among the liberties of the enemy's dead
    chains, the move is a legal one that captures (preferred) or one whose stone keeps two
    or more liberties (no self-atari), next to the dead chain with the fewest liberties;
    ties go to the lowest point. A liberty of an enemy chain is never our own single-point
    eye, so no eye is filled.

    Args:
        game: a Go game (``size``, ``board_array``, ``legal_mask``, ``apply``).
        state: a position with a player to move.

    Returns:
        The action, or None when there is nothing dead to attack (then pass).
    """
    player = game.current_player(state)
    if player == TERMINAL:
        return None
    size = game.size
    board = [int(v) for v in game.board_array(state).ravel()]
    neighbours = _neighbour_lists(size)
    targets = _dead_chains(board, neighbours, 2 - player)
    if not targets:
        return None
    legal = game.legal_mask(state)
    best: tuple[int, int, int] | None = None
    for chain in targets:
        libs = {q for p in chain for q in neighbours[p] if board[q] == 0}
        for point in libs:
            if not legal[point]:
                continue
            if len(libs) == 1:
                key = (0, 1, point)  # captures the chain
            else:
                after = [int(v) for v in game.board_array(game.apply(state, point)).ravel()]
                if _chain_liberties(after, neighbours, point) < 2:
                    continue  # a self-atari only gives the enemy a capture
                key = (1, len(libs), point)
            if best is None or key < best:
                best = key
    return None if best is None else best[2]


def _chain_liberties(board: list[int], neighbours: list[list[int]], point: int) -> int:
    colour, stones, libs, stack = board[point], {point}, set(), [point]
    while stack:
        p = stack.pop()
        for q in neighbours[p]:
            if board[q] == 0:
                libs.add(q)
            elif board[q] == colour and q not in stones:
                stones.add(q)
                stack.append(q)
    return len(libs)


# -- the engine -----------------------------------------------------------------------------------
class GtpEngine:
    """Answers GTP commands for a Go player (see the module docstring).

    The engine keeps ``states``, the position before any move (empty or with handicap
    stones) and after each move the controller sent or the engine generated, and ``moves``,
    the ``(color, action)`` of each; ``undo`` drops the last of each.

    Args:
        player_factory: builds the :class:`~rlkit.match.Player` for a game; called again
            whenever ``boardsize`` or ``komi`` make a new game.
        size, komi: the game before any ``boardsize`` or ``komi`` command.
        name: the answer to ``name``.
        game_factory: ``(size, komi) -> game``; rlkit's ``GoGame`` with
            :data:`LENGTH_FACTOR` ``* size * size`` moves by default.
    """

    def __init__(
        self,
        player_factory: Callable[[Any], Any],
        size: int = 9,
        komi: float = 7.5,
        name: str = "rlkit",
        *,
        game_factory: Callable[[int, float], Any] = _default_game,
    ) -> None:
        self.player_factory = player_factory
        self.game_factory = game_factory
        self.name = name
        self.quit_requested = False
        self.game = game_factory(size, komi)
        self.player = player_factory(self.game)
        self._clear()
        self._commands: dict[str, Callable[[list[str]], str]] = {
            "protocol_version": lambda args: PROTOCOL_VERSION,
            "name": lambda args: self.name,
            "version": self._version,
            "known_command": self._known_command,
            "list_commands": lambda args: "\n".join(self._commands),
            "quit": self._quit,
            "boardsize": self._boardsize,
            "clear_board": self._clear_board,
            "komi": self._komi,
            "fixed_handicap": self._fixed_handicap,
            "place_free_handicap": self._place_free_handicap,
            "set_free_handicap": self._set_free_handicap,
            "play": self._play,
            "genmove": self._genmove,
            "kgs-genmove_cleanup": self._genmove_cleanup,
            "undo": self._undo,
            "is_legal": self._is_legal,
            "showboard": self._showboard,
            "final_score": self._final_score,
            "final_status_list": self._final_status_list,
            "time_settings": lambda args: "",
            "time_left": lambda args: "",
            "loadsgf": self._loadsgf,
            "printsgf": self._printsgf,
        }

    # -- state --------------------------------------------------------------------------------
    def _clear(self, start: Any = None) -> None:
        self.states = [self.game.initial_state() if start is None else start]
        self.moves: list[tuple[int, int]] = []
        self.handicap: list[int] = []
        self.player.new_game()

    @property
    def state(self) -> Any:
        return self.states[-1]

    @property
    def actions(self) -> list[int]:
        """The actions of the moves played, in order."""
        return [action for _, action in self.moves]

    def _ready(self, color: int, state: Any = None, game: Any = None) -> Any:
        """The current position (or ``state`` of ``game``) with ``color`` to move.

        Raises:
            GtpError: the engine's game has reached its maximum length.
        """
        game = self.game if game is None else game
        state = self.state if state is None else state
        if state.moves >= game.max_game_length:
            raise GtpError(
                f"illegal move (the game has reached the engine's limit of "
                f"{game.max_game_length} moves)"
            )
        if game.current_player(state) != color:  # out of turn, or after two passes
            state = game.resume(state, color)
        return state

    def _push(self, color: int, state: Any, action: int) -> None:
        self.states.append(self.game.apply(state, action))
        self.moves.append((color, action))

    def _vertex(self, text: str) -> int:
        try:
            return int(self.game.vertex_to_action(text))
        except (ValueError, IndexError, KeyError):
            raise GtpError(f"invalid vertex {text!r}") from None

    # -- protocol -----------------------------------------------------------------------------
    def handle(self, line: str) -> str:
        """The full answer to one command line (``""`` for an empty or comment line).

        The answer is ``=[id] result\\n\\n`` or ``?[id] message\\n\\n``.
        """
        cleaned = "".join(c for c in line if c >= " " or c in "\t\n").replace("\t", " ")
        words = cleaned.split("#", 1)[0].split()
        if not words:
            return ""
        ident = ""
        if _ID.fullmatch(words[0]):  # ASCII digits only: str.isdigit() accepts others
            ident, words = words[0], words[1:]
        if not words:
            return f"?{ident} missing command after the id\n\n"
        command, args = words[0], words[1:]
        handler = self._commands.get(command)
        try:
            if handler is None:
                raise GtpError("unknown command")
            result = handler(args)
        except GtpError as exc:
            return f"?{ident} {exc}\n\n"
        except Exception as exc:  # an agent's failure must not end the session
            return f"?{ident} {type(exc).__name__}: {exc}".replace("\n\n", "\n") + "\n\n"
        first, *rest = result.split("\n")
        lines = [first] + [line for line in rest if line.strip()]  # an empty line ends answers
        return f"={ident} " + "\n".join(lines) + "\n\n"

    def run(self, stdin: IO[str], stdout: IO[str]) -> int:
        """Answer commands from ``stdin`` until ``quit`` or the end of input; returns 0.

        A controller that closes its end of ``stdout`` ends the session quietly (status 0).
        """
        for line in stdin:
            answer = self.handle(line)
            try:
                if answer:
                    stdout.write(answer)
                    stdout.flush()
            except BrokenPipeError:
                return 0
            if self.quit_requested:
                break
        return 0

    # -- commands -----------------------------------------------------------------------------
    @staticmethod
    def _arity(args: list[str], count: int, usage: str) -> None:
        if len(args) < count:
            raise GtpError(f"syntax error (usage: {usage})")

    def _version(self, args: list[str]) -> str:
        from rlkit import __version__

        return __version__

    def _known_command(self, args: list[str]) -> str:
        self._arity(args, 1, "known_command COMMAND")
        return "true" if args[0] in self._commands else "false"

    def _quit(self, args: list[str]) -> str:
        self.quit_requested = True
        return ""

    def _make(self, size: int, komi: float) -> tuple[Any, Any]:
        """A new game and a player for it (nothing of the engine changes)."""
        game = self.game_factory(size, komi)
        return game, self.player_factory(game)

    def _boardsize(self, args: list[str]) -> str:
        self._arity(args, 1, "boardsize SIZE")
        try:
            size = int(args[0])
        except ValueError:
            raise GtpError(f"syntax error (boardsize {args[0]!r} is not an integer)") from None
        low, high = board_limits()
        if not low <= size <= high:
            raise GtpError("unacceptable size")
        if size != self.game.size:
            try:
                self.game, self.player = self._make(size, self.game.komi)
            except (ValueError, RlkitError):
                raise GtpError("unacceptable size") from None
        self._clear()
        return ""

    def _clear_board(self, args: list[str]) -> str:
        self._clear()
        return ""

    def _komi(self, args: list[str]) -> str:
        self._arity(args, 1, "komi FLOAT")
        try:
            komi = float(args[0])
        except ValueError:
            raise GtpError(f"syntax error (komi {args[0]!r} is not a number)") from None
        if not math.isfinite(komi):
            raise GtpError(f"syntax error (komi {args[0]!r} is not a finite number)")
        if komi != self.game.komi:
            game, player = self._make(self.game.size, komi)
            states, moves = self._replayed(game, self.handicap, self.moves)
            self._adopt(game, player, self.handicap, states, moves)
        return ""

    def _adopt(
        self,
        game: Any,
        player: Any,
        handicap: Sequence[int],
        states: list[Any],
        moves: list[tuple[int, int]],
    ) -> None:
        """Make ``game``, its ``player`` and a history from :meth:`_replayed` the engine's
        (after ``komi`` or ``loadsgf``); the player starts a new game."""
        self.game, self.player, self.states, self.moves = game, player, states, moves
        self.handicap = list(handicap)
        self.player.new_game()

    def _replayed(
        self, game: Any, handicap: Sequence[int], moves: Sequence[tuple[int, int]]
    ) -> tuple[list[Any], list[tuple[int, int]]]:
        """The states and moves of ``moves`` played in ``game`` from ``handicap``; the engine
        is not touched.

        Raises:
            GtpError: a move is illegal (the message numbers it from 1).
        """
        states = [game.handicap_state(handicap) if handicap else game.initial_state()]
        for number, (color, action) in enumerate(moves, start=1):
            state = self._ready(color, states[-1], game)
            if action != game.pass_action and not game.legal_mask(state)[action]:
                raise GtpError(f"move {number} is illegal")
            states.append(game.apply(state, action))
        return states, list(moves)

    # handicap
    def _board_is_empty(self) -> bool:
        """No stones on the board (as GNU Go checks; passes played are forgotten)."""
        return not self.game.board_array(self.state).any()

    def _set_handicap(self, points: list[int]) -> str:
        self._clear(self.game.handicap_state(points))
        self.handicap = points
        return " ".join(self.game.action_to_vertex(p) for p in points)

    def _handicap_count(self, args: list[str], command: str) -> int:
        self._arity(args, 1, f"{command} NUMBER_OF_STONES")
        try:
            return int(args[0])
        except ValueError:
            raise GtpError(f"syntax error (number of stones {args[0]!r})") from None

    def _fixed_handicap(self, args: list[str]) -> str:
        count = self._handicap_count(args, "fixed_handicap")
        top = max_fixed_handicap(self.game.size)
        if not 2 <= count <= top:
            size = self.game.size
            limit = f"2 to {top}" if top else "none"
            raise GtpError(f"invalid number of stones ({limit} on {size}x{size})")
        if not self._board_is_empty():
            raise GtpError("board not empty")
        return self._set_handicap(fixed_handicap_points(self.game.size, count))

    def _place_free_handicap(self, args: list[str]) -> str:
        count = self._handicap_count(args, "place_free_handicap")
        points = self.game.size * self.game.size
        if not 2 <= count < points:
            raise GtpError(f"invalid number of stones (2 to {points - 1})")
        if not self._board_is_empty():
            raise GtpError("board not empty")
        return self._set_handicap(free_handicap_points(self.game.size, count))

    def _set_free_handicap(self, args: list[str]) -> str:
        points = self.game.size * self.game.size
        actions = [self._vertex(vertex) for vertex in args]
        if not self._board_is_empty():
            raise GtpError("board not empty")
        if (
            not 2 <= len(actions) < points
            or self.game.pass_action in actions
            or len(set(actions)) != len(actions)
        ):
            raise GtpError(f"bad vertex list (2 to {points - 1} distinct vertices, no pass)")
        self._set_handicap(actions)
        return ""

    # moves
    def _play(self, args: list[str]) -> str:
        self._arity(args, 2, "play COLOR VERTEX")
        color, action = parse_color(args[0]), self._vertex(args[1])
        state = self._ready(color)
        if action != self.game.pass_action and not self.game.legal_mask(state)[action]:
            raise GtpError("illegal move")
        self._push(color, state, action)
        return ""

    def _agent_move(self, state: Any) -> int:
        """The player's move in ``state``, checked to be legal."""
        agent_game = getattr(getattr(self.player, "agent", None), "game", None)
        # A player built for other rules (a checkpoint's own game, with rlkit's default
        # maximum length) may see a long game as over; the engine goes on regardless.
        if (
            agent_game is not None
            and agent_game is not self.game
            and agent_game.current_player(state) == TERMINAL
        ):
            move = cleanup_move(self.game, state)
            return self.game.pass_action if move is None else move
        action = int(self.player.act(self.game, state))
        if action != self.game.pass_action and not (
            0 <= action < self.game.pass_action and self.game.legal_mask(state)[action]
        ):
            raise GtpError(f"the agent chose the illegal move {action}")
        return action

    def _genmove(self, args: list[str], cleanup: bool = False) -> str:
        self._arity(args, 1, "genmove COLOR")
        color = parse_color(args[0])
        state = self._ready(color)
        action = self._agent_move(state)
        if cleanup and action == self.game.pass_action:
            capture = cleanup_move(self.game, state)
            if capture is not None:
                action = capture
        self._push(color, state, action)
        return self.game.action_to_vertex(action)

    def _genmove_cleanup(self, args: list[str]) -> str:
        return self._genmove(args, cleanup=True)

    def _undo(self, args: list[str]) -> str:
        if not self.moves:
            raise GtpError("cannot undo")
        self.moves.pop()
        self.states.pop()
        return ""

    def _is_legal(self, args: list[str]) -> str:
        self._arity(args, 2, "is_legal COLOR VERTEX")
        color, action = parse_color(args[0]), self._vertex(args[1])
        try:
            state = self._ready(color)
        except GtpError:
            return "0"
        return "1" if self.game.legal_mask(state)[action] else "0"

    # scoring and records
    def _showboard(self, args: list[str]) -> str:
        return "\n" + self.game.render(self.state)

    def _final_score(self, args: list[str]) -> str:
        from rlkit.sgf import format_result

        return format_result(float(self.game.score(self.state)))

    def _final_status_list(self, args: list[str]) -> str:
        self._arity(args, 1, "final_status_list alive|dead|seki")
        status = args[0].lower()
        if status not in ("alive", "dead", "seki"):
            raise GtpError(f"syntax error (status {args[0]!r}: expected alive, dead or seki)")
        if status != "alive":
            return ""  # Tromp-Taylor: every stone on the board is alive
        board = self.game.board_array(self.state)
        size = self.game.size
        stones = [
            self.game.action_to_vertex(r * size + c)
            for r in range(size)
            for c in range(size)
            if board[r, c]
        ]
        return " ".join(stones)

    def _loadsgf(self, args: list[str]) -> str:
        """Replay a file's main line (up to, not including, MOVE_NUMBER) into a new game and
        only then make it the engine's; a file without ``KM`` keeps the current komi."""
        from rlkit.sgf import SgfError, read_sgf

        self._arity(args, 1, "loadsgf FILE [MOVE_NUMBER]")
        try:
            with open(args[0], encoding="utf-8", errors="replace") as file:
                record = read_sgf(file.read(), default_komi=self.game.komi, alternate=False)
        except OSError as exc:
            raise GtpError(f"cannot load file ({exc.strerror})") from None
        except SgfError as exc:
            raise GtpError(f"cannot load file ({exc})") from None
        moves = list(record.moves)
        if len(args) > 1:
            try:
                moves = moves[: max(int(args[1]) - 1, 0)]
            except ValueError:
                raise GtpError(f"syntax error (move number {args[1]!r})") from None
        low, high = board_limits()
        if not low <= record.size <= high:
            raise GtpError(
                f"cannot load file (a {record.size}x{record.size} board: unacceptable size)"
            )
        try:
            game, player = self.game, self.player
            if (record.size, record.komi) != (game.size, game.komi):
                game, player = self._make(record.size, record.komi)
            states, moves = self._replayed(game, record.handicap, moves)
        except GtpError as exc:
            raise GtpError(f"cannot load file ({exc})") from None
        except (ValueError, RlkitError) as exc:  # no player for that board or komi
            raise GtpError(f"cannot load file ({exc})") from None
        self._adopt(game, player, record.handicap, states, moves)
        last = moves[-1][0] if moves else (0 if record.handicap else 1)
        return "black" if last == 1 else "white"

    def _printsgf(self, args: list[str]) -> str:
        from rlkit.sgf import format_result, write_sgf

        result = None
        if self.game.current_player(self.state) == TERMINAL:
            result = format_result(float(self.game.score(self.state)))
        text = write_sgf(
            self.game.size,
            self.game.komi,
            self.moves,
            result,
            (None, None),
            handicap=self.handicap,
        )
        if args:
            try:
                with open(args[0], "w", encoding="utf-8") as file:
                    file.write(text)
            except OSError as exc:
                raise GtpError(f"cannot write file ({exc.strerror})") from None
            return ""
        return text


def serve(
    agent_spec: str,
    size: int = 9,
    komi: float = 7.5,
    seed: int = 0,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
    *,
    player_factory: Callable[[Any], Any] | None = None,
) -> int:
    """Run ``agent_spec`` as a GTP engine (``rlkit gtp``); returns the exit status.

    The arguments are checked and the player is built once before the first command, so a
    bad size, komi, seed or spec fails at start-up with one line rather than inside the
    protocol. A controller that closes the engine's output ends the session quietly (0).

    Args:
        agent_spec: agent spec or checkpoint, as for ``rlkit play``.
        size: board size, 5 to 19.
        komi: a finite number.
        seed: a non-negative seed of the agent's randomness.
        stdin, stdout: the protocol's streams (the process's own by default).
        player_factory: ``game -> Player``, instead of building ``agent_spec`` with
            :func:`rlkit.match.make_player` (for callers with their own agent builder).

    Raises:
        SpecError: a size, komi or seed out of range.
        UnknownNameError, SpecError, CheckpointError: a bad agent spec (as for ``rlkit play``).
    """
    low, high = board_limits()
    if isinstance(size, bool) or not isinstance(size, int) or not low <= size <= high:
        raise SpecError(f"board size {size!r} is not supported: rlkit's Go plays {low} to {high}")
    try:
        komi = float(komi)
    except (TypeError, ValueError):
        raise SpecError(f"komi {komi!r} is not a number") from None
    if not math.isfinite(komi):
        raise SpecError(f"komi must be a finite number, got {komi!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise SpecError(f"seed must be a non-negative integer, got {seed!r}")
    if player_factory is None:
        from rlkit.match import make_player

        def player_factory(game: Any) -> Any:
            return make_player(agent_spec, game, seed=seed)

    engine = GtpEngine(player_factory, size, komi)
    out = stdout or sys.stdout
    status = engine.run(stdin or sys.stdin, out)
    if out is sys.stdout:
        _silence_closed_stdout()
    return status


def _silence_closed_stdout() -> None:
    """After the controller closed our stdout, Python's final flush at exit would report a
    BrokenPipeError; point the descriptor at /dev/null so nothing is left to fail (the
    recipe of the Python docs, "Note on SIGPIPE")."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
