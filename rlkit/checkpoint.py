"""Checkpoints: an agent's arrays plus JSON metadata, loadable without running pickled code.

File layout (format version 2): an uncompressed numpy ``.npz`` archive (a zip) holding

- ``__rlkit__``: the UTF-8 JSON text ``{"format": "rlkit-checkpoint", "format_version": 2,
  "metadata": {...}, "dtypes": {name: "bfloat16", ...}}`` as a uint8 array — agent name,
  config, spaces or game, env, training counters, extra state;
- one array per entry of ``Agent.state_dict()`` (bfloat16 tensors, which numpy cannot hold,
  as their uint16 bit patterns, named in ``dtypes``).

Loading uses ``numpy.load(allow_pickle=False)``, which refuses anything but plain arrays, so a
checkpoint from an untrusted source cannot execute code, and it needs no torch: a Q-table loads
in milliseconds. Format version 1 (one ``torch.save`` of plain containers, written by rlkit
0.1) still loads, with ``torch.load(weights_only=True)``. Files are written to a temporary name
in the same folder and renamed into place, so a crash or Ctrl-C mid-write never leaves a
truncated checkpoint where a good one stood.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import sys
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np

if TYPE_CHECKING:  # imported where used: `rlkit list` and tabular agents need no torch
    import torch

from rlkit.errors import CheckpointError

FORMAT = "rlkit-checkpoint"
FORMAT_VERSION = 2
_HEADER = "__rlkit__"


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint: metadata (plain JSON values) and named arrays.

    ``arrays`` are numpy arrays (bfloat16 entries as uint16 bits, see ``dtypes``);
    ``tensors`` gives the same entries as torch tensors (importing torch on first use).
    """

    metadata: dict[str, Any]
    arrays: dict[str, Any]
    dtypes: dict[str, str] = field(default_factory=dict)

    @property
    def tensors(self) -> dict[str, torch.Tensor]:
        import torch

        out = {}
        for name, value in self.arrays.items():
            if isinstance(value, torch.Tensor):
                out[name] = value
            elif self.dtypes.get(name) == "bfloat16":
                out[name] = torch.from_numpy(np.array(value)).view(torch.bfloat16)
            else:
                out[name] = torch.from_numpy(np.array(value))
        return out


