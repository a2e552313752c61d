"""Shared networks: device resolution, MLPs, AlphaZero-style policy-value nets, batched inference.

Everything here is built without touching torch's global random number generator: layers are
allocated uninitialised and then initialised from an explicit :class:`torch.Generator`, so an
agent seeded with ``seed=S`` always starts from the same weights and leaves the caller's global
RNG stream alone.

Shapes use ``B`` for the batch dimension:

    >>> import torch
    >>> net = MLP(4, (64, 64), 2, generator=torch.Generator().manual_seed(0))
    >>> net(torch.zeros(8, 4)).shape
    torch.Size([8, 2])

Game-playing networks are named by spec strings, like agents (:func:`make_network`)::

    mlp:hidden=256x256                      flatten, two ReLU layers, linear heads
    resnet:blocks=6,channels=64,norm=batch  AlphaZero's residual tower (Silver et al. 2017)
    resnet:blocks=6,channels=64,norm=rezero the same with ReZero instead of batch norm

    >>> net = make_network("resnet:blocks=2,channels=16", (3, 6, 7), 7,
    ...                    generator=torch.Generator().manual_seed(0))
    >>> logits, value = net(torch.zeros(5, 3, 6, 7))
    >>> logits.shape, value.shape
    (torch.Size([5, 7]), torch.Size([5]))

Observations. Board games give channels-first planes ``[C, H, W]`` (``envs/tictactoe.py``
``[3, 3, 3]``, ``envs/connect_four.py`` ``[3, 6, 7]``, ``envs/go.py`` ``[2k+1, N, N]``);
backgammon gives a flat vector (``[198]``). The ``mlp`` family flattens whatever it is given;
the ``resnet`` family needs ``[C, H, W]`` (a ``[H, W]`` board is read as one channel) and
refuses flat observations with a :class:`~rlkit.errors.SpecError`.

Run-time settings. Networks are always built on the CPU in float32; the device, the autocast
dtype (:func:`autocast`), ``channels_last`` and ``torch.compile`` (:func:`prepare_network`) are
chosen when a network is run, never stored as hyper-parameters, and a ``state_dict`` saved from
any device loads on the CPU (:func:`rlkit.checkpoint.save_checkpoint` stores tensors as CPU
arrays; a plain ``torch.save`` of it loads with ``map_location="cpu"``).

Inference. :class:`BatchedEvaluator` is the one place a game-playing network runs a forward
pass: it takes many observations with legal masks, moves them to the device once, and returns
masked priors and scalar values as numpy arrays.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from rlkit.errors import RlkitError, SpecError

Activation = Literal["relu", "tanh", "scaled_tanh"]
Init = Literal["orthogonal", "fan_in"]


class ScaledTanh(nn.Module):
    """``1.7159 * tanh(2x / 3)``: LeCun et al. (1998), "Efficient BackProp", section 4.4.

    The constants make ``f(±1) = ±1`` and keep the gain near 1 around the origin, so inputs of
    unit variance give outputs of roughly unit variance (with fan-in initialisation).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 1.7159 * torch.tanh(x * (2.0 / 3.0))


_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "scaled_tanh": ScaledTanh,
}
# Orthogonal-init gains that keep activations' scale roughly constant through each layer
# (Saxe et al., 2014; the values torch.nn.init.calculate_gain returns). The scaled tanh was
# designed to have unit gain (LeCun et al. 1998).
_GAINS: dict[str, float] = {"relu": math.sqrt(2.0), "tanh": 5.0 / 3.0, "scaled_tanh": 1.0}


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


# -- initialisation --------------------------------------------------------------------------
def init_linear(
    layer: nn.Linear, gain: float, generator: torch.Generator | None = None
) -> nn.Linear:
    """Orthogonal weights scaled by ``gain``, zero bias; returns ``layer`` for chaining.

    Orthogonal initialisation with a small output gain (0.01 for policy logits, 1 for values)
    is the default of most policy-gradient code (e.g. CleanRL, Stable-Baselines3): the initial
    policy is close to uniform and the initial value close to zero. Works for convolutions too
    (the kernel is flattened to ``[out, in * k * k]``).
    """
    with torch.no_grad():
        nn.init.orthogonal_(layer.weight, gain=gain, generator=generator)
        if layer.bias is not None:
            layer.bias.zero_()
    return layer


