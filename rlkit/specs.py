"""Spec strings: one line that names an agent or an environment and its parameters.

Grammar (whitespace around names and values is ignored)::

    spec   := name [":" params]
    name   := registered-name | "module.path:ClassName" | gymnasium-id | "sb3:ALGO"
    params := key "=" value ("," key "=" value)*
    value  := text | "[" spec "]"      (a nested spec, whose ':' and ',' are its own)

The last ``:``-separated part is parameters exactly when it contains ``=``; everything before
it is the name. So all of these parse as expected::

    >>> parse_spec("q-learning:alpha=0.1,epsilon=0.2")
    Spec(name='q-learning', params={'alpha': '0.1', 'epsilon': '0.2'})
    >>> parse_spec("FrozenLake-v1:is_slippery=false")
    Spec(name='FrozenLake-v1', params={'is_slippery': 'false'})
    >>> parse_spec("my_envs.mazes:BigMaze:size=9")
    Spec(name='my_envs.mazes:BigMaze', params={'size': '9'})
    >>> parse_spec("sb3:PPO")
    Spec(name='sb3:PPO', params={})
    >>> parse_spec("gtp:gnugo --mode gtp --level=1")
    Spec(name='gtp:gnugo --mode gtp --level=1', params={})
    >>> parse_spec("human:hint=[minimax:depth=6]")     # a spec as a value goes in brackets
    Spec(name='human', params={'hint': 'minimax:depth=6'})

Values stay strings here; they are converted once, against the fields of an agent's config
dataclass (:func:`build_config`) or, for environments, by :func:`literal_value`.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Union

from rlkit.errors import SpecError


@dataclass(frozen=True)
class Spec:
    """A parsed spec string: a name and its raw (string) parameters."""

    name: str
    params: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        if not self.params:
            return self.name
        return self.name + ":" + ",".join(f"{k}={_quoted(v)}" for k, v in self.params.items())


def _quoted(value: str) -> str:
    """A value that holds a separator goes back in brackets, so str(parse_spec(x)) parses."""
    return f"[{value}]" if any(c in value for c in ":,") else value


def parse_spec(text: str) -> Spec:
    """Split ``text`` into a name and ``key=value`` parameters.

    Raises:
        SpecError: on an empty name, a parameter without ``=``, or a repeated key.
    """
    text = text.strip()
    if not text:
        raise SpecError("empty spec: expected a name such as 'q-learning' or 'FrozenLake-v1'")
    if text.startswith("gtp:"):  # an engine's command line may hold ':' and '=' of its own
        return Spec(text, {})
    parts = _split_outside_brackets(text, ":", text)
    raw_params = ""
    if len(parts) > 1 and "=" in parts[-1]:
        raw_params = parts[-1]
        parts = parts[:-1]
    name = ":".join(p.strip() for p in parts)
    if not name:
        raise SpecError(f"spec {text!r} has parameters but no name")
    params: dict[str, str] = {}
    for item in filter(None, (s.strip() for s in _split_outside_brackets(raw_params, ",", text))):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise SpecError(f"parameter {item!r} in {text!r} is not of the form key=value")
        if key in params:
            raise SpecError(f"parameter {key!r} is given twice in {text!r}")
        value = value.strip()
        if value.startswith("[") and value.endswith("]"):  # a nested spec, e.g. [minimax:depth=2]
            value = value[1:-1].strip()
        params[key] = value
    return Spec(name, params)


def _split_outside_brackets(text: str, separator: str, whole: str) -> list[str]:
    """``text.split(separator)``, except inside ``[...]`` (nested specs as parameter values).

    Raises:
        SpecError: unbalanced brackets.
    """
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth < 0:
                raise SpecError(f"unbalanced ']' in {whole!r}")
        elif char == separator and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth:
        raise SpecError(f"unbalanced '[' in {whole!r}")
    parts.append(text[start:])
    return parts


def close_matches(name: str, candidates: Iterable[str], n: int = 4) -> list[str]:
    """Return up to ``n`` candidates that look like ``name`` (case-insensitive)."""
    candidates = list(candidates)
    by_lower = {c.lower(): c for c in candidates}
    hits = difflib.get_close_matches(name.lower(), list(by_lower), n=n, cutoff=0.5)
    hits += [c.lower() for c in candidates if name.lower() in c.lower() and c.lower() not in hits]
    return [by_lower[h] for h in hits[:n]]


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A ``"; did you mean 'x' or 'y'?"`` suffix, or an empty string when nothing is close."""
    matches = close_matches(name, candidates)
    if not matches:
        return ""
    return "; did you mean " + " or ".join(repr(m) for m in matches) + "?"


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def literal_value(text: str) -> Any:
    """Best-effort conversion of an untyped parameter (environment keyword arguments).

    ``true``/``false`` become bools, ``none`` becomes None, numbers become int or float,
    anything else stays a string.

        >>> literal_value("false"), literal_value("9"), literal_value("0.5"), literal_value("x")
        (False, 9, 0.5, 'x')
    """
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "none":
        return None
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(annotation))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(annotation))
    if origin is tuple:
        return "sizes separated by 'x' (e.g. 64x64)"
    if annotation is type(None):
        return "none"
    return getattr(annotation, "__name__", str(annotation))