def write_atomically(path: str | os.PathLike[str], write: Any) -> None:
    """Call ``write(tmp_path)`` and move the result to ``path`` in one rename.

    The file gets the permissions any new file gets (the umask), not mkstemp's 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        _match_folder_permissions(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(
    path: str | os.PathLike[str],
    metadata: dict[str, Any],
    tensors: dict[str, Any],
    *,
    where: str = "state_dict()",
) -> None:
    """Write a checkpoint atomically.

    Args:
        path: the file to write (conventionally ``*.pt``).
        metadata: JSON values (numpy scalars and arrays are converted).
        tensors: named torch tensors or numpy arrays (``Agent.state_dict()``).
        where: names the source of ``tensors`` in messages.

    Raises:
        CheckpointError: a value that cannot be stored, named, before anything is written.
    """
    arrays, dtypes = as_arrays(tensors, where=where)
    header = metadata_json(
        {"format": FORMAT, "format_version": FORMAT_VERSION, "metadata": metadata, "dtypes": dtypes}
    )
    if _HEADER in arrays:
        raise CheckpointError(f"state_dict() may not use the reserved name {_HEADER!r}")
    payload = {_HEADER: np.frombuffer(header.encode("utf-8"), dtype=np.uint8), **arrays}

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:  # a file object: np.savez would append ".npz" to a name
            np.savez(f, **payload)

    write_atomically(path, write)


def as_arrays(values: Any, where: str = "state_dict()") -> tuple[dict[str, np.ndarray], dict]:
    """Named numpy arrays from a ``state_dict`` of torch tensors, numpy arrays or numbers.

    Returns:
        ``(arrays, dtypes)``: bfloat16 tensors become their uint16 bits, named in ``dtypes``.

    Raises:
        CheckpointError: not a mapping of names to numeric arrays, naming the offending entry.
    """
    if not isinstance(values, dict):
        raise CheckpointError(
            f"{where} must return a dict of named tensors or numpy arrays, got "
            f"{type(values).__name__}"
        )
    torch = sys.modules.get("torch")  # a tensor in values means torch is already loaded
    arrays: dict[str, np.ndarray] = {}
    dtypes: dict[str, str] = {}
    for key, value in values.items():
        if not isinstance(key, str):
            raise CheckpointError(f"{where} has a non-string key {key!r}")
        if torch is not None and isinstance(value, torch.Tensor):
            value = value.detach().cpu().contiguous()
            if value.dtype == torch.bfloat16:
                arrays[key] = value.view(torch.int16).numpy().view(np.uint16).copy()
                dtypes[key] = "bfloat16"
            else:
                arrays[key] = value.numpy().copy()
        elif isinstance(value, np.ndarray | np.generic | int | float | bool) and (
            np.asarray(value).dtype.kind in "biuf"
        ):
            arrays[key] = np.array(value)
        else:
            raise CheckpointError(
                f"{where} entry {key!r} is a {type(value).__name__}, which a checkpoint cannot "
                "hold: use torch tensors or numeric numpy arrays (other state goes in "
                "extra_state(), as JSON)"
            )
    return arrays, dtypes


def metadata_json(metadata: dict[str, Any]) -> str:
    """``metadata`` as JSON text; numpy values become plain numbers and lists.

    Raises:
        CheckpointError: naming the value that is not JSON.
    """

    def plain(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            return value.tolist()
        if isinstance(value, np.generic):
            return value.item()
        raise TypeError(f"{type(value).__name__} {value!r:.60}")

    try:
        return json.dumps(metadata, sort_keys=True, default=plain)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(
            f"checkpoint metadata is not JSON ({exc}); extra_state() must return JSON values"
        ) from None


def _match_folder_permissions(path: Path) -> None:
    """mkstemp creates files 0600; give a checkpoint the mode any new file gets (umask)."""
    umask = os.umask(0)
    os.umask(umask)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o666 & ~umask)


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint` (a file, or a run folder's).

    A run folder gives its ``final.pt``, or, for a run that was interrupted, its latest
    ``checkpoint.pt``.

    Raises:
        CheckpointError: the file is missing, truncated, corrupt, or not an rlkit checkpoint;
            the message says what the file looks like instead (a text file, a Stable-Baselines3
            zip, a pickled Python object).
    """
    path = Path(path)
    if path.is_dir():
        path = _run_folder_checkpoint(path)
    if not path.is_file():
        raise CheckpointError(
            f"{str(path)!r} does not exist (an agent argument is a spec such as 'random', a "
            "checkpoint file or a run folder)"
        )
    what = _sniff(path)
    if what == "npz":
        return _load_npz(path)
    if what is not None:
        raise CheckpointError(f"{str(path)!r} is {what}, not an rlkit checkpoint ({_EXPECTED})")
    import torch

    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols: noise here
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(
            f"{str(path)!r} holds pickled Python objects (e.g. a whole torch module), which rlkit "
            f"does not unpickle because unpickling can run code ({_EXPECTED})"
        ) from None
    except Exception as exc:  # torch raises many types for damaged files
        raise CheckpointError(
            f"checkpoint {str(path)!r} is truncated or corrupt ({_first_words(exc)})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(
            f"{str(path)!r} is a torch file but not an rlkit checkpoint ({_EXPECTED})"
        )
    if payload.get("format_version") != 1:
        raise CheckpointError(
            f"checkpoint {str(path)!r} has format version {payload.get('format_version')}, "
            f"this rlkit reads versions 1 and {FORMAT_VERSION}"
        )
    try:
        metadata = json.loads(payload["metadata"])
        tensors = dict(payload["tensors"])
        if not isinstance(metadata, dict):
            raise TypeError
    except (KeyError, TypeError, ValueError):
        raise CheckpointError(f"checkpoint {str(path)!r} has corrupt metadata") from None
    return Checkpoint(metadata, tensors)