def init_fan_in(
    layer: nn.Linear | nn.Conv2d, gain: float = 1.0, generator: torch.Generator | None = None
) -> nn.Module:
    """Weights from ``N(0, gain² / fan_in)``, zero bias; returns ``layer``.

    With ``gain=1`` this is LeCun's initialisation (LeCun et al. 1998, "Efficient BackProp",
    section 4.6: standard deviation ``fan_in ** -0.5``, so a unit of unit-variance inputs has
    unit-variance output). ``fan_in`` is the number of inputs of one output unit:
    ``in_features`` for a linear layer, ``in_channels * kh * kw`` for a convolution.
    """
    fan_in = layer.weight[0].numel()
    with torch.no_grad():
        nn.init.normal_(layer.weight, 0.0, gain / math.sqrt(fan_in), generator=generator)
        if layer.bias is not None:
            layer.bias.zero_()
    return layer


def _init(layer: nn.Module, init: str, gain: float, generator: torch.Generator | None) -> nn.Module:
    """Orthogonal with ``gain``, or fan-in normal (LeCun; ``gain`` only scales output layers)."""
    if init == "orthogonal":
        return init_linear(layer, gain, generator)
    return init_fan_in(layer, gain, generator)


def _hidden_gain(activation: str, init: str) -> float:
    """Gain of a hidden layer: the activation's for orthogonal init, 1 for fan-in (LeCun)."""
    return _GAINS[activation] if init == "orthogonal" else 1.0


def _linear(in_features: int, out_features: int, bias: bool = True) -> nn.Linear:
    # skip_init allocates without running nn.Linear's default (global-RNG) initialisation;
    # init_linear fills the weights right after.
    return nn.utils.skip_init(nn.Linear, in_features, out_features, bias=bias)


def _conv(in_channels: int, out_channels: int, kernel: int, bias: bool) -> nn.Conv2d:
    # "same" padding for odd kernels keeps the board size through the tower.
    return nn.utils.skip_init(
        nn.Conv2d, in_channels, out_channels, kernel, padding=kernel // 2, bias=bias
    )


# -- the MLP block ---------------------------------------------------------------------------
def _hidden_layers(
    in_features: int,
    hidden: tuple[int, ...],
    activation: str,
    dropout: float,
    init: str,
    generator: torch.Generator | None,
) -> list[nn.Module]:
    """``[Linear -> activation (-> dropout)]`` for each width in ``hidden`` (of :class:`MLP`
    and the ``mlp`` network family)."""
    layers: list[nn.Module] = []
    size = in_features
    for width in hidden:
        layers.append(_init(_linear(size, width), init, _hidden_gain(activation, init), generator))
        layers.append(_ACTIVATIONS[activation]())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        size = width
    return layers


