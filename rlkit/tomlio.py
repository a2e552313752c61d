"""Reading and writing the small TOML files rlkit uses (run configs).

Reading uses the standard library's ``tomllib`` (``tomli`` before Python 3.11). Writing covers
what configs hold: strings, numbers, booleans, lists of those, and one level of tables.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

from rlkit.errors import SpecError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def load_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file.

    Raises:
        SpecError: the file is missing, a folder, unreadable, not UTF-8 or not valid TOML
            (with the parser's line and column).
    """
    path = Path(path)
    if path.is_dir():
        raise SpecError(f"config file {str(path)!r} is a folder; give a .toml file")
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise SpecError(f"config file {str(path)!r} does not exist") from None
    except UnicodeDecodeError:
        raise SpecError(f"config file {str(path)!r} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"config file {str(path)!r} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise SpecError(f"config file {str(path)!r} cannot be read: {exc.strerror}") from None


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def dumps_toml(data: dict[str, Any]) -> str:
    """Format a dict of scalars, lists and one level of tables as TOML text.

    ``None`` values are left out (TOML has no null).

        >>> print(dumps_toml({"seed": 1, "agent_config": {"alpha": 0.5}}), end="")
        seed = 1
        <BLANKLINE>
        [agent_config]
        alpha = 0.5
    """
    lines = [
        f"{k} = {_value(v)}" for k, v in data.items() if v is not None and not isinstance(v, dict)
    ]
    for key, table in data.items():
        if isinstance(table, dict):
            lines += ["", f"[{key}]"]
            lines += [f"{k} = {_value(v)}" for k, v in table.items() if v is not None]
    return "\n".join(lines) + "\n"