def convert_value(text: str, annotation: Any, where: str) -> Any:
    """Convert ``text`` to the type ``annotation`` (a config dataclass field's type).

    Supports bool, int, float, str, ``Literal[...]``, ``X | None`` and ``tuple[int, ...]``
    (written ``64x64``).

    Raises:
        SpecError: naming ``where`` (the field) and the expected type.
    """
    origin = typing.get_origin(annotation)
    try:
        if origin in (Union, types.UnionType):
            options = typing.get_args(annotation)
            if type(None) in options and text.lower() in ("none", ""):
                return None
            for option in options:
                if option is type(None):
                    continue
                try:
                    return convert_value(text, option, where)
                except SpecError:
                    continue
            raise ValueError
        if origin is Literal:
            choices = typing.get_args(annotation)
            for choice in choices:
                if str(choice).lower() == text.lower():
                    return choice
            raise ValueError
        if origin is tuple:
            sizes = tuple(int(p) for p in text.lower().replace("/", "x").split("x"))
            if not sizes or min(sizes) <= 0:
                raise ValueError
            return sizes
        if annotation is bool:
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ValueError
        if annotation is int:
            value = float(text)
            if not value.is_integer():
                raise ValueError
            return int(value)
        if annotation is float:
            return float(text)
        if annotation is str:
            return text
    except (ValueError, TypeError):
        pass
    else:
        raise SpecError(f"{where}: unsupported parameter type {annotation!r}")
    raise SpecError(f"{where}: expected {_type_name(annotation)}, got {text!r}")


def config_fields(config_class: type) -> dict[str, Any]:
    """Map each field name of a config dataclass to its resolved type annotation."""
    hints = typing.get_type_hints(config_class)
    return {f.name: hints[f.name] for f in dataclasses.fields(config_class) if f.init}


def build_config(
    config_class: type, params: Mapping[str, Any], *, owner: str, base: Any = None
) -> Any:
    """Build a frozen config dataclass from parameters, validating every name and value.

    Args:
        config_class: the agent's config dataclass.
        params: field name -> value; strings are converted with :func:`convert_value`,
            other values (from a TOML file) are checked against the field's type.
        owner: the agent name, used in error messages.
        base: an existing config to start from (its values are the defaults).

    Raises:
        SpecError: unknown field (with close matches), wrong type, or a value the config's
            own ``__post_init__`` validation rejects.
    """
    fields = config_fields(config_class)
    values: dict[str, Any] = {}
    for key, raw in params.items():
        if key not in fields:
            raise SpecError(
                f"{owner} has no parameter {key!r}{did_you_mean(key, fields)} "
                f"(parameters: {', '.join(fields)})"
            )
        where = f"{owner} parameter {key!r}"
        if isinstance(raw, str):
            values[key] = convert_value(raw, fields[key], where)
        else:
            values[key] = _check_typed_value(raw, fields[key], where)
    try:
        if base is not None:
            return dataclasses.replace(base, **values)
        return config_class(**values)
    except (ValueError, TypeError) as exc:
        raise SpecError(f"{owner}: {exc}") from None


def _check_typed_value(value: Any, annotation: Any, where: str) -> Any:
    """Accept a value from a TOML file when it fits the field (ints widen to float)."""
    if isinstance(value, list):
        value = "x".join(str(v) for v in value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return convert_value(
            str(value).lower() if isinstance(value, bool) else str(value), annotation, where
        )
    return convert_value(repr(value), annotation, where)


def config_to_dict(config: Any) -> dict[str, Any]:
    """A config dataclass as plain JSON/TOML values (tuples become lists)."""
    out = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def build_named_config(text: str, table: Mapping[str, type], what: str, example: str) -> Any:
    """Parse ``NAME[:key=value,...]`` where NAME picks a config dataclass from ``table``.

    The shape of every family-of-configs spec (networks ``resnet:blocks=6``, optimisers
    ``adam:lr=1e-3``, schedules ``cosine:warmup=500``); names are case-insensitive.

    Raises:
        SpecError: an unknown name (with close matches and an ``example``) or a bad parameter.
    """
    spec = parse_spec(text)
    name = spec.name.lower()
    if name not in table:
        raise SpecError(
            f"unknown {what} {spec.name!r}{did_you_mean(spec.name, table)} "
            f"({what}s: {', '.join(table)}; e.g. {example})"
        )
    return build_config(table[name], spec.params, owner=f"{what} {name!r}")
