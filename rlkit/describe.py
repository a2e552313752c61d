"""``rlkit describe``: what an agent, a checkpoint, a game or an environment is and takes.

For an agent name (``rlkit describe q-learning``) it prints the registry line, the class and
its docstring, then every parameter of its config dataclass with its type, its default and the
string literal written under the field, the convention every agent config here follows::

    @dataclass(frozen=True)
    class QLearningConfig:
        alpha: float = 0.1
        \"\"\"Learning rate at the start of training.\"\"\"

Those docstrings are not kept at run time, so they are read from the class's source with
:mod:`ast` (fields inherited from a base dataclass are looked up in the base's source). A spec
with parameters (``rlkit describe minimax:depth=4``) is validated like any other and shows the
given values beside the defaults.

A checkpoint file or run folder shows the stored agent, its config values, the environment
or game, the training counters and the tensors. A name that is not an agent but a game or an
environment shows the game's capability record or the environment's spaces.

Only the agent's own module is imported (``rlkit describe q-learning`` does not import torch;
an agent whose module uses torch, or a checkpoint, does).
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import sys
import textwrap
import typing
from pathlib import Path
from typing import Any

import numpy as np

from rlkit.errors import CheckpointError, RlkitError, UnknownNameError

__all__ = ["FieldInfo", "add_parser", "config_field_docs", "describe", "describe_fields"]

WIDTH = 100
"""Wrap width of the printed docstrings."""
_PLAIN_TYPES = {"int", "float", "str", "bool"}
_COUNTERS = {"steps": 0, "episodes": 1}
"""Training counters shown first, in this order; the others follow by name."""


@dataclasses.dataclass(frozen=True)
class FieldInfo:
    """One parameter of an agent's config, as ``rlkit describe`` shows it.

    Attributes:
        name: the field name (the key in a spec, ``name=value``).
        type: the annotation as written in the source, e.g. ``"int | None"``.
        default: the default value (:data:`dataclasses.MISSING` when the field is required).
        doc: the docstring written under the field ("" when there is none).
    """

    name: str
    type: str
    default: Any
    doc: str


def config_field_docs(config_class: type) -> dict[str, tuple[str, str]]:
    """Map each annotated field of a (dataclass) class to ``(annotation text, docstring)``.

    Reads the source of the class and of its bases (base fields first, as dataclasses order
    them); a field's docstring is the string literal statement right after its annotation.
    Classes whose source is unavailable (built in C, defined in a REPL) contribute nothing.

        >>> from rlkit.agents.minimax import MinimaxConfig
        >>> config_field_docs(MinimaxConfig)["depth"][0]
        'int | None'
    """
    docs: dict[str, tuple[str, str]] = {}
    for klass in reversed(config_class.__mro__):
        if klass is object:
            continue
        try:
            source = textwrap.dedent(inspect.getsource(klass))
            tree = ast.parse(source)
        except (OSError, TypeError, SyntaxError):
            continue
        body = next((n.body for n in tree.body if isinstance(n, ast.ClassDef)), [])
        for statement, following in zip(body, [*body[1:], None], strict=True):
            if not (
                isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
            ):
                continue
            doc = ""
            if (
                isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                doc = inspect.cleandoc(following.value.value)
            docs[statement.target.id] = (ast.unparse(statement.annotation), doc)
    return docs


def describe_fields(config_class: type, defaults: dict[str, Any] | None = None) -> list[FieldInfo]:
    """The parameters of a config dataclass, in definition order.

    Args:
        config_class: an agent's ``Config`` dataclass.
        defaults: the registry entry's defaults, which replace the dataclass's own.

    Returns:
        One :class:`FieldInfo` per field that the constructor takes (``init=True``).
    """
    docs = config_field_docs(config_class)
    try:
        hints = typing.get_type_hints(config_class)
    except (NameError, TypeError):  # an annotation naming something not importable here
        hints = {}
    out = []
    for f in dataclasses.fields(config_class):
        if not f.init:
            continue
        annotation, doc = docs.get(f.name, ("", ""))
        if not annotation or (annotation.isidentifier() and annotation not in _PLAIN_TYPES):
            # No source, or an alias such as ``ScheduleKind``: show what it stands for.
            hint = hints.get(f.name, f.type)
            if typing.get_origin(hint) is None and hasattr(hint, "__name__"):
                annotation = hint.__name__
            else:
                annotation = str(hint).replace("typing.", "")
        if defaults and f.name in defaults:
            default = defaults[f.name]
        elif f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = dataclasses.MISSING
        out.append(FieldInfo(f.name, annotation, default, doc))
    return out


def _value(value: Any) -> str:
    if value is dataclasses.MISSING:
        return "(required)"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return "x".join(str(v) for v in value)
    return repr(value) if isinstance(value, str) else str(value)


def _doc_lines(text: str, indent: int) -> list[str]:
    lines = []
    for paragraph in text.split("\n\n"):
        lines += textwrap.wrap(
            " ".join(paragraph.split()),
            WIDTH,
            initial_indent=" " * indent,
            subsequent_indent=" " * indent,
        )
    return lines


def _field_lines(fields: list[FieldInfo], values: dict[str, Any] | None) -> list[str]:
    lines = []
    for f in fields:
        head = f"  {f.name}: {f.type} = "
        if values is not None and f.name in values and values[f.name] != f.default:
            head += f"{_value(values[f.name])}  (default {_value(f.default)})"
        else:
            head += _value(f.default if values is None else values.get(f.name, f.default))
        lines.append(head)
        lines += _doc_lines(f.doc, 6) if f.doc else []
    return lines


def _summary(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.split("\n\n")[0]


# -- agents -------------------------------------------------------------------------------------
def describe_agent(text: str) -> str:
    """The description of an agent spec such as ``q-learning`` or ``minimax:depth=4``.

    Raises:
        UnknownNameError: with close matches among agents.
        SpecError: a parameter the agent does not take, or a value of the wrong type.
    """
    from rlkit.game import GameAgent
    from rlkit.registry import agent_entries, resolve_agent_class
    from rlkit.specs import build_config, parse_spec

    spec = parse_spec(text)
    cls, defaults = resolve_agent_class(spec.name)
    entries = agent_entries()
    entry = entries.get("gtp:COMMAND" if spec.name.startswith("gtp:") else spec.name)
    lines = [f"{spec.name}: {entry.summary}" if entry else spec.name]
    kind = "plays games (given the rules)" if issubclass(cls, GameAgent) else "acts in envs"
    lines.append(f"class {cls.__module__}:{cls.__qualname__}, {kind}")
    summary = _summary(cls)
    if summary:
        lines += ["", *_doc_lines(summary, 0)]
    config_class = getattr(cls, "Config", None)
    if config_class is None or not dataclasses.is_dataclass(config_class):
        lines += ["", "no parameters"]
        return "\n".join(lines)
    fields = describe_fields(config_class, defaults)
    values = None
    if spec.params:
        config = build_config(config_class, {**defaults, **spec.params}, owner=spec.name)
        values = {f.name: getattr(config, f.name) for f in fields}
    if not fields:
        lines += ["", "no parameters"]
        return "\n".join(lines)
    example = f"{spec.name}:{fields[0].name}=VALUE"
    if len(fields) > 1:
        example += f",{fields[1].name}=VALUE"
    if parse_spec(example).name == spec.name:
        lines += ["", f"parameters (as in {example}):"]
    else:  # a name that swallows parameters (gtp:COMMAND): TOML [agent_config] only
        lines += ["", "parameters:"]
    lines += _field_lines(fields, values)
    return "\n".join(lines)


# -- checkpoints --------------------------------------------------------------------------------
def _checkpoint_file(path: Path) -> Path:
    """The checkpoint a path names: the file, or a run folder's final.pt (else its latest
    periodic checkpoint.pt, for an interrupted run)."""
    if path.is_dir():
        for name in ("final.pt", "checkpoint.pt"):
            if (path / name).is_file():
                return path / name
        raise CheckpointError(f"{str(path)!r} holds no checkpoint (final.pt or checkpoint.pt)")
    return path


def describe_checkpoint(text: str) -> str:
    """The description of a checkpoint file or run folder.

    Raises:
        CheckpointError: missing, truncated or corrupt file.
    """
    from rlkit.checkpoint import load_checkpoint

    path = _checkpoint_file(Path(text))
    checkpoint = load_checkpoint(path)
    meta = checkpoint.metadata
    name = str(meta.get("agent", "?"))
    lines = [f"checkpoint {path}", f"  agent: {name}"]
    if meta.get("env"):
        lines.append(f"  env: {meta['env']}")
    for key in ("observation_space", "action_space"):
        if key in meta:
            lines.append(f"  {key.replace('_', ' ')}: {_space_text(meta[key])}")
    training = meta.get("training")
    if isinstance(training, dict) and training:
        order = sorted(training, key=lambda k: (k not in _COUNTERS, _COUNTERS.get(k, 0), k))
        counters = ", ".join(f"{k} {_value(training[k])}" for k in order if _scalar(training[k]))
        lines.append(f"  training: {counters}")
    if meta.get("rlkit_version"):
        lines.append(f"  written by rlkit {meta['rlkit_version']}")
    metrics = path.parent / "metrics.csv"
    if Path(text).is_dir() and metrics.is_file():
        lines.append(f"  metrics: {_metrics_text(metrics)} (rlkit plot {text} --y COLUMN)")
    sizes = [  # arrays, not tensors: describing a Q-table needs no torch
        f"{k} {list(t.shape)} {checkpoint.dtypes.get(k) or str(t.dtype).removeprefix('torch.')}"
        for k, t in checkpoint.arrays.items()
    ]
    total = sum(int(np.prod(t.shape)) for t in checkpoint.arrays.values())
    lines.append(f"  tensors: {len(sizes)} ({total:,} numbers)")
    lines += [f"    {s}" for s in sizes]
    config = meta.get("config")
    if isinstance(config, dict) and config:
        fields = None
        try:
            from rlkit.registry import resolve_agent_class

            cls, defaults = resolve_agent_class(name)
            fields = describe_fields(cls.Config, defaults)
        except (RlkitError, AttributeError, TypeError):
            pass  # an agent this installation lacks: show the stored values only
        lines.append("config:")
        if fields is not None:
            stored = {
                f.name: _stored(config[f.name], f.default) for f in fields if f.name in config
            }
            lines += _field_lines(fields, stored)
            unknown = sorted(set(config) - {f.name for f in fields})
            lines += [f"  {k} = {_value(config[k])}  (not a parameter of {name})" for k in unknown]
        else:
            lines += [f"  {k} = {_value(v)}" for k, v in config.items()]
    return "\n".join(lines)


def _metrics_text(path: Path) -> str:
    """``N rows of a, b, c`` for a run's metrics.csv (read as ``rlkit plot`` reads it)."""
    from rlkit.plot import read_metrics

    try:
        header, rows = read_metrics(path)
    except RlkitError:
        return "metrics.csv unreadable or empty"
    return f"{len(rows)} rows of {', '.join(header)}"


