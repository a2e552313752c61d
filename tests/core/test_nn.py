"""Network blocks: device resolution, MLP shapes and seeded initialisation, heads."""

import numpy as np
import pytest
import torch
from torch import nn

from rlkit.errors import RlkitError
from rlkit.nn import MLP, PolicyHead, ValueHead, resolve_device


def test_resolve_device_cpu_and_auto():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_resolve_device_cuda_unavailable_is_a_clear_error():
    with pytest.raises(RlkitError, match="CUDA is not available"):
        resolve_device("cuda")


def test_resolve_device_rejects_unknown_names():
    with pytest.raises(RlkitError, match="unknown device 'gpu'"):
        resolve_device("gpu")


@pytest.mark.parametrize("hidden", [(), (8,), (16, 8)])
def test_mlp_shapes(hidden):
    net = MLP(5, hidden, 3, generator=torch.Generator().manual_seed(0))
    assert net(torch.zeros(7, 5)).shape == (7, 3)
    assert net(torch.zeros(5)).shape == (3,)
    linear = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert [m.out_features for m in linear] == [*hidden, 3]


def test_mlp_activation_and_dropout_layers():
    net = MLP(4, (8, 8), 2, activation="tanh", dropout=0.1)
    kinds = [type(m) for m in net.layers]
    assert kinds == [nn.Linear, nn.Tanh, nn.Dropout, nn.Linear, nn.Tanh, nn.Dropout, nn.Linear]


def test_mlp_seeded_init_repeats_and_leaves_global_rng_alone():
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()[1].copy()
    a = MLP(4, (32, 32), 2, generator=torch.Generator().manual_seed(3))
    b = MLP(4, (32, 32), 2, generator=torch.Generator().manual_seed(3))
    c = MLP(4, (32, 32), 2, generator=torch.Generator().manual_seed(4))
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(pa, pb), name
    assert not torch.equal(a.layers[0].weight, c.layers[0].weight)
    assert torch.equal(torch_state, torch.get_rng_state())
    assert np.array_equal(np_state, np.random.get_state()[1])


def test_mlp_init_is_orthogonal_with_zero_bias_and_small_output_gain():
    net = MLP(16, (16,), 4, output_gain=0.01, generator=torch.Generator().manual_seed(0))
    first, last = net.layers[0], net.layers[-1]
    gain = 2.0**0.5  # relu
    assert torch.allclose(first.weight @ first.weight.T, gain**2 * torch.eye(16), atol=1e-5)
    assert torch.count_nonzero(first.bias) == 0
    assert last.weight.abs().max() <= 0.01 + 1e-6


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"activation": "gelu"}, "activation"),
        ({"dropout": 1.0}, "dropout"),
        ({"hidden": (0,)}, "positive"),
    ],
)
def test_mlp_rejects_bad_arguments(kwargs, match):
    args = {"in_features": 3, "hidden": (4,), "out_features": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        MLP(args.pop("in_features"), args.pop("hidden"), args.pop("out_features"), **args)


def test_heads():
    gen = torch.Generator().manual_seed(0)
    policy, value = PolicyHead(6, 4, generator=gen), ValueHead(6, generator=gen)
    features = torch.randn(5, 6, generator=gen)
    assert policy(features).shape == (5, 4)
    assert value(features).shape == (5,)
    # Small initial logits: a near-uniform initial policy.
    probs = torch.softmax(policy(features), dim=-1)
    assert torch.allclose(probs, torch.full_like(probs, 0.25), atol=0.05)
