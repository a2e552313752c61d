"""Go game records in SGF (Smart Game Format, FF[4]): write the records rlkit plays, read others'.

SGF (https://www.red-bean.com/sgf/) is the format Sabaki, GoGui, KGS, OGS and GNU Go read. A
record is a tree of nodes; each node holds properties ``ID[value]``. rlkit writes one game with
no variations::

    (;GM[1]FF[4]CA[UTF-8]AP[rlkit:0.1.0]SZ[9]KM[7.5]RU[Chinese]PB[mcts]PW[random]RE[B+3.5]
    ;B[ee];W[cc];B[];W[])

Encoding:

- ``GM[1]`` is Go, ``SZ`` the board size (19 when absent, as the spec says), ``KM`` the komi
  (0 when absent, or the ``default_komi`` given to :func:`read_sgf`), ``RU`` the rules,
  ``PB``/``PW`` the players, ``RE`` the result (``B+3.5``, ``W+R`` for a win by resignation,
  ``0`` for a draw, ``Void`` for a game cut off unfinished), ``HA`` and ``AB`` Black's
  handicap stones (White moves first after them).
- A move is ``B[xy]`` or ``W[xy]``: ``x`` is the column and ``y`` the row, each a letter
  ``a``, ``b``, ... counted from the top-left corner. On 9x9, ``B[ee]`` is tengen (GTP ``E5``)
  and ``W[ai]`` the bottom-left corner (GTP ``A1``). A pass is ``[]``, and ``[tt]`` is read
  as a pass too on boards up to 19x19 (the FF[3] convention).
- Moves are numbered here as rlkit's Go actions: ``row * size + col`` with row 0 the top row,
  and ``size * size`` for a pass. Colours are player indices: 0 is Black, 1 is White.

Rules: rlkit scores Go by Tromp-Taylor area scoring (every stone on the board counts as alive,
plus each empty region that reaches only one colour). SGF has no standard value for that, so
records say ``RU[Chinese]``, the area-scoring rule set every SGF program knows; once dead
stones are captured (as ``kgs-genmove_cleanup`` does) the two counts agree. Pass
``rules="tromp-taylor"`` to say so exactly (KGS's spelling of the name).

Reading covers what rlkit can replay: the main line of the first game in the file. Variations
(alternative continuations) are skipped, keeping the first child at each branch, which is the
line SGF editors show as the game. Game trees may nest to any depth (they are read without
recursion). Black set-up stones in the root node (``AB``: handicap) are read into
:attr:`SgfGame.handicap`; other setup (``AW``, ``AE``, or ``AB`` in later nodes) is rejected
with :class:`SgfError`, since rlkit's Go starts from the empty board or handicap stones.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from rlkit.errors import RlkitError
from rlkit.game import TERMINAL

if TYPE_CHECKING:
    from rlkit.match import GameRecord

BLACK, WHITE = 0, 1
"""Colours, equal to the player indices of rlkit's Go (Black moves first)."""
COLOR_LETTERS = ("B", "W")
MAX_SIZE = 25
"""Largest board read or written (GTP's limit; SGF letters would allow 52)."""
_GTP_COLUMNS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"  # GTP skips I


class SgfError(RlkitError, ValueError):
    """An SGF text that is malformed or describes a game rlkit cannot replay."""