def _scalar(value: Any) -> bool:
    return isinstance(value, int | float | str | bool) or value is None


def _stored(value: Any, default: Any) -> Any:
    """A stored JSON value in the shape of its default (TOML/JSON lists were tuples)."""
    if isinstance(value, list) and isinstance(default, tuple):
        return tuple(value)
    return value


def _space_text(data: Any) -> str:
    if not isinstance(data, dict):
        return str(data)
    kind = data.get("type")
    if kind == "Discrete":
        return f"Discrete({data.get('n')})"
    if kind == "Box":
        return f"Box(shape={tuple(data.get('shape', ()))}, dtype={data.get('dtype')})"
    if kind == "Dict":
        inner = ", ".join(f"{k}: {_space_text(v)}" for k, v in data.get("spaces", {}).items())
        return f"Dict({inner})"
    return str(kind)


# -- games and environments -----------------------------------------------------------------------
def describe_game(text: str) -> str:
    """The capability record of a game spec such as ``go:size=9``."""
    from rlkit.registry import game_entries, make_game
    from rlkit.specs import parse_spec

    spec = parse_spec(text)
    game = make_game(spec)
    entry = game_entries().get(spec.name)
    lines = [f"game {spec}: {entry.summary}" if entry else f"game {spec}"]
    lines.append(f"class {type(game).__module__}:{type(game).__qualname__}")
    for f in dataclasses.fields(game.info):
        lines.append(f"  {f.name}: {_value(getattr(game.info, f.name))}")
    lines.append(f"  (play it: rlkit play AGENT AGENT --env {spec}; agents: rlkit list)")
    return "\n".join(lines)