class MLP(nn.Module):
    """A fully connected network: ``[Linear -> activation (-> dropout)] * len(hidden) -> Linear``.

    Args:
        in_features: size of the input vector.
        hidden: sizes of the hidden layers, e.g. ``(64, 64)``; ``()`` gives a linear model.
        out_features: size of the output vector.
        activation: ``"relu"``, ``"tanh"`` or ``"scaled_tanh"`` (:class:`ScaledTanh`).
        dropout: dropout probability after each hidden activation (0 disables it).
            Dropout draws from torch's global RNG in training mode, so seeded runs that use
            it are only repeatable when the caller seeds torch (:func:`rlkit.supervised.fit`
            does, inside a forked RNG).
        output_gain: gain of the last layer (0.01 for policy logits so the initial policy is
            near uniform, 1.0 for value outputs).
        init: ``"orthogonal"`` (hidden layers get the activation's gain) or ``"fan_in"``
            (LeCun normal ``N(0, 1/fan_in)``, :func:`init_fan_in`).
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
        init: Init = "orthogonal",
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}"
            )
        if init not in ("orthogonal", "fan_in"):
            raise ValueError(f"init must be 'orthogonal' or 'fan_in', got {init!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if in_features < 1 or out_features < 1 or any(h < 1 for h in hidden):
            raise ValueError(
                f"layer sizes must be positive, got in={in_features}, hidden={hidden}, "
                f"out={out_features}"
            )
        layers = _hidden_layers(in_features, hidden, activation, dropout, init, generator)
        size = hidden[-1] if hidden else in_features
        layers.append(_init(_linear(size, out_features), init, output_gain, generator))
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


# -- network specs ---------------------------------------------------------------------------
@dataclass(frozen=True)
class MLPNetConfig:
    """``mlp:...``: flatten the observation, hidden layers, linear policy and value outputs."""

    hidden: tuple[int, ...] = (256, 256)
    """Hidden layer sizes (``256x256``); the last one is the shared feature size."""

    activation: Activation = "relu"
    """``relu``, ``tanh`` or ``scaled_tanh`` (1.7159·tanh(2x/3), LeCun et al. 1998)."""

    init: Init = "orthogonal"
    """``orthogonal`` (Saxe et al. 2014, activation gain) or ``fan_in`` (LeCun normal)."""

    dropout: float = 0.0
    """Dropout probability after each hidden activation (Srivastava et al. 2014)."""

    def __post_init__(self) -> None:
        if not self.hidden or min(self.hidden) < 1:
            raise ValueError(f"hidden must be one or more positive sizes, got {self.hidden}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


@dataclass(frozen=True)
class ResNetConfig:
    """``resnet:...``: AlphaZero's residual tower and heads (Silver et al. 2017, Methods).

    Stem: k×k convolution, normalisation, activation. Each block:
    ``norm=batch``: ``act(x + BN(conv(act(BN(conv(x))))))``;
    ``norm=rezero``: ``x + α·conv(act(conv(x)))`` with a learned scalar ``α`` initialised to 0
    and no normalisation (Bachlechner et al. 2020, "ReZero is all you need"), so every block
    starts as the identity. Policy head: 1×1 convolution to ``policy_channels`` planes,
    norm, activation, fully connected to the action logits. Value head: 1×1 convolution to
    ``value_channels`` planes, norm, activation, fully connected to ``value_hidden`` units,
    activation, fully connected to the value output (tanh for a scalar value).
    """

    blocks: int = 6
    """Number of residual blocks (AlphaZero: 19 or 39)."""

    channels: int = 64
    """Filters of every convolution in the tower (AlphaZero: 256)."""

    norm: Literal["batch", "rezero"] = "batch"
    """``batch`` (batch normalisation, Ioffe & Szegedy 2015) or ``rezero``."""

    kernel: int = 3
    """Side of the tower's square kernels (odd; AlphaZero: 3); at most the board's side."""

    activation: Activation = "relu"
    """Activation of the tower and heads."""

    init: Init = "fan_in"
    """``fan_in`` (LeCun normal, the default) or ``orthogonal``."""

    policy_channels: int = 2
    """Planes of the policy head's 1×1 convolution (AlphaZero: 2)."""

    value_channels: int = 1
    """Planes of the value head's 1×1 convolution (AlphaZero: 1)."""

    value_hidden: int = 256
    """Hidden units of the value head (AlphaZero: 256)."""

    def __post_init__(self) -> None:
        for name in (
            "blocks",
            "channels",
            "kernel",
            "policy_channels",
            "value_channels",
            "value_hidden",
        ):
            minimum = 0 if name == "blocks" else 1  # blocks=0: stem and heads only
            if getattr(self, name) < minimum:
                raise ValueError(f"{name} must be at least {minimum}, got {getattr(self, name)}")
        if self.kernel % 2 == 0:
            raise ValueError(f"kernel must be odd (same padding), got {self.kernel}")


_FAMILIES: dict[str, type] = {"mlp": MLPNetConfig, "resnet": ResNetConfig}


def parse_value_head(value_head: str) -> tuple[str, int]:
    """Split a value-head name into its kind and output size.

    ``"scalar"`` → ``("scalar", 1)``, ``"wdl"`` → ``("wdl", 3)``, ``"multi:K"`` → ``("multi", K)``.

    Raises:
        SpecError: any other text.
    """
    text = value_head.strip().lower()
    if text == "scalar":
        return "scalar", 1
    if text == "wdl":
        return "wdl", 3
    if text.startswith("multi:"):
        count = text.removeprefix("multi:")
        if count.isdigit() and int(count) >= 1:
            return "multi", int(count)
    raise SpecError(
        f"unknown value head {value_head!r}: use 'scalar' (tanh in [-1, 1]), 'wdl' "
        "(win/draw/loss logits) or 'multi:K' (K sigmoid outputs, e.g. multi:2)"
    )