@dataclass(frozen=True)
class SgfGame:
    """The main line of an SGF game record.

    Attributes:
        size: board size (square boards only).
        komi: points given to White.
        moves: ``(color, action)`` pairs in order: color 0 Black, 1 White; action
            ``row * size + col`` (row 0 at the top) or ``size * size`` for a pass.
        result: the ``RE`` value (``"B+3.5"``, ``"W+R"``, ``"0"``, ...) or None.
        rules: the ``RU`` value or None.
        players: names of Black and White (``PB``, ``PW``), None where absent.
        handicap: points of Black's set-up stones (``AB`` in the root node), from which the
            game starts with White to move; empty for a game from the empty board.
    """

    size: int = 19
    komi: float = 0.0
    moves: tuple[tuple[int, int], ...] = ()
    result: str | None = None
    rules: str | None = None
    players: tuple[str | None, str | None] = (None, None)
    handicap: tuple[int, ...] = ()

    @property
    def pass_action(self) -> int:
        return self.size * self.size

    @property
    def actions(self) -> list[int]:
        """The actions alone, in order (colours alternate from Black in what rlkit reads)."""
        return [action for _, action in self.moves]

    @property
    def vertices(self) -> list[str]:
        """The moves as GTP vertices (``"E5"``, ``"pass"``)."""
        return [action_to_vertex(action, self.size) for _, action in self.moves]

    @property
    def winner(self) -> int | None:
        """0 (Black) or 1 (White) from ``RE``; None for a draw, no result, or an unknown one."""
        if self.result and self.result[:2].upper() in ("B+", "W+"):
            return BLACK if self.result[0].upper() == "B" else WHITE
        return None


# -- coordinates ----------------------------------------------------------------------------------
def action_to_vertex(action: int, size: int) -> str:
    """GTP vertex of an action: ``action_to_vertex(40, 9) == "E5"``; the pass is ``"pass"``."""
    if action == size * size:
        return "pass"
    if not 0 <= action < size * size:
        raise ValueError(f"action {action} is off a {size}x{size} board")
    row, col = divmod(action, size)
    return f"{_GTP_COLUMNS[col]}{size - row}"


def vertex_to_action(vertex: str, size: int) -> int:
    """Action of a GTP vertex (case-insensitive; ``"pass"`` gives ``size * size``).

    Raises:
        ValueError: not a vertex on a ``size`` x ``size`` board.
    """
    text = vertex.strip().upper()
    if text == "PASS":
        return size * size
    match = re.fullmatch(r"([A-HJ-Z])(\d{1,2})", text)
    if match is None:
        raise ValueError(f"{vertex!r} is not a vertex (expected a letter and a number, e.g. D4)")
    col = _GTP_COLUMNS.index(match.group(1))
    number = int(match.group(2))
    if col >= size or not 1 <= number <= size:
        raise ValueError(f"{vertex!r} is off the {size}x{size} board")
    return (size - number) * size + col


def _sgf_point(action: int, size: int) -> str:
    if action == size * size:
        return ""
    row, col = divmod(action, size)
    return _SGF_LETTERS[col] + _SGF_LETTERS[row]


_SGF_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


# -- writing --------------------------------------------------------------------------------------
_LINE_BREAK = re.compile(r"\r\n|\n\r|[\r\n\t\v\f]")


def _escape(text: str) -> str:
    """SimpleText value: backslash and ``]`` escaped, line breaks and tabs turned into spaces."""
    return _LINE_BREAK.sub(" ", text).replace("\\", "\\\\").replace("]", "\\]")


def _format_number(value: float) -> str:
    """An SGF Real: digits with an optional fraction, no exponent (``7.5``, ``6``, ``-0.25``)."""
    if not math.isfinite(value):
        raise SgfError(f"{value} is not a finite number")
    return np.format_float_positional(float(value), trim="-")


def format_result(score: float) -> str:
    """``RE`` value of a Black-minus-White score: ``B+3.5``, ``W+0.5`` or ``0`` (a draw)."""
    if score > 0:
        return f"B+{_format_number(score)}"
    if score < 0:
        return f"W+{_format_number(-score)}"
    return "0"


