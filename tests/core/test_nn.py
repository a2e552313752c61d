"""Networks: device resolution, MLP shapes and seeded initialisation, heads, policy-value nets
by spec (AlphaZero tower, ReZero), initialisations, autocast, and the batched evaluator."""

import io

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from rlkit.errors import RlkitError, SpecError
from rlkit.nn import (
    MLP,
    BatchedEvaluator,
    PolicyHead,
    ScaledTanh,
    ValueHead,
    autocast,
    cpu_supports_bf16,
    init_fan_in,
    make_network,
    resolve_device,
)


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


# -- policy-value networks by spec -------------------------------------------------------------
SPECS = [
    "mlp:hidden=32x32",
    "mlp:hidden=16,activation=scaled_tanh,init=fan_in,dropout=0.1",
    "resnet:blocks=2,channels=8,norm=batch",
    "resnet:blocks=2,channels=8,norm=rezero,init=orthogonal,activation=tanh",
]


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize(
    ("value_head", "value_shape"), [("scalar", (4,)), ("wdl", (4, 3)), ("multi:2", (4, 2))]
)
def test_network_shapes_and_value_ranges(spec, value_head, value_shape):
    net = make_network(spec, (3, 6, 7), 7, value_head=value_head, generator=gen())
    logits, value = net(torch.randn(4, 3, 6, 7, generator=gen(1)))
    assert logits.shape == (4, 7)
    assert value.shape == value_shape
    if value_head == "scalar":
        assert value.abs().max() <= 1.0
    if value_head == "multi:2":
        assert ((value >= 0) & (value <= 1)).all()
    assert net.scalar_value(value).shape == (4,)


def test_network_seeded_init_repeats_and_leaves_global_rng_alone():
    torch_state = torch.get_rng_state()
    a = make_network("resnet:blocks=1,channels=8", (3, 5, 5), 25, generator=gen(3))
    b = make_network("resnet:blocks=1,channels=8", (3, 5, 5), 25, generator=gen(3))
    c = make_network("resnet:blocks=1,channels=8", (3, 5, 5), 25, generator=gen(4))
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(pa, pb), name
    assert not torch.equal(a.body.stem[0].weight, c.body.stem[0].weight)
    assert torch.equal(torch_state, torch.get_rng_state())


def test_batch_norm_tower_follows_alphazero_layout():
    net = make_network("resnet:blocks=3,channels=16", (17, 9, 9), 82, generator=gen())
    convs = [m for m in net.body.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 1 + 2 * 3  # stem + two per block
    assert all(m.kernel_size == (3, 3) and m.bias is None for m in convs)  # BN carries the bias
    assert sum(isinstance(m, nn.BatchNorm2d) for m in net.modules()) == 1 + 2 * 3 + 2
    # policy: 1x1 conv to 2 planes, FC to the actions; value: 1x1 conv to 1 plane, FC 256, FC 1
    assert net.policy.layers[-1].in_features == 2 * 81
    assert net.policy.layers[-1].out_features == 82
    value_fcs = [m for m in net.value.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in value_fcs] == [(81, 256), (256, 1)]


def test_rezero_blocks_start_as_identity_without_normalisation():
    net = make_network("resnet:blocks=3,channels=8,norm=rezero", (3, 6, 7), 7, generator=gen())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    x = torch.randn(2, 8, 6, 7, generator=gen(1))
    for block in net.body.blocks:
        assert block.alpha.requires_grad and block.alpha.item() == 0.0
        assert torch.equal(block(x), x)
    # alpha is learned: the loss has a gradient with respect to it at initialisation
    logits, value = net(torch.randn(2, 3, 6, 7, generator=gen(2)))
    (logits.sum() + value.sum()).backward()
    assert all(block.alpha.grad is not None and block.alpha.grad != 0 for block in net.body.blocks)


def test_fan_in_init_is_lecun_normal():
    layer = init_fan_in(nn.utils.skip_init(nn.Linear, 400, 300), generator=gen())
    assert abs(float(layer.weight.detach().std()) * 400**0.5 - 1.0) < 0.02
    assert abs(float(layer.weight.detach().mean())) < 0.01 / 400**0.5 * 10
    assert torch.count_nonzero(layer.bias) == 0
    conv = init_fan_in(nn.utils.skip_init(nn.Conv2d, 32, 64, 3), generator=gen())
    assert abs(float(conv.weight.detach().std()) * (32 * 9) ** 0.5 - 1.0) < 0.03


def test_scaled_tanh_constants():
    f = ScaledTanh()
    assert torch.allclose(f(torch.tensor([1.0, -1.0])), torch.tensor([1.0, -1.0]), atol=2e-4)
    assert float(f(torch.tensor(100.0))) == pytest.approx(1.7159)


def test_two_dimensional_boards_read_as_one_channel():
    net = make_network("resnet:blocks=1,channels=4", (6, 7), 7, generator=gen())
    assert net(torch.zeros(2, 6, 7))[0].shape == (2, 7)


@pytest.mark.parametrize(
    ("spec", "shape", "value_head", "match"),
    [
        ("resnt:blocks=2", (3, 6, 7), "scalar", "unknown network 'resnt'; did you mean 'resnet'"),
        ("resnet:chanels=8", (3, 6, 7), "scalar", "did you mean 'channels'"),
        ("resnet:blocks=two", (3, 6, 7), "scalar", "expected int"),
        ("resnet:norm=layer", (3, 6, 7), "scalar", "one of 'batch', 'rezero'"),
        ("resnet:kernel=4", (3, 6, 7), "scalar", "odd"),
        ("resnet", (198,), "scalar", r"needs board observations \[C, H, W\].*mlp"),
        ("resnet:kernel=5", (3, 3, 3), "scalar", "kernel 5 is larger than the 3x3 board"),
        ("mlp:hidden=0", (9,), "scalar", "hidden"),
        ("mlp", (9,), "wld", "unknown value head 'wld'"),
    ],
)
def test_bad_network_specs_are_one_line_spec_errors(spec, shape, value_head, match):
    with pytest.raises(SpecError, match=match) as info:
        make_network(spec, shape, 7, value_head=value_head)
    assert "\n" not in str(info.value)


def test_state_dict_round_trip_through_bytes_loads_on_cpu():
    net = make_network("resnet:blocks=1,channels=8", (3, 6, 7), 7, generator=gen())
    net.train()
    net(torch.randn(8, 3, 6, 7, generator=gen(1)))  # move the BN running statistics
    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)
    buffer.seek(0)
    other = make_network("resnet:blocks=1,channels=8", (3, 6, 7), 7, generator=gen(9))
    other.load_state_dict(torch.load(buffer, map_location="cpu", weights_only=True))
    net.eval(), other.eval()
    x = torch.randn(3, 3, 6, 7, generator=gen(2))
    assert all(torch.equal(a, b) for a, b in zip(net(x), other(x), strict=True))


