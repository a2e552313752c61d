"""Any GTP Go engine (GNU Go, KataGo, Leela Zero, Pachi, ...) as an rlkit agent.

The agent ``gtp:gnugo --mode gtp --level 1`` runs the command line after ``gtp:`` as a
subprocess and talks GTP (the Go Text Protocol, see :mod:`rlkit.gtp`) to it on its stdin and
stdout:

- the engine starts at the agent's first move, not before (a missing executable is reported
  when the agent is built);
- at the first move of each game the agent sends ``boardsize``, ``komi`` and ``clear_board``;
- at each move it tells the engine the opponent's moves since its own last one (``play``), then
  asks ``genmove`` and returns the engine's answer as an action; when the engine passes, the
  agent takes the pass back and asks ``kgs-genmove_cleanup`` instead (where the engine knows
  it), so that dead stones are captured before the engine passes: rlkit scores Go by
  Tromp-Taylor rules, which count every stone left on the board;
- the engine is sent ``quit`` by :meth:`GtpAgent.close`, on leaving a ``with`` block, when the
  agent is garbage-collected, or when Python exits.

How the agent learns the opponent's move: rlkit's Go states do not carry the game's move list,
and an agent only sees states. The agent keeps the state after its own last move; the next
state it is shown differs from it by one opponent move, which is the one new stone of the
opponent's colour on :meth:`GoGame.board_array` (captures only remove stones), or a pass when
no stone was added. The candidate move is checked by replaying it (the state reached must
equal the one shown), so a position that is not one move on from the last is noticed: the
agent then tries the same from the empty board (a new game started without
:meth:`new_game`), and otherwise raises :class:`~rlkit.errors.RlkitError`. So the agent
follows games move by move, as :func:`rlkit.match.play_game` plays them, but cannot join a
game in the middle.

Where the engine and rlkit's rules disagree:

- an engine that resigns is answered as if it had passed (the Game contract has no resignation;
  the game then goes on to its scored end), and :attr:`GtpAgent.resigned` is set for the game;
- a move that rlkit's rules forbid (GNU Go plays simple ko unless given
  ``--positional-superko``) is taken back in the engine and replaced by a pass, with a warning.

Any ``? ...`` answer other than these raises :class:`~rlkit.errors.RlkitError` with the
engine's text (one line); so does an engine that exits, one that answers with a line that
is not GTP (neither ``=`` nor ``?`` first: ``gtp:cat`` echoes its input, GNU Go without
``--mode gtp`` draws boards), and one that has not finished an answer ``timeout`` seconds
after the command (its start-up included in the first); those last two are killed at once.
The engine's own randomness is its business: give it a seed on its command line
(``gnugo ... --seed 7``) for repeatable games.
"""

from __future__ import annotations

import math
import os
import selectors
import shlex
import shutil
import subprocess
import tempfile
import time
import warnings
import weakref
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from rlkit.errors import IncompatibleEnvError, RlkitError
from rlkit.game import TERMINAL, GameAgent

GAME_DIRECTORIES = ("/usr/games", "/usr/local/games")
"""Searched after ``PATH`` for a bare command name: Debian installs GNU Go in ``/usr/games``,
which non-login shells often leave off ``PATH``."""


@dataclass(frozen=True)
class GtpAgentConfig:
    """How to run the engine."""

    command: str = ""
    """The engine's command line, split as a POSIX shell would (``gnugo --mode gtp --level 1``)."""
    timeout: float = 120.0
    """Seconds to wait for any one answer of the engine (the first included, which covers
    its start-up) before giving up; the engine is then killed."""
    cleanup: bool = True
    """When the engine passes, ask again with ``kgs-genmove_cleanup`` (if it knows that
    command), so that it captures dead stones before it passes: Tromp-Taylor scoring counts
    every stone left on the board as alive."""

    def __post_init__(self) -> None:
        try:
            words = shlex.split(self.command)
        except ValueError as exc:
            raise ValueError(f"command {self.command!r} cannot be split: {exc}") from None
        if not words:
            raise ValueError(
                "command is empty; name the engine to run, e.g. 'gtp:gnugo --mode gtp --level 1'"
            )
        if not (self.timeout > 0 and math.isfinite(self.timeout)):
            raise ValueError(f"timeout must be a positive number of seconds, got {self.timeout}")


def find_executable(name: str) -> str | None:
    """The path of ``name``: as given when it has a directory, else on PATH, then in
    :data:`GAME_DIRECTORIES`."""
    if os.sep in name:
        return name if os.access(name, os.X_OK) and os.path.isfile(name) else None
    return shutil.which(name) or shutil.which(name, path=os.pathsep.join(GAME_DIRECTORIES))