def describe_env(text: str) -> str:
    """The spaces and time limit of an environment spec."""
    from rlkit.registry import env_entries, make_env
    from rlkit.specs import parse_spec

    spec = parse_spec(text)
    env = make_env(spec)
    try:
        entry = env_entries().get(spec.name)
        lines = [f"environment {spec}: {entry.summary}" if entry else f"environment {spec}"]
        lines.append(f"  observation space: {env.observation_space}")
        lines.append(f"  action space: {env.action_space}")
        limit = getattr(env.spec, "max_episode_steps", None) if env.spec else None
        lines.append(f"  time limit: {f'{limit} steps' if limit else 'none'}")
        summary = _summary(type(env.unwrapped))
        if summary:
            lines += ["", *_doc_lines(summary, 0)]
    finally:
        env.close()
    return "\n".join(lines)


def _is_checkpoint_path(text: str) -> bool:
    """A ``.pt`` name, an existing file, or a folder holding a run's files (a folder that
    merely shares an agent's name, such as ``./bc``, is not one)."""
    path = Path(text)
    if text.endswith(".pt") or path.is_file():
        return True
    return path.is_dir() and any(
        (path / name).exists() for name in ("final.pt", "checkpoint.pt", "config.toml")
    )


def _is_game_or_env(name: str) -> tuple[bool, bool]:
    from rlkit.registry import env_entries, game_entries

    if name in game_entries():
        return True, name in env_entries()
    if name in env_entries():
        return False, True
    import gymnasium as gym

    import rlkit.envs  # noqa: F401  (registers the rlkit/ ids)

    return False, name in gym.registry