# -- autocast ------------------------------------------------------------------------------------
def test_autocast_switch():
    cpu = torch.device("cpu")
    a, b = torch.randn(4, 4, generator=gen()), torch.randn(4, 4, generator=gen(1))
    with autocast(cpu, True):
        assert (a @ b).dtype == torch.bfloat16
    with autocast(cpu, False):
        assert (a @ b).dtype == torch.float32
    with autocast(cpu, "auto"):
        expected = torch.bfloat16 if cpu_supports_bf16() else torch.float32
        assert (a @ b).dtype == expected


# -- batched evaluation ----------------------------------------------------------------------------
def _reference(net, observations, legal):
    net.eval()
    with torch.no_grad():
        logits, value = net(torch.from_numpy(observations))
    logits = logits.masked_fill(~torch.from_numpy(legal), -float("inf"))
    return torch.softmax(logits, -1).numpy(), net.scalar_value(value).numpy()


@pytest.mark.parametrize("value_head", ["scalar", "wdl"])
@pytest.mark.parametrize("spec", [SPECS[0], SPECS[2], SPECS[3]])
def test_evaluator_matches_the_network_and_masks(spec, value_head):
    net = make_network(spec, (3, 6, 7), 7, value_head=value_head, generator=gen())
    rng = np.random.default_rng(0)
    observations = rng.random((5, 3, 6, 7), dtype=np.float32)
    legal = rng.random((5, 7)) < 0.5
    legal[:, 3] = True
    priors, values = BatchedEvaluator(net, device="cpu", autocast=False).evaluate(
        observations, legal
    )
    assert priors.dtype == np.float32 and values.dtype == np.float32
    expected_priors, expected_values = _reference(net, observations, legal)
    np.testing.assert_allclose(priors, expected_priors, atol=1e-6)
    np.testing.assert_allclose(values, expected_values, atol=1e-6)
    assert (priors[~legal] == 0).all()
    np.testing.assert_allclose(priors.sum(axis=1), 1.0, atol=1e-6)
    assert not net.training


def test_evaluator_rows_do_not_depend_on_the_batch():
    # Eval mode: batch norm uses its running statistics, so a row's answer is its own.
    net = make_network(SPECS[2], (3, 6, 7), 7, generator=gen())
    evaluator = BatchedEvaluator(net, device="cpu", autocast=False)
    observations = np.random.default_rng(1).random((6, 3, 6, 7), dtype=np.float32)
    legal = np.ones((6, 7), bool)
    priors, values = evaluator.evaluate(observations, legal)
    for i in range(6):
        p, v = evaluator.evaluate(observations[i : i + 1], legal[i : i + 1])
        np.testing.assert_allclose(p[0], priors[i], atol=1e-5)
        np.testing.assert_allclose(v[0], values[i], atol=1e-5)


