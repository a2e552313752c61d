"""Shared network blocks: device resolution, a multi-layer perceptron, policy and value heads.

Everything here is built without touching torch's global random number generator: layers are
allocated uninitialised and then initialised from an explicit :class:`torch.Generator`, so an
agent seeded with ``seed=S`` always starts from the same weights and leaves the caller's global
RNG stream alone.

Shapes use ``B`` for the batch dimension:

    >>> import torch
    >>> net = MLP(4, (64, 64), 2, generator=torch.Generator().manual_seed(0))
    >>> net(torch.zeros(8, 4)).shape
    torch.Size([8, 2])
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from rlkit.errors import RlkitError

Activation = Literal["relu", "tanh"]

_ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh}
# Orthogonal-init gains that keep activations' scale roughly constant through each layer
# (Saxe et al., 2014; the values torch.nn.init.calculate_gain returns).
_GAINS: dict[str, float] = {"relu": math.sqrt(2.0), "tanh": 5.0 / 3.0}


def resolve_device(name: str) -> torch.device:
    """Turn a device name from a config into a :class:`torch.device`.

    Args:
        name: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"``
            or any other name torch understands (e.g. ``"mps"``).

    Returns:
        The device.

    Raises:
        RlkitError: the name is not a device, or CUDA is asked for but not available.

        >>> resolve_device("cpu")
        device(type='cpu')
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise RlkitError(
            f"unknown device {name!r}: use 'auto', 'cpu', 'cuda' or 'cuda:N'"
        ) from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RlkitError(
                f"device {name!r} asked for, but CUDA is not available "
                "(torch was built without it or no GPU is visible); use device=cpu or auto"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise RlkitError(
                f"device {name!r} asked for, but only {torch.cuda.device_count()} "
                "CUDA device(s) are visible"
            )
    return device


def init_linear(
    layer: nn.Linear, gain: float, generator: torch.Generator | None = None
) -> nn.Linear:
    """Orthogonal weights scaled by ``gain``, zero bias; returns ``layer`` for chaining.

    Orthogonal initialisation with a small output gain (0.01 for policy logits, 1 for values)
    is the default of most policy-gradient code (e.g. CleanRL, Stable-Baselines3): the initial
    policy is close to uniform and the initial value close to zero.
    """
    with torch.no_grad():
        nn.init.orthogonal_(layer.weight, gain=gain, generator=generator)
        if layer.bias is not None:
            layer.bias.zero_()
    return layer


def _linear(in_features: int, out_features: int) -> nn.Linear:
    # skip_init allocates without running nn.Linear's default (global-RNG) initialisation;
    # init_linear fills the weights right after.
    return nn.utils.skip_init(nn.Linear, in_features, out_features)


class MLP(nn.Module):
    """A fully connected network: ``[Linear -> activation (-> dropout)] * len(hidden) -> Linear``.

    Args:
        in_features: size of the input vector.
        hidden: sizes of the hidden layers, e.g. ``(64, 64)``; ``()`` gives a linear model.
        out_features: size of the output vector.
        activation: ``"relu"`` or ``"tanh"``.
        dropout: dropout probability after each hidden activation (0 disables it).
            Dropout draws from torch's global RNG in training mode, so seeded runs that use
            it are only repeatable when the caller seeds torch.
        output_gain: orthogonal-init gain of the last layer (0.01 for policy logits so the
            initial policy is near uniform, 1.0 for value outputs).
        generator: source of the initial weights (None: torch's global RNG).

    Shapes:
        input ``[B, in_features]`` (or ``[in_features]``), output ``[B, out_features]``.
    """

    def __init__(
        self,
        in_features: int,
        hidden: tuple[int, ...],
        out_features: int,
        *,
        activation: Activation = "relu",
        dropout: float = 0.0,
        output_gain: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if in_features < 1 or out_features < 1 or any(h < 1 for h in hidden):
            raise ValueError(
                f"layer sizes must be positive, got in={in_features}, hidden={hidden}, "
                f"out={out_features}"
            )
        layers: list[nn.Module] = []
        size = in_features
        for width in hidden:
            layers.append(init_linear(_linear(size, width), _GAINS[activation], generator))
            layers.append(_ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            size = width
        layers.append(init_linear(_linear(size, out_features), output_gain, generator))
        self.layers = nn.Sequential(*layers)
        self.in_features = in_features
        self.out_features = out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``[B, in_features]`` to ``[B, out_features]``."""
        return self.layers(x)


class PolicyHead(nn.Module):
    """Linear map from features to action logits (``[B, F] -> [B, num_actions]``).

    Initialised with gain 0.01, so the softmax policy starts close to uniform.
    """

    def __init__(
        self, in_features: int, num_actions: int, *, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        self.linear = init_linear(_linear(in_features, num_actions), 0.01, generator)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Logits ``[B, num_actions]``."""
        return self.linear(features)


class ValueHead(nn.Module):
    """Linear map from features to one scalar value per row (``[B, F] -> [B]``)."""

    def __init__(self, in_features: int, *, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.linear = init_linear(_linear(in_features, 1), 1.0, generator)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Values ``[B]``."""
        return self.linear(features).squeeze(-1)