class PolicyValueNet(nn.Module):
    """A body and two heads: ``forward(x) -> (logits [B, A], value)``.

    ``value`` is ``[B]`` in [-1, 1] (tanh) for ``value_head="scalar"``, ``[B, 3]`` logits of
    (win, draw, loss) for ``"wdl"``, and ``[B, K]`` probabilities (sigmoid) for ``"multi:K"``
    (e.g. TD-Gammon's win and gammon probabilities, Tesauro 1995). All from the view of the
    player the observation belongs to. Build one with :func:`make_network`.

    Attributes:
        spec: the spec string it was built from.
        observation_shape: shape of one observation (without the batch dimension).
        num_actions: number of policy logits.
        value_head: ``"scalar"``, ``"wdl"`` or ``"multi:K"``.
        is_conv: whether the body is convolutional (``channels_last`` applies).
    """

    def __init__(
        self,
        body: nn.Module,
        policy: nn.Module,
        value: nn.Module,
        *,
        spec: str,
        observation_shape: tuple[int, ...],
        num_actions: int,
        value_head: str,
        is_conv: bool,
    ) -> None:
        super().__init__()
        self.body, self.policy, self.value = body, policy, value
        self.spec = spec
        self.observation_shape = tuple(observation_shape)
        self.num_actions = num_actions
        self.value_head = value_head
        self.value_kind, self.value_size = parse_value_head(value_head)
        self.is_conv = is_conv

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``[B, *observation_shape]`` → ``(logits [B, A], value [B] | [B, 3] | [B, K])``."""
        features = self.body(x)
        logits = self.policy(features)
        raw = self.value(features)  # [B, value_size]
        if self.value_kind == "scalar":
            return logits, torch.tanh(raw.squeeze(-1))
        if self.value_kind == "multi":
            return logits, torch.sigmoid(raw)
        return logits, raw

    def describe(self) -> dict[str, Any]:
        """What rebuilds this architecture, as JSON values (for checkpoint metadata).

        >>> net = make_network("mlp:hidden=8", (3, 3, 3), 9, value_head="wdl")
        >>> again = make_network(**net.describe())
        >>> again.describe() == net.describe()
        True
        """
        return {
            "spec": self.spec,
            "observation_shape": list(self.observation_shape),
            "num_actions": self.num_actions,
            "value_head": self.value_head,
        }

    def scalar_value(self, value: torch.Tensor) -> torch.Tensor:
        """The value head's output as one number per row in [-1, 1].

        scalar: itself; wdl: ``p(win) - p(loss)``; multi:K: ``2 p_0 - 1`` (output 0 is read as
        the probability of winning).
        """
        if self.value_kind == "scalar":
            return value
        if self.value_kind == "wdl":
            probs = torch.softmax(value.float(), dim=-1)
            return probs[:, 0] - probs[:, 2]
        return 2.0 * value[:, 0] - 1.0


class _Flatten(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], -1)


class _MLPBody(nn.Module):
    """Flatten, then the hidden layers of an :class:`MLP` (``[B, ...] -> [B, hidden[-1]]``)."""

    def __init__(self, in_features: int, config: MLPNetConfig, generator: torch.Generator | None):
        super().__init__()
        hidden = _hidden_layers(
            in_features, config.hidden, config.activation, config.dropout, config.init, generator
        )
        self.layers = nn.Sequential(_Flatten(), *hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class _ConvNormAct(nn.Sequential):
    """Convolution, then batch norm (or nothing: conv with bias) and the activation."""

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel: int,
        config: ResNetConfig,
        generator: torch.Generator | None,
    ) -> None:
        batch = config.norm == "batch"
        gain = _hidden_gain(config.activation, config.init)
        layers: list[nn.Module] = [
            _init(_conv(cin, cout, kernel, not batch), config.init, gain, generator)
        ]
        if batch:
            layers.append(nn.BatchNorm2d(cout))
        layers.append(_ACTIVATIONS[config.activation]())
        super().__init__(*layers)


class _ResidualBlock(nn.Module):
    """AlphaZero's residual block, or its ReZero variant (see :class:`ResNetConfig`)."""

    def __init__(self, config: ResNetConfig, generator: torch.Generator | None) -> None:
        super().__init__()
        c, k, batch = config.channels, config.kernel, config.norm == "batch"
        gain = _hidden_gain(config.activation, config.init)
        self.conv1 = _init(_conv(c, c, k, not batch), config.init, gain, generator)
        self.conv2 = _init(_conv(c, c, k, not batch), config.init, gain, generator)
        self.norm1 = nn.BatchNorm2d(c) if batch else nn.Identity()
        self.norm2 = nn.BatchNorm2d(c) if batch else nn.Identity()
        self.act = _ACTIVATIONS[config.activation]()
        self.rezero = not batch
        if self.rezero:  # Bachlechner et al. 2020: alpha = 0 makes the block the identity
            self.alpha = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch = self.norm2(self.conv2(self.act(self.norm1(self.conv1(x)))))
        if self.rezero:
            return x + self.alpha * branch
        return self.act(x + branch)