def _load_npz(path: Path) -> Checkpoint:
    """Format version 2 (see the module docstring): plain arrays, no pickles, no torch."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except ValueError:  # allow_pickle=False met an object array
        raise CheckpointError(
            f"{str(path)!r} holds pickled Python objects, which rlkit does not unpickle "
            f"because unpickling can run code ({_EXPECTED})"
        ) from None
    except Exception as exc:  # zip and format errors of a damaged file
        raise CheckpointError(
            f"checkpoint {str(path)!r} is truncated or corrupt ({_first_words(exc)})"
        ) from None
    header_bytes = arrays.pop(_HEADER, None)
    if header_bytes is None:
        raise CheckpointError(f"{str(path)!r} is a numpy archive but not an rlkit checkpoint")
    try:
        header = json.loads(header_bytes.tobytes().decode("utf-8"))
        if header.get("format") != FORMAT:
            raise CheckpointError(f"{str(path)!r} is not an rlkit checkpoint")
        if header.get("format_version") != FORMAT_VERSION:
            raise CheckpointError(
                f"checkpoint {str(path)!r} has format version {header.get('format_version')}, "
                f"this rlkit reads versions 1 and {FORMAT_VERSION}"
            )
        metadata, dtypes = header["metadata"], header.get("dtypes", {})
        if not isinstance(metadata, dict) or not isinstance(dtypes, dict):
            raise TypeError
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError):
        raise CheckpointError(f"checkpoint {str(path)!r} has corrupt metadata") from None
    return Checkpoint(metadata, arrays, dtypes)


_EXPECTED = "rlkit expects a .pt file written by `rlkit train` or a run folder"


def _run_folder_checkpoint(folder: Path) -> Path:
    if (folder / "final.pt").is_file():
        return folder / "final.pt"
    if (folder / "checkpoint.pt").is_file():
        return folder / "checkpoint.pt"  # an interrupted run: its latest state
    if (folder / "config.toml").is_file():
        raise CheckpointError(
            f"run folder {str(folder)!r} holds no checkpoint yet (it was stopped before the "
            "first save); start it again with a new --out"
        )
    raise CheckpointError(
        f"{str(folder)!r} is a folder but not a run folder (no final.pt or checkpoint.pt)"
    )


def _sniff(path: Path) -> str | None:
    """What a file that is not a torch checkpoint looks like, from its first bytes."""
    with path.open("rb") as f:
        head = f.read(4096)
    if not head:
        return "an empty file"
    if head.startswith(b"PK"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError):
            return "npz" if _HEADER.encode() in head else None  # let the loader report damage
        if f"{_HEADER}.npy" in names:
            return "npz"
        if "policy.pth" in names or "data" in names:
            return "a Stable-Baselines3 model zip (train it with `rlkit train sb3:PPO ...` instead)"
        if any(n.endswith(".npy") for n in names):
            return "a numpy archive"
        if not any(n.endswith("data.pkl") for n in names):
            return "a zip archive"
        return None
    if head.startswith(b"\x80"):  # a plain pickle (torch's legacy format starts like this too)
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "a text file"


def _first_words(exc: BaseException) -> str:
    """The first sentence of an exception's message, without terminal escapes."""
    import re

    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", str(exc)).strip()
    text = text.splitlines()[0] if text else type(exc).__name__
    sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return sentence if len(sentence) <= 100 else sentence[:97] + "..."


# -- agents in checkpoints ----------------------------------------------------------------------
def agent_metadata(agent_name: str, agent: Any, env_spec: str) -> dict[str, Any]:
    """The JSON part of an agent checkpoint: name, config, spaces or game, extra state."""
    from rlkit import __version__
    from rlkit.game import GameAgent
    from rlkit.specs import config_to_dict, parse_spec

    metadata = {
        "agent": parse_spec(agent_name).name,  # parameters live in "config"
        "config": config_to_dict(agent.config),
        "env": env_spec,
        "rlkit_version": __version__,
        "extra_state": agent.extra_state(),
    }
    if isinstance(agent, GameAgent):  # rebuilt from the game spec in "env"
        metadata["kind"] = "game_agent"
    else:
        metadata["observation_space"] = space_to_dict(agent.observation_space)
        metadata["action_space"] = space_to_dict(agent.action_space)
    return metadata


def save_agent(
    path: str | Path,
    agent_name: str,
    agent: Any,
    *,
    env: str = "",
    training: dict[str, Any] | None = None,
) -> None:
    """Save an agent (weights, config, spaces or game, RNG state) as an rlkit checkpoint.

    Raises:
        CheckpointError: the agent's ``state_dict``/``extra_state`` hold something a checkpoint
            cannot store (named in the message); nothing is written then.
    """
    metadata = agent_metadata(agent_name, agent, env)
    if training is not None:
        metadata["training"] = training
    save_checkpoint(
        path, metadata, agent.state_dict(), where=f"{type(agent).__name__}.state_dict()"
    )


