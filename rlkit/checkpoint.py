"""Checkpoints: an agent's tensors plus JSON metadata, loadable without running pickled code.

File layout (one ``torch.save`` of plain containers)::

    {
        "format": "rlkit-checkpoint",
        "format_version": 1,
        "metadata": "<JSON text>",   # agent name, config, spaces, env, training counters, ...
        "tensors": {name: Tensor},   # Agent.state_dict()
    }

Loading uses ``torch.load(weights_only=True)``, which refuses anything but tensors and plain
Python containers, so a checkpoint from an untrusted source cannot execute code. Files are
written to a temporary name in the same folder and renamed into place, so a crash or Ctrl-C
mid-write never leaves a truncated checkpoint where a good one stood.
"""

from __future__ import annotations

import json
import os
import pickle
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np

if TYPE_CHECKING:  # imported where used: `rlkit list` and `--help` need no torch
    import torch

from rlkit.errors import CheckpointError

FORMAT = "rlkit-checkpoint"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint: metadata (plain JSON values) and named tensors."""

    metadata: dict[str, Any]
    tensors: dict[str, torch.Tensor]


def write_atomically(path: str | os.PathLike[str], write: Any) -> None:
    """Call ``write(tmp_path)`` and move the result to ``path`` in one rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(
    path: str | os.PathLike[str], metadata: dict[str, Any], tensors: dict[str, torch.Tensor]
) -> None:
    """Write a checkpoint atomically. ``metadata`` must be JSON-serialisable."""
    import torch

    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "metadata": json.dumps(metadata, sort_keys=True),
        "tensors": {k: v.detach().cpu().contiguous() for k, v in tensors.items()},
    }
    write_atomically(path, lambda tmp: torch.save(payload, tmp))


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Raises:
        CheckpointError: the file is missing, truncated, corrupt, or not an rlkit checkpoint.
    """
    import torch

    path = Path(path)
    if path.is_dir():
        path = path / "final.pt"
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (
        RuntimeError,
        EOFError,
        OSError,
        ValueError,
        zipfile.BadZipFile,
        pickle.UnpicklingError,
    ) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"checkpoint {str(path)!r} is truncated or corrupt ({reason[:120]})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{str(path)!r} is not an rlkit checkpoint")
    if payload.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {str(path)!r} has format version {payload.get('format_version')}, "
            f"this rlkit reads version {FORMAT_VERSION}"
        )
    try:
        metadata = json.loads(payload["metadata"])
        tensors = dict(payload["tensors"])
    except (KeyError, TypeError, json.JSONDecodeError):
        raise CheckpointError(f"checkpoint {str(path)!r} has corrupt metadata") from None
    return Checkpoint(metadata, tensors)


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