class _ResNetBody(nn.Module):
    """Stem and residual blocks: ``[B, C, H, W] -> [B, channels, H, W]``."""

    def __init__(self, in_channels: int, config: ResNetConfig, generator: torch.Generator | None):
        super().__init__()
        self.stem = _ConvNormAct(in_channels, config.channels, config.kernel, config, generator)
        self.blocks = nn.Sequential(
            *(_ResidualBlock(config, generator) for _ in range(config.blocks))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3:  # [B, H, W] boards: one channel
            x = x.unsqueeze(1)
        return self.blocks(self.stem(x))


class _ConvHead(nn.Module):
    """1×1 conv, norm, activation, flatten, then fully connected layers (AlphaZero's heads)."""

    def __init__(
        self,
        config: ResNetConfig,
        planes: int,
        cells: int,
        hidden: int | None,
        out: int,
        output_gain: float,
        generator: torch.Generator | None,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            _ConvNormAct(config.channels, planes, 1, config, generator),
            _Flatten(),
        ]
        size = planes * cells
        if hidden is not None:
            gain = _hidden_gain(config.activation, config.init)
            layers += [
                _init(_linear(size, hidden), config.init, gain, generator),
                _ACTIVATIONS[config.activation](),
            ]
            size = hidden
        layers.append(_init(_linear(size, out), config.init, output_gain, generator))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def make_network(
    spec: str,
    observation_shape: tuple[int, ...],
    num_actions: int,
    *,
    value_head: str = "scalar",
    generator: torch.Generator | None = None,
) -> PolicyValueNet:
    """Build the policy-value network a spec string names, on the CPU in float32.

    Args:
        spec: ``mlp:hidden=256x256,...`` (:class:`MLPNetConfig`) or
            ``resnet:blocks=6,channels=64,norm=batch,...`` (:class:`ResNetConfig`).
        observation_shape: shape of one observation, e.g. ``game.info.observation_shape``.
        num_actions: number of policy logits.
        value_head: ``"scalar"``, ``"wdl"`` or ``"multi:K"`` (see :class:`PolicyValueNet`).
        generator: source of the initial weights; the same generator state gives the same
            weights (None: torch's global RNG).

    Returns:
        The network, in training mode.

    Raises:
        SpecError: an unknown family or parameter (with close matches), a bad value, or a
            network that does not fit the observation (a conv tower on a flat observation, a
            kernel larger than the board).
    """
    from rlkit.specs import build_named_config

    config = build_named_config(
        spec, _FAMILIES, "network", "mlp:hidden=256x256 or resnet:blocks=6,channels=64"
    )
    _, value_size = parse_value_head(value_head)
    shape = tuple(int(s) for s in observation_shape)
    if not shape or min(shape) < 1:
        raise SpecError(f"observation shape {shape} has an empty dimension")
    if num_actions < 1:
        raise SpecError(f"a network needs at least one action, got {num_actions}")
    # Output layers: small policy logits (near-uniform initial policy), unit-gain values.
    if isinstance(config, MLPNetConfig):
        body: nn.Module = _MLPBody(int(np.prod(shape)), config, generator)
        features = config.hidden[-1]
        policy: nn.Module = _init(_linear(features, num_actions), config.init, 0.01, generator)
        value: nn.Module = _init(_linear(features, value_size), config.init, 1.0, generator)
        is_conv = False
    else:
        if len(shape) == 2:
            shape3 = (1, *shape)
        elif len(shape) == 3:
            shape3 = shape
        else:
            raise SpecError(
                f"{spec!r} needs board observations [C, H, W]; this one has shape {shape}: "
                f"use an mlp network (e.g. mlp:hidden=256x256)"
            )
        channels, height, width = shape3
        if config.kernel > min(height, width):
            raise SpecError(
                f"{spec!r}: kernel {config.kernel} is larger than the {height}x{width} board; "
                f"use kernel={min(height, width) - (1 - min(height, width) % 2)} or less"
            )
        cells = height * width
        body = _ResNetBody(channels, config, generator)
        policy = _ConvHead(
            config, config.policy_channels, cells, None, num_actions, 0.01, generator
        )
        value = _ConvHead(
            config, config.value_channels, cells, config.value_hidden, value_size, 1.0, generator
        )
        is_conv = True
    return PolicyValueNet(
        body,
        policy,
        value,
        spec=spec,
        observation_shape=shape,
        num_actions=num_actions,
        value_head=value_head,
        is_conv=is_conv,
    )


# -- run-time settings: autocast, channels_last, compile ----------------------------------------
def cpu_supports_bf16() -> bool:
    """Whether this CPU computes bf16 matrix products natively.

    The rule: oneDNN (``torch.backends.mkldnn``) is available and the CPU has AVX512-BF16 (or
    AMX, which implies it) as torch reports with ``torch.cpu._is_avx512_bf16_supported``.
    Without those instructions oneDNN emulates bf16 by converting to fp32, which is slower than
    plain fp32, so ``autocast="auto"`` stays in fp32 there. Measured on the 2-core AMD EPYC
    (Zen 4, avx512_bf16) of this project: see ``scripts/bench_nn.py``.
    """
    if not torch.backends.mkldnn.is_available():
        return False
    probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    amx = getattr(torch.cpu, "_is_amx_tile_supported", None)
    return bool((probe is not None and probe()) or (amx is not None and amx()))


def autocast_dtype(device: torch.device) -> torch.dtype:
    """The reduced precision for ``device``: bf16 on CPUs and CUDA GPUs that have it, else fp16."""
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return torch.float16
    return torch.bfloat16


@contextlib.contextmanager
def autocast(device: torch.device, enabled: bool | Literal["auto"] = "auto") -> Iterator[None]:
    """Run the block under mixed precision on ``device``, or not.

    Args:
        device: where the network runs.
        enabled: ``True`` (always: bf16, or fp16 on CUDA GPUs without bf16), ``False`` (fp32),
            or ``"auto"``: on CUDA always, on the CPU when :func:`cpu_supports_bf16`.

    Matrix products and convolutions then run in the reduced dtype while reductions and
    softmaxes stay in fp32 (torch's autocast op lists). Outputs may be bf16: cast with
    ``.float()`` before comparing or returning them.
    """
    if enabled == "auto":
        enabled = device.type == "cuda" or (device.type == "cpu" and cpu_supports_bf16())
    if not enabled:
        yield
        return
    with torch.autocast(device_type=device.type, dtype=autocast_dtype(device)):
        yield


def prepare_network(
    net: nn.Module, device: torch.device, *, channels_last: bool = False, compile: bool = False
) -> nn.Module:
    """Move ``net`` to ``device`` (in place) and optionally convert it for speed.

    Args:
        net: the network.
        device: target device.
        channels_last: store 4-d weights as NHWC (``torch.channels_last``), which oneDNN and
            cuDNN convolutions prefer; feed it NHWC inputs too (:class:`BatchedEvaluator` does).
        compile: wrap in ``torch.compile`` (optional; needs a working compiler tool chain).

    Returns:
        ``net`` itself, or its compiled wrapper.
    """
    net.to(device)
    if channels_last:
        net.to(memory_format=torch.channels_last)
    if compile:
        return torch.compile(net)
    return net


# -- batched inference -----------------------------------------------------------------------
class BatchedEvaluator:
    """Priors over legal actions and values for many observations in one forward pass.

    The only place a game-playing network runs: AlphaZero's search and matches between network
    agents call :meth:`evaluate`. Per call: one host-to-device copy of the observations (on
    CUDA through a reusable pinned buffer), the forward pass under ``torch.inference_mode``,
    :func:`autocast` and ``net.eval()``, then one device-to-host copy of ``[logits, value]``;
    the masked softmax runs on the host in float32.

    Args:
        net: a :class:`PolicyValueNet`. It is moved to ``device`` and put in eval mode.
        device: ``"auto"``, a device name, or a :class:`torch.device`.
        autocast: ``"auto"``, ``True`` or ``False`` (see :func:`autocast`).
        channels_last: run a convolutional network in NHWC memory format.
        compile: run it through ``torch.compile``.

        >>> net = make_network("mlp:hidden=8", (2,), 3, generator=torch.Generator().manual_seed(0))
        >>> priors, values = BatchedEvaluator(net, device="cpu").evaluate(
        ...     np.zeros((2, 2), np.float32), np.array([[1, 0, 1], [0, 1, 0]], bool))
        >>> priors[1].tolist(), priors.sum(axis=1).round(6).tolist(), values.shape
        ([0.0, 1.0, 0.0], [1.0, 1.0], (2,))
    """

    def __init__(
        self,
        net: PolicyValueNet,
        *,
        device: str | torch.device = "auto",
        autocast: bool | Literal["auto"] = "auto",
        channels_last: bool = False,
        compile: bool = False,
    ) -> None:
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        self.net = net
        self.autocast = autocast
        self.channels_last = channels_last and net.is_conv
        self._run = prepare_network(
            net, self.device, channels_last=self.channels_last, compile=compile
        )
        self._buffer: torch.Tensor | None = None  # pinned host staging buffer (CUDA only)

    def _to_device(self, observations: np.ndarray) -> torch.Tensor:
        host = torch.from_numpy(observations)
        if self.device.type == "cpu":
            return host
        if self.device.type == "cuda":
            if self._buffer is None or self._buffer.shape[0] < len(observations):
                rows = max(
                    len(observations), 2 * (0 if self._buffer is None else self._buffer.shape[0])
                )
                self._buffer = torch.empty(
                    (rows, *observations.shape[1:]), dtype=torch.float32, pin_memory=True
                )
            staged = self._buffer[: len(observations)]
            staged.copy_(host)
            return staged.to(self.device, non_blocking=True)
        return host.to(self.device)

    def evaluate(
        self, observations: np.ndarray, legal_masks: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Masked priors and scalar values.

        Args:
            observations: float32 ``[B, *observation_shape]``.
            legal_masks: bool ``[B, num_actions]``, True where the action is legal.

        Returns:
            ``priors`` float32 ``[B, num_actions]``: softmax over each row's legal actions,
            zero elsewhere, rows summing to 1; ``values`` float32 ``[B]`` in [-1, 1] for the
            player the observation belongs to (:meth:`PolicyValueNet.scalar_value`).

        Raises:
            ValueError: wrong shapes, or a row without a legal action (named).
        """
        net = self.net
        observations = np.ascontiguousarray(observations, dtype=np.float32)
        legal = np.asarray(legal_masks, dtype=bool)
        if observations.shape[1:] != net.observation_shape:
            raise ValueError(
                f"observations must have shape [B, {', '.join(map(str, net.observation_shape))}]"
                f", got {list(observations.shape)}"
            )
        batch = observations.shape[0]
        if legal.shape != (batch, net.num_actions):
            raise ValueError(
                f"legal_masks must have shape [{batch}, {net.num_actions}], got {list(legal.shape)}"
            )
        empty = np.flatnonzero(~legal.any(axis=1))
        if len(empty):
            raise ValueError(f"row {int(empty[0])} of legal_masks has no legal action")
        if batch == 0:
            return np.zeros((0, net.num_actions), np.float32), np.zeros(0, np.float32)

        x = self._to_device(observations)
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        if net.training:  # eval() walks every module: ~1 ms of a batch-1 call, so only if needed
            net.eval()
        with torch.inference_mode(), autocast(self.device, self.autocast):
            logits, value = self._run(x)
            out = torch.cat(
                [logits.float(), net.scalar_value(value.float()).unsqueeze(1)], dim=1
            ).cpu()  # [B, A + 1]: the one device-to-host copy
        result = out.numpy()
        logits_np, values = result[:, :-1], result[:, -1].copy()
        # Masked softmax in float32 (subtract the legal maximum for stability).
        masked = np.where(legal, logits_np, -np.inf)
        masked -= masked.max(axis=1, keepdims=True)
        priors = np.exp(masked, dtype=np.float32)
        priors /= priors.sum(axis=1, keepdims=True)
        return priors, values