def test_evaluator_bf16_and_channels_last_stay_close_to_fp32():
    net = make_network("resnet:blocks=2,channels=16", (3, 6, 7), 7, generator=gen())
    observations = np.random.default_rng(2).random((8, 3, 6, 7), dtype=np.float32)
    legal = np.ones((8, 7), bool)
    legal[0, :6] = False
    fp32 = BatchedEvaluator(net, device="cpu", autocast=False).evaluate(observations, legal)
    for kwargs in ({"autocast": True}, {"autocast": False, "channels_last": True}):
        priors, values = BatchedEvaluator(net, device="cpu", **kwargs).evaluate(observations, legal)
        np.testing.assert_allclose(priors, fp32[0], atol=0.02)
        np.testing.assert_allclose(values, fp32[1], atol=0.05)
        np.testing.assert_allclose(priors.sum(axis=1), 1.0, atol=1e-5)
        assert priors[0].tolist() == [0, 0, 0, 0, 0, 0, 1]


def test_evaluator_rejects_rows_without_legal_actions_and_bad_shapes():
    net = make_network("mlp:hidden=8", (3, 3, 3), 9, generator=gen())
    evaluator = BatchedEvaluator(net, device="cpu")
    observations = np.zeros((3, 3, 3, 3), np.float32)
    legal = np.ones((3, 9), bool)
    legal[2] = False
    with pytest.raises(ValueError, match="row 2 of legal_masks has no legal action"):
        evaluator.evaluate(observations, legal)
    with pytest.raises(ValueError, match="observations must have shape"):
        evaluator.evaluate(np.zeros((3, 27), np.float32), np.ones((3, 9), bool))
    with pytest.raises(ValueError, match="legal_masks must have shape"):
        evaluator.evaluate(observations, np.ones((3, 8), bool))


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 6).flatmap(
        lambda b: st.lists(
            st.lists(st.booleans(), min_size=9, max_size=9).filter(any), min_size=b, max_size=b
        )
    ),
    st.integers(0, 2**31 - 1),
)
def test_evaluator_priors_are_a_distribution_over_legal_actions(masks, seed):
    net = make_network("mlp:hidden=8", (3, 3, 3), 9, value_head="wdl", generator=gen())
    legal = np.array(masks, bool)
    observations = np.random.default_rng(seed).random((len(masks), 3, 3, 3), dtype=np.float32)
    priors, values = BatchedEvaluator(net, device="cpu").evaluate(observations, legal)
    assert (priors[~legal] == 0).all() and (priors[legal] > 0).all()
    np.testing.assert_allclose(priors.sum(axis=1), 1.0, atol=1e-5)
    assert ((values >= -1) & (values <= 1)).all()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_evaluator_on_cuda_matches_cpu_and_weights_load_back_on_cpu():
    net = make_network("resnet:blocks=2,channels=16", (3, 6, 7), 7, generator=gen())
    observations = np.random.default_rng(3).random((64, 3, 6, 7), dtype=np.float32)
    legal = np.ones((64, 7), bool)
    cpu = BatchedEvaluator(net, device="cpu", autocast=False).evaluate(observations, legal)
    cuda = BatchedEvaluator(net, device="cuda", autocast=False).evaluate(observations, legal)
    np.testing.assert_allclose(cuda[0], cpu[0], atol=1e-4)
    np.testing.assert_allclose(cuda[1], cpu[1], atol=1e-4)
    half = BatchedEvaluator(net, device="cuda", autocast=True).evaluate(observations, legal)
    np.testing.assert_allclose(half[0], cpu[0], atol=0.02)
    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)  # weights on the GPU now
    buffer.seek(0)
    state = torch.load(buffer, map_location="cpu", weights_only=True)
    assert all(t.device.type == "cpu" for t in state.values())
    make_network("resnet:blocks=2,channels=16", (3, 6, 7), 7).load_state_dict(state)


@pytest.mark.slow
def test_evaluator_through_torch_compile_matches_eager():
    # torch.compile is optional (off by default); ~50 s of compilation on the 2-core CPU.
    net = make_network("resnet:blocks=1,channels=8", (3, 6, 7), 7, generator=gen())
    observations = np.random.default_rng(0).random((4, 3, 6, 7), dtype=np.float32)
    legal = np.ones((4, 7), bool)
    eager = BatchedEvaluator(net, device="cpu", autocast=False).evaluate(observations, legal)
    compiled = BatchedEvaluator(net, device="cpu", autocast=False, compile=True).evaluate(
        observations, legal
    )
    np.testing.assert_allclose(compiled[0], eager[0], atol=1e-6)
    np.testing.assert_allclose(compiled[1], eager[1], atol=1e-6)