def agent_from_checkpoint(
    checkpoint: Checkpoint,
    *,
    where: str = "checkpoint",
    overrides: dict[str, Any] | None = None,
    device: str | None = None,
    game: Any = None,
) -> Any:
    """Rebuild the agent stored in a loaded checkpoint.

    Args:
        checkpoint: from :func:`load_checkpoint`.
        where: names the checkpoint in messages.
        overrides: config values that do not change the weights' meaning (e.g.
            ``{"simulations": 800}``, ``{"temperature": 0.5}``).
        device: run-time device for agents whose config has one (None keeps the stored one).
        game: for a game agent, the game to rebuild it with (default: from the stored spec).

    Raises:
        CheckpointError: metadata or tensors do not fit the agent they name; the agent's
            module cannot be imported (named as such, not as corruption).
        SpecError: an override the agent's config rejects.
    """
    from rlkit.errors import RlkitError, UnknownNameError
    from rlkit.registry import make_game, resolve_agent_class
    from rlkit.specs import build_config, config_fields

    meta = checkpoint.metadata
    name = meta.get("agent")
    if not isinstance(name, str) or not isinstance(meta.get("config"), dict):
        raise CheckpointError(f"{where} has corrupt metadata (no agent name or config)")
    try:
        cls, _ = resolve_agent_class(name)
    except (UnknownNameError, RlkitError) as exc:
        raise CheckpointError(
            f"{where} was saved by agent {name!r}, which cannot be found here ({exc}); "
            "install or put on the path the module that defines it"
        ) from None
    try:
        config = build_config(cls.Config, meta["config"], owner=name)
    except RlkitError as exc:
        raise CheckpointError(f"{where} has a config its agent rejects: {exc}") from None
    overrides = dict(overrides or {})
    if device is not None and "device" in config_fields(cls.Config):
        overrides["device"] = device
    if overrides:  # a user's mistake here is a SpecError, not a corrupt checkpoint
        config = build_config(cls.Config, overrides, owner=name, base=config)
    try:
        if meta.get("kind") == "game_agent":
            stored_game = make_game(meta["env"])
            from rlkit.builder import same_game

            if game is not None and same_game(game.info, stored_game.info):
                stored_game = game
            agent = cls(config, stored_game)
        else:
            agent = cls(
                config,
                space_from_dict(meta["observation_space"]),
                space_from_dict(meta["action_space"]),
            )
        # Agents that never use torch (tabular ones) get numpy arrays and never import it.
        uses_numpy = getattr(cls, "state_format", "torch") == "numpy"
        agent.load_state_dict(checkpoint.arrays if uses_numpy else checkpoint.tensors)
        agent.load_extra_state(meta.get("extra_state", {}))
    except RlkitError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as exc:
        raise CheckpointError(
            f"{where} does not fit its agent {name!r}: {_first_words(exc)}"
        ) from None
    return agent


# -- spaces as JSON ------------------------------------------------------------------------------
def space_to_dict(space: gym.Space) -> dict[str, Any]:
    """Describe a Gymnasium space in plain JSON values (the kinds agents here consume).

    Raises:
        CheckpointError: for a space type that cannot be described.
    """
    if isinstance(space, gym.spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, gym.spaces.Box):
        return {
            "type": "Box",
            "low": space.low.tolist(),
            "high": space.high.tolist(),
            "shape": list(space.shape),
            "dtype": str(space.dtype),
        }
    if isinstance(space, gym.spaces.MultiBinary):
        return {"type": "MultiBinary", "n": np.asarray(space.n).tolist()}
    if isinstance(space, gym.spaces.MultiDiscrete):
        return {"type": "MultiDiscrete", "nvec": space.nvec.tolist()}
    if isinstance(space, gym.spaces.Dict):
        return {"type": "Dict", "spaces": {k: space_to_dict(s) for k, s in space.spaces.items()}}
    raise CheckpointError(f"cannot store observation/action space {space} in a checkpoint")


def space_from_dict(data: dict[str, Any]) -> gym.Space:
    """Inverse of :func:`space_to_dict`."""
    kind = data.get("type")
    if kind == "Discrete":
        return gym.spaces.Discrete(data["n"], start=data.get("start", 0))
    if kind == "Box":
        dtype = np.dtype(data["dtype"])
        return gym.spaces.Box(
            low=np.asarray(data["low"], dtype=dtype),
            high=np.asarray(data["high"], dtype=dtype),
            shape=tuple(data["shape"]),
            dtype=dtype,
        )
    if kind == "MultiBinary":
        return gym.spaces.MultiBinary(data["n"])
    if kind == "MultiDiscrete":
        return gym.spaces.MultiDiscrete(data["nvec"])
    if kind == "Dict":
        return gym.spaces.Dict({k: space_from_dict(s) for k, s in data["spaces"].items()})
    raise CheckpointError(f"checkpoint describes an unknown space type {kind!r}")
