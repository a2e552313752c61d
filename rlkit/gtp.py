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
gets no answer at all. Colours are ``black``/``b``/``white``/``w``, vertices like ``D4`` or
``pass`` (case-insensitive; the letter I is skipped).

Engine behaviour where GTP leaves room:

- The rules are rlkit's Go: Tromp-Taylor area scoring (``final_score``), positional superko,
  no suicide; ``final_status_list dead`` is always empty, since every stone on the board counts.
- ``play`` and ``genmove`` for the colour not to move (handicap stones sent as consecutive black
  moves) insert a pass for the other colour first, unless that pass would end the game;
  ``undo`` takes the inserted pass back too.
- ``komi`` keeps the position; ``boardsize`` and ``komi`` build a new game and a new player
  (the player is made for one game's rules), and ``clear_board`` starts a new game with the same
  player.
- After both players have passed the game is over: ``play`` answers ``illegal move`` and
  ``genmove`` answers ``pass`` without playing it.
- Errors in the agent are answered ``? ...``; the engine itself never stops on bad input.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import IO, Any

from rlkit.errors import RlkitError
from rlkit.game import TERMINAL

PROTOCOL_VERSION = "2"
MIN_SIZE, MAX_SIZE = 2, 25


class GtpError(Exception):
    """A failed command; its message is the text after ``?``."""


def _default_game(size: int, komi: float) -> Any:
    from rlkit.envs.go import GoGame

    return GoGame(size=size, komi=komi)


def parse_color(text: str) -> int:
    """0 for black, 1 for white (``b``, ``black``, ``w``, ``white``, any case)."""
    lowered = text.lower()
    if lowered in ("b", "black"):
        return 0
    if lowered in ("w", "white"):
        return 1
    raise GtpError(f"invalid color {text!r} (expected black, b, white or w)")


class GtpEngine:
    """Answers GTP commands for a Go player (see the module docstring).

    Args:
        player_factory: builds the :class:`~rlkit.match.Player` for a game; called again
            whenever ``boardsize`` or ``komi`` make a new game.
        size, komi: the game before any ``boardsize`` or ``komi`` command.
        name: the answer to ``name``.
        game_factory: ``(size, komi) -> game``; rlkit's ``GoGame`` by default.
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
            "play": self._play,
            "genmove": self._genmove,
            "kgs-genmove_cleanup": self._genmove,
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
    def _clear(self) -> None:
        self.states = [self.game.initial_state()]
        self.actions: list[int] = []
        self._marks: list[int] = []  # len(actions) before each GTP move, for undo
        self.player.new_game()

    @property
    def state(self) -> Any:
        return self.states[-1]

    def _push(self, action: int) -> None:
        self.states.append(self.game.apply(self.state, action))
        self.actions.append(action)

    def _to_move(self, color: int) -> None:
        """Insert a pass when ``color`` is not to move (see the module docstring)."""
        to_move = self.game.current_player(self.state)
        if to_move == TERMINAL:
            raise GtpError("illegal move (the game is over: both players passed)")
        if to_move != color:
            after = self.game.apply(self.state, self.game.pass_action)
            if self.game.current_player(after) == TERMINAL:
                raise GtpError("illegal move (a pass for the other colour would end the game)")
            self.states.append(after)
            self.actions.append(self.game.pass_action)

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
        if words[0].isdigit():
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
        """Answer commands from ``stdin`` until ``quit`` or the end of input; returns 0."""
        for line in stdin:
            answer = self.handle(line)
            if answer:
                stdout.write(answer)
                stdout.flush()
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

    def _new_game(self, size: int, komi: float) -> None:
        self.game = self.game_factory(size, komi)
        self.player = self.player_factory(self.game)

    def _boardsize(self, args: list[str]) -> str:
        self._arity(args, 1, "boardsize SIZE")
        try:
            size = int(args[0])
        except ValueError:
            raise GtpError(f"syntax error (boardsize {args[0]!r} is not an integer)") from None
        if not MIN_SIZE <= size <= MAX_SIZE:
            raise GtpError("unacceptable size")
        if size != self.game.size:
            try:
                self._new_game(size, self.game.komi)
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
        if komi != komi or abs(komi) == float("inf"):
            raise GtpError(f"syntax error (komi {args[0]!r} is not a finite number)")
        if komi != self.game.komi:
            actions, marks = self.actions, self._marks
            self._new_game(self.game.size, komi)
            self._clear()
            for action in actions:
                self._push(action)
            self._marks = marks
        return ""

    def _play(self, args: list[str]) -> str:
        self._arity(args, 2, "play COLOR VERTEX")
        color, action = parse_color(args[0]), self._vertex(args[1])
        mark = len(self.actions)
        try:
            self._to_move(color)
            if action not in self.game.legal_actions(self.state):
                raise GtpError("illegal move")
            self._push(action)
        except GtpError:
            del self.states[mark + 1 :], self.actions[mark:]
            raise
        self._marks.append(mark)
        return ""

    def _genmove(self, args: list[str]) -> str:
        self._arity(args, 1, "genmove COLOR")
        color = parse_color(args[0])
        if self.game.current_player(self.state) == TERMINAL:
            return "pass"
        mark = len(self.actions)
        try:
            self._to_move(color)
        except GtpError:
            return "pass"  # genmove must answer a move; the game is over
        try:
            action = int(self.player.act(self.game, self.state))
            if action not in self.game.legal_actions(self.state):
                raise GtpError(
                    f"the agent chose the illegal move {self.game.action_to_vertex(action)}"
                )
            self._push(action)
        except BaseException:
            del self.states[mark + 1 :], self.actions[mark:]
            raise
        self._marks.append(mark)
        return self.game.action_to_vertex(action)

    def _undo(self, args: list[str]) -> str:
        if not self._marks:
            raise GtpError("cannot undo")
        mark = self._marks.pop()
        del self.states[mark + 1 :], self.actions[mark:]
        return ""

    def _is_legal(self, args: list[str]) -> str:
        self._arity(args, 2, "is_legal COLOR VERTEX")
        color, action = parse_color(args[0]), self._vertex(args[1])
        state = self.state
        if self.game.current_player(state) == TERMINAL:
            return "0"
        if self.game.current_player(state) != color:
            state = self.game.apply(state, self.game.pass_action)
            if self.game.current_player(state) == TERMINAL:
                return "0"
        return "1" if action in self.game.legal_actions(state) else "0"

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
        from rlkit.sgf import SgfError, read_sgf

        self._arity(args, 1, "loadsgf FILE [MOVE_NUMBER]")
        try:
            with open(args[0], encoding="utf-8", errors="replace") as file:
                record = read_sgf(file.read())
        except OSError as exc:
            raise GtpError(f"cannot load file ({exc.strerror})") from None
        except SgfError as exc:
            raise GtpError(f"cannot load file ({exc})") from None
        moves = record.moves
        if len(args) > 1:
            try:
                moves = moves[: max(int(args[1]) - 1, 0)]  # up to, not including, that move
            except ValueError:
                raise GtpError(f"syntax error (move number {args[1]!r})") from None
        if (record.size, record.komi) != (self.game.size, self.game.komi):
            try:
                self._new_game(record.size, record.komi)
            except (ValueError, RlkitError):
                raise GtpError("unacceptable size") from None
        self._clear()
        for number, (_, action) in enumerate(moves, start=1):
            if action not in self.game.legal_actions(self.state):
                self._clear()
                raise GtpError(f"cannot load file (move {number} is illegal)")
            self._marks.append(len(self.actions))
            self._push(action)
        return "white" if len(moves) % 2 else "black"

    def _printsgf(self, args: list[str]) -> str:
        from rlkit.sgf import format_result, write_sgf

        result = None
        if self.game.current_player(self.state) == TERMINAL:
            result = format_result(float(self.game.score(self.state)))
        moves = [(i % 2, a) for i, a in enumerate(self.actions)]
        text = write_sgf(self.game.size, self.game.komi, moves, result, (None, None))
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
) -> int:
    """Run ``agent_spec`` as a GTP engine (``rlkit gtp``); returns the exit status.

    The player is built once before the first command, so a bad spec fails at start-up with
    its usual error rather than inside the protocol.

    Raises:
        UnknownNameError, SpecError, CheckpointError: a bad agent spec (as for ``rlkit play``).
    """
    from rlkit.match import make_player

    engine = GtpEngine(
        lambda game: make_player(agent_spec, game, seed=seed),
        size,
        komi,
        name=f"rlkit {agent_spec}",
    )
    return engine.run(stdin or sys.stdin, stdout or sys.stdout)