def write_sgf(
    size: int,
    komi: float,
    moves: Sequence[str | tuple[int, int]],
    result: str | None = None,
    players: tuple[str | None, str | None] = (None, None),
    rules: str = "Chinese",
    comment: str | None = None,
    handicap: Sequence[int] = (),
) -> str:
    """One game as FF[4] SGF text.

    Args:
        size: board size, 1 to 25.
        komi: komi (``KM``).
        moves: GTP vertices (``"E5"``, ``"pass"``), colours alternating from Black, or
            ``(color, action)`` pairs as in :attr:`SgfGame.moves`.
        result: the ``RE`` value, e.g. from :func:`format_result`; omitted when None.
        players: names of Black and White; each omitted when None.
        rules: the ``RU`` value (see the module docstring).
        comment: a comment on the game (``C`` in the root node), or None.
        handicap: points of Black's handicap stones, written ``HA[n]AB[..][..]`` in the
            root node (White then moves first).

    Returns:
        The record, ending with a newline; a few moves per line.

    Raises:
        SgfError: a size out of range, or a move that is off the board or not a vertex.
    """
    if not 1 <= size <= MAX_SIZE:
        raise SgfError(f"board size {size} is out of range (1 to {MAX_SIZE})")
    from rlkit import __version__

    root = f"(;GM[1]FF[4]CA[UTF-8]AP[rlkit:{__version__}]SZ[{size}]KM[{_format_number(komi)}]"
    root += f"RU[{_escape(rules)}]"
    for ident, name in zip(("PB", "PW"), players, strict=True):
        if name is not None:
            root += f"{ident}[{_escape(name)}]"
    if result is not None:
        root += f"RE[{_escape(result)}]"
    if comment is not None:
        root += f"C[{_escape(comment)}]"
    if handicap:
        points = [int(p) for p in handicap]
        if any(not 0 <= p < size * size for p in points):
            raise SgfError(f"handicap points {points} are not all on the {size}x{size} board")
        root += f"HA[{len(points)}]AB" + "".join(f"[{_sgf_point(p, size)}]" for p in points)
    lines = [root]
    nodes = []
    for number, move in enumerate(moves):
        if isinstance(move, str):
            color = number % 2
            try:
                action = vertex_to_action(move, size)
            except ValueError as exc:
                raise SgfError(f"move {number + 1}: {exc}") from None
        else:
            color, action = int(move[0]), int(move[1])
            if color not in (BLACK, WHITE) or not 0 <= action <= size * size:
                raise SgfError(f"move {number + 1}: {move!r} is not a (color, action) pair")
        nodes.append(f";{COLOR_LETTERS[color]}[{_sgf_point(action, size)}]")
    for start in range(0, len(nodes), 12):
        lines.append("".join(nodes[start : start + 12]))
    return "\n".join(lines) + ")\n"


# -- reading --------------------------------------------------------------------------------------
@dataclass
class _Tree:
    nodes: list[dict[str, list[str]]] = field(default_factory=list)
    children: list[_Tree] = field(default_factory=list)