class GtpProcess:
    """A GTP engine subprocess: send a command, get the answer's text.

    Args:
        argv: the command line, ``argv[0]`` already resolved to an executable.
        timeout: seconds to wait for each answer.
    """

    def __init__(self, argv: list[str], timeout: float) -> None:
        self.argv = argv
        self.timeout = timeout
        # Kept open for the life of the engine (closed by _shutdown), so no `with`.
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            self.process = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr
            )
        except OSError as exc:
            self._stderr.close()
            raise RlkitError(f"cannot start the GTP engine {shlex.join(argv)!r}: {exc}") from None
        self._buffer = b""
        self._finalizer = weakref.finalize(self, _shutdown, self.process, self._stderr)

    def send(self, command: str) -> str:
        """Send one command and return the text of a ``=`` answer.

        Raises:
            GtpEngineError: a ``?`` answer (its text is the engine's message).
            RlkitError: the engine exited, answered with something that is not GTP, or did not
                answer within ``timeout`` seconds; in the last two cases it is killed.
        """
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(command.encode() + b"\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):  # ValueError: stdin already closed
            raise self._died(command) from None
        answer = self._read_answer(command)
        status, text = answer[0], answer[1:]
        text = text.lstrip("0123456789")  # we send no ids, but some engines echo one anyway
        if status == "?":
            raise GtpEngineError(
                f"the GTP engine {shlex.join(self.argv)!r} answered {command!r} with: "
                f"{text.strip()}",
                text.strip(),
            )
        return text.strip()

    def _read_answer(self, command: str) -> str:
        """The next answer, read within ``timeout`` seconds of the command in all.

        The deadline covers the whole answer, so an engine that trickles bytes cannot hold
        the caller past it. Empty lines before the answer are skipped; any other line that
        starts with neither ``=`` nor ``?`` is not GTP (an engine that echoes its input, say,
        which would otherwise be waited on forever) and fails at once.
        """
        deadline = time.monotonic() + self.timeout
        with selectors.DefaultSelector() as selector:
            assert self.process.stdout is not None
            fd = self.process.stdout.fileno()
            selector.register(fd, selectors.EVENT_READ)
            while True:
                self._buffer = self._buffer.replace(b"\r", b"")
                self._buffer = self._buffer.lstrip()  # blank lines before an answer
                if self._buffer and self._buffer[:1] not in b"=?":
                    line = self._buffer.split(b"\n", 1)[0][:80].decode(errors="replace")
                    self.kill()
                    raise RlkitError(
                        f"the GTP engine {shlex.join(self.argv)!r} answered {command!r} with "
                        f"{line!r}, which is not a GTP answer ('=' or '?' first); is it a GTP "
                        "engine (GNU Go needs --mode gtp)?"
                    )
                end = self._buffer.find(b"\n\n")
                if end >= 0:
                    answer, self._buffer = self._buffer[:end], self._buffer[end + 2 :]
                    return answer.decode(errors="replace")
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    self.kill()
                    raise RlkitError(
                        f"the GTP engine {shlex.join(self.argv)!r} did not answer {command!r} "
                        f"within {self.timeout:g} s (it was stopped; raise the agent's timeout "
                        "if it needs longer)"
                    )
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise self._died(command)
                self._buffer += chunk

    def kill(self) -> None:
        """Stop the engine at once (after a timeout or a broken protocol)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def _died(self, command: str) -> RlkitError:
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        self._stderr.seek(0)
        lines = self._stderr.read()[-2000:].decode(errors="replace").splitlines()
        tail = " / ".join(line.strip() for line in lines if line.strip())[-300:]
        how = f"exited with status {code}" if code is not None else "closed its output"
        return RlkitError(  # one line: its last lines of stderr joined with " / "
            f"the GTP engine {shlex.join(self.argv)!r} {how} when sent {command!r}"
            + (f"; it wrote: {tail}" if tail else "")
        )

    def close(self) -> None:
        """Send ``quit`` and wait for the engine to exit (killing it after 5 seconds)."""
        self._finalizer()


class GtpEngineError(RlkitError):
    """A ``? ...`` answer from an engine; ``reason`` is the engine's text."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def _shutdown(process: subprocess.Popen, stderr: IO[bytes]) -> None:
    try:
        if process.poll() is None:
            try:
                assert process.stdin is not None
                process.stdin.write(b"quit\n")
                process.stdin.close()
            except (BrokenPipeError, OSError):
                pass
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()
    finally:
        stderr.close()


class GtpAgent(GameAgent):
    """Plays Go by asking a GTP engine for each move (see the module docstring).

    Attributes:
        resigned: whether the engine resigned in the current game (its move became a pass).
    """

    Config = GtpAgentConfig

    def __init__(self, config: GtpAgentConfig, game: Any, *, seed: int | None = None) -> None:
        super().__init__(config, game, seed=seed)
        needed = (
            "size",
            "komi",
            "pass_action",
            "vertex_to_action",
            "action_to_vertex",
            "board_array",
        )
        if not all(hasattr(game, name) for name in needed):
            raise IncompatibleEnvError(
                f"gtp agents play Go; {game.info.name} is not a Go game (try --env go)"
            )
        words = shlex.split(config.command)
        executable = find_executable(words[0])
        if executable is None:
            raise RlkitError(
                f"the GTP engine {words[0]!r} was not found on PATH or in "
                f"{', '.join(GAME_DIRECTORIES)} (command {config.command!r}); install it "
                "(e.g. apt-get install gnugo) or give its full path"
            )
        self._argv = [executable, *words[1:]]
        self._engine: GtpProcess | None = None
        self._cleanup: bool | None = None  # whether the engine knows kgs-genmove_cleanup
        self._known: Any = None  # the last state the engine has, or None before a game
        self.resigned = False

    # -- lifecycle ----------------------------------------------------------------------------
    @property
    def engine(self) -> GtpProcess:
        """The engine process, started on first use."""
        if self._engine is None:
            self._engine = GtpProcess(self._argv, self.config.timeout)
            self._cleanup = None
        return self._engine

    def close(self) -> None:
        """Quit the engine; a later move starts it again."""
        if self._engine is not None:
            self._engine.close()
            self._engine = None
        self._known = None

    def __enter__(self) -> GtpAgent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def new_game(self) -> None:
        self._known = None
        self.resigned = False

    # -- playing ------------------------------------------------------------------------------
    def _knows_cleanup(self) -> bool:
        if not self.config.cleanup:
            return False
        if self._cleanup is None:
            self._cleanup = self.engine.send("known_command kgs-genmove_cleanup") == "true"
        return self._cleanup

    def _color(self, state: Any) -> str:
        return "b" if self.game.current_player(state) == 0 else "w"

    def _start_game(self) -> None:
        game = self.game
        self.engine.send(f"boardsize {game.size}")
        self.engine.send(f"komi {game.komi!r}")
        self.engine.send("clear_board")
        self._known = game.initial_state()

    def _one_move(self, before: Any, after: Any) -> int | None:
        """The move that leads from ``before`` to ``after``, or None if no one move does."""
        game = self.game
        mover = game.current_player(before)
        if mover == TERMINAL:
            return None
        old, new = game.board_array(before), game.board_array(after)
        added = np.argwhere((new == mover + 1) & (old == 0))
        if len(added) > 1:
            return None
        action = game.pass_action
        if len(added) == 1:
            action = int(added[0][0]) * game.size + int(added[0][1])
        if action not in game.legal_actions(before):
            return None
        return action if game.apply(before, action) == after else None

    @staticmethod
    def _same(a: Any, b: Any) -> bool:
        return bool(a == b)

    def _catch_up(self, state: Any) -> None:
        """Tell the engine the moves that lead from the last known state to ``state``."""
        if self._known is None:
            self._start_game()
        if self._same(self._known, state):
            return
        move = self._one_move(self._known, state)
        if move is None:  # perhaps a new game began without new_game()
            initial = self.game.initial_state()
            move = None if self._same(initial, state) else self._one_move(initial, state)
            if move is None and not self._same(initial, state):
                raise RlkitError(
                    "the gtp agent lost track of the game: the position it was shown is not one "
                    "move on from the last it saw (it follows games move by move; call "
                    f"new_game() between games):\n{self.game.render(state)}"
                )
            self._start_game()
            if move is None:
                return
        color = "w" if self._color(state) == "b" else "b"
        self.engine.send(f"play {color} {self.game.action_to_vertex(move)}")
        self._known = self.game.apply(self._known, move)

    def act(self, state: Any) -> int:
        game = self.game
        self._catch_up(state)
        color = self._color(state)
        vertex = self.engine.send(f"genmove {color}")
        if vertex.lower() == "pass" and self._knows_cleanup():
            self.engine.send("undo")
            vertex = self.engine.send(f"kgs-genmove_cleanup {color}")
        lowered = vertex.lower()
        if lowered == "resign":
            self.resigned = True
            self.engine.send(f"play {color} pass")
            action = game.pass_action
        else:
            try:
                action = game.pass_action if lowered == "pass" else game.vertex_to_action(vertex)
            except (ValueError, RlkitError):
                raise RlkitError(
                    f"the GTP engine {shlex.join(self._argv)!r} answered genmove with "
                    f"{vertex!r}, which is not a vertex"
                ) from None
            if action not in game.legal_actions(state):
                warnings.warn(
                    f"the GTP engine played {vertex}, which rlkit's rules forbid here "
                    "(superko?); it passes instead",
                    stacklevel=2,
                )
                self.engine.send("undo")
                self.engine.send(f"play {color} pass")
                action = game.pass_action
        self._known = game.apply(state, action)
        return int(action)