def describe(text: str) -> str:
    """Describe an agent spec, a checkpoint or run folder, a game or an environment.

    Raises:
        UnknownNameError: nothing of that name (the message lists close agent names).
        SpecError, CheckpointError: as for building the thing described.
    """
    from rlkit.specs import parse_spec

    text = text.strip()
    if _is_checkpoint_path(text):
        return describe_checkpoint(text)
    try:
        return describe_agent(text)
    except UnknownNameError as agent_error:
        is_game, is_env = _is_game_or_env(parse_spec(text).name)
        if not (is_game or is_env):
            where = "; no file or folder of that name either" if "/" in text else ""
            raise UnknownNameError(f"{agent_error} (nor a game or an environment){where}") from None
    parts = []
    if is_game:
        parts.append(describe_game(text))
    if is_env:
        parts.append(describe_env(text))
    return "\n\n".join(parts)


# -- command line -------------------------------------------------------------------------------
def add_parser(subparsers: Any) -> None:
    """Register ``rlkit describe``."""
    p = subparsers.add_parser(
        "describe",
        help="an agent's parameters (types, defaults, docs), or a checkpoint, game or env",
        description="Describe an agent (its parameters with types, defaults and docs), a "
        "checkpoint file or run folder (agent, config, env, training counters), a game or an "
        "environment.",
    )
    p.add_argument(
        "target",
        metavar="AGENT",
        help="agent name or spec (q-learning, minimax:depth=4), checkpoint file or run "
        "folder, game or environment name",
    )
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    print(describe(args.target))
    sys.stdout.flush()
    return 0