class _Parser:
    """A reader of the FF[4] grammar::

    Collection = GameTree { GameTree }
    GameTree   = "(" Sequence { GameTree } ")"
    Sequence   = Node { Node }
    Node       = ";" { Property }
    Property   = PropIdent PropValue { PropValue }
    PropValue  = "[" value "]"          (inside, "\\" escapes the next character)

    Game trees nest as deep as a record's variations do, so they are read with an explicit
    stack of open trees rather than by recursion: any depth reads in linear time, where
    Python's recursion limit (about 1,000 frames) would end a recursive reader.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def where(self, pos: int | None = None) -> str:
        pos = self.pos if pos is None else pos
        line = self.text.count("\n", 0, pos) + 1
        column = pos - (self.text.rfind("\n", 0, pos) + 1) + 1
        return f"line {line}, column {column}"

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        self.skip_space()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def collection(self) -> list[_Tree]:
        start = self.text.find("(")
        if start < 0 or ";" not in self.text[start:]:
            raise SgfError("not an SGF record: no game tree '(;' found")
        self.pos = start  # text before the first tree (mail headers and the like) is ignored
        trees = []
        while self.peek() == "(":
            trees.append(self.game_tree())
        rest = self.peek()
        if rest == ")":
            raise SgfError(f"unbalanced parentheses: ')' at {self.where()} closes no game tree")
        if rest:
            raise SgfError(f"unexpected {rest!r} at {self.where()} after the last game tree")
        return trees

    def game_tree(self) -> _Tree:
        """One game tree, from its ``(`` at ``self.pos`` to its ``)``."""
        root = _Tree()
        # The open trees, innermost last, each with the position of its "(".
        stack: list[tuple[_Tree, int]] = []
        tree, opened = root, self.pos
        while True:
            self.pos += 1  # "("
            if self.peek() != ";":
                raise SgfError(f"game tree at {self.where(opened)} does not start with a node ';'")
            while self.peek() == ";":
                self.pos += 1
                tree.nodes.append(self.node())
            # Close finished trees until one has a child to open, or the root closes.
            while True:
                char = self.peek()
                if char == "(":
                    child = _Tree()
                    tree.children.append(child)
                    stack.append((tree, opened))
                    tree, opened = child, self.pos
                    break
                if char == ")":
                    self.pos += 1
                    if not stack:
                        return root
                    tree, opened = stack.pop()
                    continue
                if not char:
                    outermost = stack[0][1] if stack else opened
                    raise SgfError(
                        f"unbalanced parentheses: the game tree opened at "
                        f"{self.where(outermost)} is never closed with ')'"
                    )
                raise SgfError(f"unexpected {char!r} at {self.where()} (expected ';', '(' or ')')")

    def node(self) -> dict[str, list[str]]:
        properties: dict[str, list[str]] = {}
        while True:
            char = self.peek()
            if not char or char in ";()":
                return properties
            start = self.pos
            while self.pos < len(self.text) and self.text[self.pos].isalpha():
                self.pos += 1
            # FF[1-3] allowed lower-case letters in identifiers (e.g. "CoPyright"); FF[4]
            # readers drop them.
            ident = "".join(c for c in self.text[start : self.pos] if c.isupper())
            if not ident:
                raise SgfError(f"expected a property name at {self.where(start)}, got {char!r}")
            if self.peek() != "[":
                raise SgfError(f"property {ident} at {self.where(start)} has no value '[...]'")
            if ident in properties:
                raise SgfError(f"property {ident} appears twice in the node at {self.where(start)}")
            values = []
            while self.peek() == "[":
                values.append(self.value())
            properties[ident] = values

    def value(self) -> str:
        opened = self.pos
        self.pos += 1  # "["
        chars = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\":
                self.pos += 1
                escaped = self.text[self.pos : self.pos + 1]
                if escaped in ("\r", "\n"):  # an escaped line break is a soft break: dropped
                    if self.text[self.pos + 1 : self.pos + 2] in "\r\n".replace(escaped, "!"):
                        self.pos += 1  # the other half of a two-character line break
                else:
                    chars.append(escaped)
            elif char == "]":
                self.pos += 1
                return "".join(chars)
            else:
                chars.append(char)
            self.pos += 1
        raise SgfError(
            f"unbalanced brackets: the value opened with '[' at {self.where(opened)} "
            "is never closed with ']'"
        )


def _single(properties: dict[str, list[str]], ident: str) -> str | None:
    values = properties.get(ident)
    if values is None:
        return None
    if len(values) != 1:
        raise SgfError(f"property {ident} has {len(values)} values; expected one")
    return values[0]


def _simple_text(value: str | None) -> str | None:
    return None if value is None else _LINE_BREAK.sub(" ", value)


def _parse_point(value: str, size: int, move_number: int) -> int:
    value = value.strip()
    if value == "" or (value == "tt" and size <= 19):
        return size * size
    if len(value) != 2 or any(c not in _SGF_LETTERS for c in value):
        raise SgfError(
            f"move {move_number}: bad coordinates [{value}] (expected two letters, "
            "column then row, e.g. [dd], or [] for a pass)"
        )
    col, row = (_SGF_LETTERS.index(c) for c in value)
    if col >= size or row >= size:
        raise SgfError(f"move {move_number}: [{value}] is off the {size}x{size} board")
    return row * size + col


_SETUP = ("AB", "AW", "AE", "PL")
_ROOT_SETUP = ("AB", "PL")  # handicap stones, and who moves first after them


def _parse_points(values: list[str], size: int, ident: str) -> list[int]:
    """The points of a list of SGF points, compressed rectangles ``[aa:cc]`` expanded."""
    points: list[int] = []
    for value in values:
        first, _, last = value.strip().partition(":")
        corners = []
        for text in (first, last or first):
            if len(text) != 2 or any(c not in _SGF_LETTERS[:size] for c in text):
                raise SgfError(f"{ident}[{value}] is not a point of the {size}x{size} board")
            corners.append((_SGF_LETTERS.index(text[1]), _SGF_LETTERS.index(text[0])))
        (r1, c1), (r2, c2) = corners
        for row in range(min(r1, r2), max(r1, r2) + 1):
            for col in range(min(c1, c2), max(c1, c2) + 1):
                points.append(row * size + col)
    if len(set(points)) != len(points):
        raise SgfError(f"{ident} names a point twice")
    return points


def read_sgf(text: str, *, default_komi: float = 0.0, alternate: bool = True) -> SgfGame:
    """Read the main line of the first game in an SGF text (see the module docstring).

    Args:
        text: the SGF text.
        default_komi: the komi of a record without ``KM`` (or with an empty one); SGF itself
            gives none, and 0 is what SGF editors show. The GTP engine passes its current
            komi, so loading such a file keeps it.
        alternate: require colours to alternate, from Black (from White after handicap
            stones, unless ``PL`` says otherwise). ``False`` accepts any order, as a GTP
            engine must (a colour may move twice).

    Raises:
        SgfError: malformed SGF (unbalanced brackets or parentheses, a property without a
            value), a game other than Go, a board size or komi that is not a number or is out of
            range, a move with bad or off-board coordinates, a node with both a black and a white
            move, a move out of turn (with ``alternate``), or setup stones other than black
            stones (``AB``, handicap) in the root node.
    """
    trees = _Parser(text).collection()
    nodes: list[dict[str, list[str]]] = []
    tree: _Tree | None = trees[0]
    while tree is not None:
        nodes.extend(tree.nodes)
        tree = tree.children[0] if tree.children else None
    root = nodes[0]

    game_type = _single(root, "GM")
    if game_type is not None and game_type.strip() != "1":
        raise SgfError(f"GM[{game_type}] is not Go (GM[1])")
    size_text = _single(root, "SZ")
    size = 19
    if size_text is not None:
        cols, _, rows = size_text.strip().partition(":")
        try:
            size, height = int(cols), int(rows or cols)
        except ValueError:
            raise SgfError(f"SZ[{size_text}] is not a board size") from None
        if height != size:
            raise SgfError(f"SZ[{size_text}]: only square boards are supported")
        if not 1 <= size <= MAX_SIZE:
            raise SgfError(f"SZ[{size_text}] is out of range (1 to {MAX_SIZE})")
    komi_text = _single(root, "KM")
    komi = float(default_komi)
    if komi_text is not None and komi_text.strip():
        try:
            komi = float(komi_text)
        except ValueError:
            komi = math.nan
        if not math.isfinite(komi):
            raise SgfError(f"KM[{komi_text}] is not a number")
    handicap = _parse_points(root.get("AB", []), size, "AB")
    first = WHITE if handicap else BLACK
    to_play = _single(root, "PL")
    if to_play is not None:
        if to_play.strip().upper() not in COLOR_LETTERS:
            raise SgfError(f"PL[{to_play}] is not B or W")
        first = COLOR_LETTERS.index(to_play.strip().upper())

    moves: list[tuple[int, int]] = []
    for index, properties in enumerate(nodes):
        allowed = _ROOT_SETUP if index == 0 else ()
        setup = [ident for ident in _SETUP if ident in properties and ident not in allowed]
        if setup:
            raise SgfError(
                f"setup properties ({', '.join(setup)}) are not supported: rlkit replays games "
                "from the empty board or from black handicap stones (AB in the root node)"
            )
        present = [color for color, letter in enumerate(COLOR_LETTERS) if letter in properties]
        if len(present) == 2:
            raise SgfError(f"move {len(moves) + 1}: one node holds both a B and a W move")
        if not present:
            continue
        color = present[0]
        number = len(moves) + 1
        value = _single(properties, COLOR_LETTERS[color])
        assert value is not None
        expected = (first + len(moves)) % 2
        if alternate and color != expected:
            raise SgfError(
                f"move {number}: {COLOR_LETTERS[color]} plays out of turn "
                f"({COLOR_LETTERS[expected]} to move; colours must alternate from "
                f"{'Black' if first == BLACK else 'White'})"
            )
        moves.append((color, _parse_point(value, size, number)))

    return SgfGame(
        size=size,
        komi=komi,
        moves=tuple(moves),
        result=_simple_text(_single(root, "RE")),
        rules=_simple_text(_single(root, "RU")),
        players=(_simple_text(_single(root, "PB")), _simple_text(_single(root, "PW"))),
        handicap=tuple(handicap),
    )


# -- Go games -------------------------------------------------------------------------------------
def replay(game: Any, record: SgfGame) -> list[Any]:
    """Every state of ``record`` played through a Go ``game`` (initial state first).

    A record with handicap stones starts from :meth:`~rlkit.envs.go.GoGame.handicap_state`;
    a move by the colour not to move (a record read with ``alternate=False``, or ``PL[B]``
    after handicap stones) is played as that colour (:meth:`~rlkit.envs.go.GoGame.resume`).

    Raises:
        SgfError: the record's size differs from the game's, or a move is illegal.
    """
    if record.size != game.size:
        raise SgfError(f"the record is {record.size}x{record.size}; the game is {game.size}")
    states = [game.handicap_state(record.handicap) if record.handicap else game.initial_state()]
    for number, (color, action) in enumerate(record.moves, start=1):
        state = states[-1]
        if state.to_move != color and game.current_player(state) != TERMINAL:
            state = game.resume(state, color)
        try:
            states.append(game.apply(state, action))
        except RlkitError as exc:  # IllegalMoveError
            raise SgfError(
                f"move {number} ({action_to_vertex(action, record.size)}): {exc}"
            ) from None
    return states


def go_record(game: Any, record: GameRecord) -> tuple[str, str]:
    """A finished :class:`~rlkit.match.GameRecord` of Go as SGF, for ``GoGame.format_record``.

    The result is the Tromp-Taylor score of the final position (``B+3.5``), or ``B+R``/``W+R``
    where the returns name a winner that the position does not (a resignation), or ``Void``
    for a game that the match cut off unscored (``record.truncated``). A game that the rules
    cut off at ``max_game_length`` is scored as it stood, as its returns are, and says so in
    a comment.

    Returns:
        ``(text, "sgf")``.
    """
    state = game.initial_state()
    actions = []
    for move in record.moves:
        action = game.vertex_to_action(move)
        actions.append(action)
        state = game.apply(state, action)
    comment = None
    if record.truncated:
        result = "Void"
    else:
        score = float(game.score(state))
        black, white = record.returns[0], record.returns[1]
        winner = BLACK if black > white else WHITE if white > black else None
        by_score = BLACK if score > 0 else WHITE if score < 0 else None
        if winner == by_score:
            result = format_result(score)
        else:
            result = f"{COLOR_LETTERS[winner]}+R" if winner is not None else "0"
        is_truncated = getattr(game, "is_truncated", None)
        if is_truncated is not None and is_truncated(state):
            comment = (
                f"Cut off after {len(actions)} moves (the game's maximum length) and scored "
                "as the board stood."
            )
    colored = [(i % 2, action) for i, action in enumerate(actions)]
    players = (record.players[0], record.players[1])
    return write_sgf(game.size, game.komi, colored, result, players, comment=comment), "sgf"
