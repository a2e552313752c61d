"""The supervised trainer measured against what each piece is for: momentum and Nesterov beat
plain SGD on an ill-conditioned quadratic, L1 gives exact zeros, L2 shrinks weights, dropout and
input noise narrow the generalisation gap, early stopping restores the best epoch, Rprop solves a
full batch, an MLP learns exact tic-tac-toe values; plus determinism, exact resume, losses,
schedules, optimiser checkpoints and one-line errors."""

from __future__ import annotations

import json
import math
import signal

import numpy as np
import pytest
import torch

from rlkit.checkpoint import load_checkpoint, save_checkpoint
from rlkit.errors import CheckpointError, SpecError
from rlkit.nn import MLP, make_network
from rlkit.specs import build_config
from rlkit.supervised import (
    CosineSchedule,
    StepSchedule,
    TrainerConfig,
    WarmupSchedule,
    bce,
    cross_entropy,
    fit,
    kl_to_reference,
    load_optimizer_state,
    make_optimizer,
    mse,
    optimizer_state_tensors,
    parse_schedule,
    soft_cross_entropy,
    weighted_sum,
)


@pytest.fixture(autouse=True)
def one_thread():
    # Small networks: one thread is faster than two fighting over a shared machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def regression_loss(model, batch):
    return mse(model(batch["x"]).squeeze(-1), batch["y"]), {}


def loss_on(model, data) -> float:
    model.eval()
    with torch.no_grad():
        batch = {k: torch.from_numpy(v) for k, v in data.items()}
        return float(regression_loss(model, batch)[0])


# -- optimisers ------------------------------------------------------------------------------------
def ill_conditioned():
    """Linear regression whose loss Hessian 2·E[x xᵀ] has eigenvalues 2 (bias, x0) and 200
    (x1): condition number 100. Noise free, so the minimum loss is 0."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 2))
    x = ((x - x.mean(0)) / x.std(0) * [1.0, 10.0]).astype(np.float32)
    y = (x @ np.array([1.0, -0.5]) + 0.3).astype(np.float32)
    return {"x": x, "y": y}


def steps_to(optimizer: str, target: float, epochs: int = 800) -> int | None:
    """Full-batch steps until the loss is below ``target`` (one step per epoch)."""
    model = MLP(2, (), 1, generator=gen())
    config = TrainerConfig(epochs=epochs, batch_size=256, optimizer=optimizer)
    result = fit(model, regression_loss, ill_conditioned(), config, progress=False)
    losses = [row["train_loss"] for row in result.history]  # loss before each step
    return next((i for i, loss in enumerate(losses) if loss < target), None)


def test_momentum_and_nesterov_beat_plain_sgd_on_an_ill_conditioned_quadratic():
    # lr = 0.004 is stable for the stiff direction (lr * 200 < 2); the flat one is slow.
    target = 1e-6
    plain = steps_to("sgd:lr=0.004", target)
    momentum = steps_to("sgd:lr=0.004,momentum=0.9", target)
    nesterov = steps_to("sgd:lr=0.004,momentum=0.9,nesterov=true", target)
    assert plain is not None and momentum is not None and nesterov is not None
    # measured: 711, 110 and 71 steps
    assert momentum < plain / 3
    assert nesterov < momentum
    assert (plain, momentum, nesterov) == (711, 110, 71)


def test_rprop_converges_on_a_full_batch_and_refuses_minibatches():
    steps = steps_to("rprop:lr=0.01", 1e-6, epochs=200)
    assert steps is not None and steps < 60  # measured: 32
    model = MLP(2, (), 1, generator=gen())
    config = TrainerConfig(epochs=1, batch_size=64, optimizer="rprop")
    with pytest.raises(SpecError, match=r"rprop works on full batches only.*batch_size >= 256"):
        fit(model, regression_loss, ill_conditioned(), config, progress=False)


@pytest.mark.parametrize(
    "optimizer",
    ["adam:lr=0.05", "adamw:lr=0.05,weight_decay=0.001", "rmsprop:lr=0.01", "sgd:lr=0.004"],
)
def test_every_optimizer_fits_the_regression(optimizer):
    model = MLP(2, (), 1, generator=gen())
    config = TrainerConfig(epochs=30, batch_size=32, optimizer=optimizer)
    result = fit(model, regression_loss, ill_conditioned(), config, progress=False)
    assert result.history[-1]["train_loss"] < 0.01 * result.history[0]["train_loss"]


# -- penalties -------------------------------------------------------------------------------------
def sparse_regression():
    """20 features, 3 of them relevant, noisy targets."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((200, 20)).astype(np.float32)
    w = np.zeros(20)
    w[:3] = [2.0, -1.5, 1.0]
    y = (x @ w + 0.5 * rng.standard_normal(200)).astype(np.float32)
    return {"x": x, "y": y}


def fitted_weights(**penalty) -> np.ndarray:
    model = MLP(20, (), 1, generator=gen())
    # Full batch: ISTA (proximal gradient) converges to the lasso solution itself.
    config = TrainerConfig(epochs=300, batch_size=200, optimizer="sgd:lr=0.1", **penalty)
    fit(model, regression_loss, sparse_regression(), config, progress=False)
    return model.layers[0].weight.detach().numpy().ravel()


def test_l1_gives_exact_zeros_that_l2_does_not_and_l2_shrinks_the_norm():
    plain, l1, l2 = fitted_weights(), fitted_weights(l1=0.1), fitted_weights(l2=0.1)
    assert np.count_nonzero(plain == 0) == 0
    assert np.count_nonzero(l2 == 0) == 0
    assert np.count_nonzero(l1[3:] == 0) >= 15  # most irrelevant weights exactly zero
    assert np.all(l1[:3] != 0)  # the relevant ones survive
    assert np.linalg.norm(l2) < 0.95 * np.linalg.norm(plain)  # measured: 2.450 vs 2.722


def test_penalties_skip_biases():
    # A huge L1 zeroes every weight but leaves the bias free to fit the mean of y.
    data = {"x": np.zeros((64, 3), np.float32), "y": np.full(64, 2.0, np.float32)}
    model = MLP(3, (), 1, generator=gen())
    config = TrainerConfig(epochs=200, batch_size=64, optimizer="sgd:lr=0.1", l1=100.0, l2=1.0)
    fit(model, regression_loss, data, config, progress=False)
    assert np.count_nonzero(model.layers[0].weight.detach().numpy()) == 0
    assert model.layers[0].bias.item() == pytest.approx(2.0, abs=1e-4)


# -- generalisation: dropout, input noise, early stopping ------------------------------------------
def noisy_curve(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    x = rng.uniform(-2, 2, (n, 1)).astype(np.float32)
    y = (np.sin(2 * x[:, 0]) + 0.3 * rng.standard_normal(n)).astype(np.float32)
    return {"x": x, "y": y}


@pytest.fixture(scope="module")
def curve():
    rng = np.random.default_rng(0)
    return noisy_curve(32, rng), noisy_curve(1000, rng)


def generalisation_gap(curve, dropout: float = 0.0, noise: float = 0.0) -> float:
    """Held-out minus training loss (both in eval mode) after fitting 32 noisy points with a
    256x256 MLP for 1,500 full-batch steps, long enough to overfit."""
    train, held_out = curve
    model = MLP(1, (256, 256), 1, dropout=dropout, generator=gen())
    config = TrainerConfig(epochs=1500, batch_size=32, optimizer="adam:lr=1e-2", input_noise=noise)
    fit(model, regression_loss, train, config, progress=False)
    return loss_on(model, held_out) - loss_on(model, train)


def test_dropout_and_input_noise_narrow_the_generalisation_gap(curve):
    plain = generalisation_gap(curve)
    dropout = generalisation_gap(curve, dropout=0.3)
    noise = generalisation_gap(curve, noise=0.3)
    # measured: 0.151, 0.085, 0.038
    assert dropout < 0.75 * plain
    assert noise < 0.5 * plain


def test_early_stopping_stops_after_patience_and_restores_the_best_weights(curve):
    train, held_out = curve
    model = MLP(1, (256, 256), 1, generator=gen())
    config = TrainerConfig(epochs=2000, batch_size=32, optimizer="adam:lr=1e-2", early_stopping=50)
    result = fit(model, regression_loss, train, config, validation=held_out, progress=False)
    val = [row["val_loss"] for row in result.history]
    assert result.stopped_early
    assert result.best_epoch == 1 + int(np.argmin(val))
    assert result.epochs_run == result.best_epoch + 50 < 2000
    assert result.best_val_loss == min(val)
    assert loss_on(model, held_out) == pytest.approx(min(val), rel=1e-5)  # restored weights
    assert min(val) < val[-1]


# -- exact tic-tac-toe values ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def tictactoe_values():
    """Every reachable position, labelled win (0) / draw (1) / loss (2) for the player to move
    by the project's minimax (terminal positions by their returns)."""
    from rlkit.agents.minimax import Minimax, MinimaxConfig
    from rlkit.envs.tictactoe import TicTacToe

    game = TicTacToe()
    solver = Minimax(MinimaxConfig(), game, seed=0)
    seen: dict = {}
    stack = [game.initial_state()]
    while stack:
        state = stack.pop()
        if state in seen:
            continue
        seen[state] = None
        if not game.is_terminal(state):
            stack.extend(game.apply(state, a) for a in game.legal_actions(state))
    observations, labels, terminal = [], [], 0
    for state in seen:
        if game.is_terminal(state):
            value = game.returns(state)[state.to_move]
            terminal += 1
        else:
            value = solver.value(state)
        labels.append(0 if value > 0 else 1 if value == 0 else 2)
        observations.append(game.observation(state, state.to_move))
    return np.stack(observations), np.array(labels), terminal


def test_tictactoe_has_5478_reachable_positions(tictactoe_values):
    _, labels, terminal = tictactoe_values
    assert len(labels) == 5478 and len(labels) - terminal == 4520
    assert np.bincount(labels).tolist() == [2836, 1068, 1574]


def test_mlp_learns_exact_tictactoe_values(tictactoe_values):
    observations, labels, _ = tictactoe_values
    order = np.random.default_rng(0).permutation(len(labels))
    cut = int(0.8 * len(labels))
    train = {"x": observations[order[:cut]], "y": labels[order[:cut]]}
    test = {"x": observations[order[cut:]], "y": labels[order[cut:]]}

    def loss_fn(model, batch):
        _, wdl = model(batch["x"])
        accuracy = (wdl.argmax(dim=1) == batch["y"]).float().mean()
        return cross_entropy(wdl, batch["y"]), {"accuracy": float(accuracy)}

    net = make_network("mlp:hidden=128x128", (3, 3, 3), 9, value_head="wdl", generator=gen())
    config = TrainerConfig(
        epochs=150,
        batch_size=64,
        optimizer="adam:lr=3e-3",
        validation_fraction=0.1,
        early_stopping=20,
    )
    result = fit(net, loss_fn, train, config, progress=False)
    with torch.no_grad():
        _, wdl = net(torch.from_numpy(test["x"]))
    accuracy = float((wdl.argmax(dim=1).numpy() == test["y"]).mean())
    print(f"tic-tac-toe held-out accuracy {accuracy:.4f}, best epoch {result.best_epoch}")
    assert accuracy >= 0.90  # measured: 0.9608, early stopping at epoch 54, best epoch 34
    assert result.stopped_early


# -- determinism and resume ------------------------------------------------------------------------
def board_data(n: int = 96):
    rng = np.random.default_rng(5)
    x = (rng.random((n, 3, 4, 4)) < 0.3).astype(np.float32)
    return {
        "x": x,
        "policy": rng.dirichlet(np.ones(16), n).astype(np.float32),
        "z": rng.uniform(-1, 1, n).astype(np.float32),
        "legal": np.ones((n, 16), bool),
    }


def policy_value_loss(model, batch):
    logits, value = model(batch["x"])
    return weighted_sum(
        {
            "policy": soft_cross_entropy(logits, batch["policy"], batch["legal"]),
            "value": mse(value, batch["z"]),
        }
    )


RESUME_CONFIG = TrainerConfig(
    epochs=4,
    batch_size=16,
    optimizer="adam:lr=3e-3",
    schedule="cosine:warmup=5",
    l1=1e-4,
    l2=1e-4,
    input_noise=0.1,
    standardize=True,
    grad_clip=1.0,
    validation_fraction=0.25,
    early_stopping=3,
    seed=7,
)
RESUME_NET = "resnet:blocks=1,channels=8,kernel=3,value_hidden=16"


def resume_net():
    # batch norm (running statistics), and an MLP-side dropout is exercised by the next test
    return make_network(RESUME_NET, (3, 4, 4), 16, generator=gen(11))


def weights(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].numpy().tobytes() == b[key].numpy().tobytes(), key


def test_same_seed_same_weights_byte_for_byte_and_global_rng_untouched():
    data = board_data()
    before = torch.get_rng_state()
    runs = []
    for seed in (7, 7, 8):
        model = make_network("mlp:hidden=32x32,dropout=0.2", (3, 4, 4), 16, generator=gen(seed))
        config = build_config(TrainerConfig, {"seed": seed}, owner="trainer", base=RESUME_CONFIG)
        fit(model, policy_value_loss, data, config, progress=False)
        runs.append(weights(model))
    assert_same_weights(runs[0], runs[1])
    assert any(not torch.equal(runs[0][k], runs[2][k]) for k in runs[0])
    assert torch.equal(before, torch.get_rng_state())


class Crash(Exception):
    pass


def timeless(history: list[dict]) -> list[dict]:
    return [
        {k: v for k, v in row.items() if k not in ("seconds", "samples_per_s")} for row in history
    ]


def test_resume_after_an_epoch_reproduces_the_uninterrupted_run(tmp_path):
    data = board_data()
    model = resume_net()
    reference = fit(
        model, policy_value_loss, data, RESUME_CONFIG, run_dir=tmp_path / "a", progress=False
    )
    expected = weights(model)

    calls = {"n": 0}
    batches_per_epoch = math.ceil(72 / 16)

    def crashing_loss(model, batch):
        if model.training:
            calls["n"] += 1
            if calls["n"] == 2 * batches_per_epoch + 1:  # first batch of epoch 3
                raise Crash
        return policy_value_loss(model, batch)

    model = resume_net()
    with pytest.raises(Crash):
        fit(model, crashing_loss, data, RESUME_CONFIG, run_dir=tmp_path / "b", progress=False)
    saved = load_checkpoint(tmp_path / "b" / "trainer.pt")
    assert saved.metadata["state"]["epoch"] == 2
    model = resume_net()
    result = fit(
        model,
        policy_value_loss,
        data,
        RESUME_CONFIG,
        run_dir=tmp_path / "b",
        progress=False,
        resume=True,
    )
    assert_same_weights(expected, weights(model))
    assert timeless(result.history) == timeless(reference.history)
    lines = (tmp_path / "b" / "metrics.csv").read_text().splitlines()
    assert len(lines) == 1 + result.epochs_run
    assert lines[0].startswith("epoch,steps,lr,train_loss,val_loss")


def test_ctrl_c_mid_epoch_saves_and_resume_is_exact(tmp_path):
    data = board_data()
    model = resume_net()
    fit(model, policy_value_loss, data, RESUME_CONFIG, progress=False)
    expected = weights(model)

    calls = {"n": 0}

    def interrupted_loss(model, batch):
        if model.training:
            calls["n"] += 1
            if calls["n"] == 7:  # in the middle of epoch 2
                signal.raise_signal(signal.SIGINT)
        return policy_value_loss(model, batch)

    model = resume_net()
    with pytest.raises(KeyboardInterrupt):
        fit(model, interrupted_loss, data, RESUME_CONFIG, run_dir=tmp_path, progress=False)
    state = load_checkpoint(tmp_path / "trainer.pt").metadata["state"]
    assert (state["epoch"], state["batch"]) == (1, 2)
    model = resume_net()
    fit(
        model, policy_value_loss, data, RESUME_CONFIG, run_dir=tmp_path, progress=False, resume=True
    )
    assert_same_weights(expected, weights(model))


def test_resume_refuses_another_configuration(tmp_path):
    data = board_data()
    fit(resume_net(), policy_value_loss, data, RESUME_CONFIG, run_dir=tmp_path, progress=False)
    other = build_config(TrainerConfig, {"optimizer": "sgd:lr=0.1"}, owner="t", base=RESUME_CONFIG)
    with pytest.raises(CheckpointError, match="differs in optimizer"):
        fit(
            resume_net(),
            policy_value_loss,
            data,
            other,
            run_dir=tmp_path,
            resume=True,
            progress=False,
        )
    with pytest.raises(CheckpointError, match="does not fit this model"):
        fit(
            make_network("mlp:hidden=8", (3, 4, 4), 16),
            policy_value_loss,
            data,
            RESUME_CONFIG,
            run_dir=tmp_path,
            resume=True,
            progress=False,
        )


def test_standardize_uses_the_training_split_and_is_stored(tmp_path):
    rng = np.random.default_rng(0)
    data = {"x": (5 + 3 * rng.standard_normal((100, 4))).astype(np.float32)}
    data["y"] = data["x"].sum(axis=1)
    seen = []

    def loss_fn(model, batch):
        if model.training:
            seen.append(batch["x"].detach().clone())
        return regression_loss(model, batch)

    config = TrainerConfig(epochs=1, batch_size=100, standardize=True, validation_fraction=0.2)
    result = fit(
        MLP(4, (), 1, generator=gen()), loss_fn, data, config, run_dir=tmp_path, progress=False
    )
    x = torch.cat(seen)
    assert len(x) == 80  # the training split only
    assert torch.allclose(x.mean(0), torch.zeros(4), atol=1e-5)
    assert torch.allclose(x.std(0, unbiased=False), torch.ones(4), atol=1e-4)
    tensors = load_checkpoint(tmp_path / "trainer.pt").tensors
    np.testing.assert_array_equal(tensors["standardizer.mean"].numpy(), result.standardizer.mean)
    np.testing.assert_allclose(result.standardizer.apply(data["x"]).std(0), 1.0, atol=0.15)


# -- losses ----------------------------------------------------------------------------------------
def test_losses_against_hand_computed_values():
    logits = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 5.0]])
    mask = torch.tensor([[True, True, False], [True, True, True]])
    target = torch.tensor([1, 2])
    legal_logits = torch.tensor([1.0, 2.0])
    expected_row0 = -torch.log_softmax(legal_logits, 0)[1]
    expected_row1 = -torch.log_softmax(logits[1], 0)[2]
    assert float(cross_entropy(logits, target, mask)) == pytest.approx(
        float((expected_row0 + expected_row1) / 2), rel=1e-6
    )
    probs = torch.tensor([[0.25, 0.75, 0.0], [0.0, 0.0, 1.0]])
    soft = soft_cross_entropy(logits, probs, mask)
    manual = (
        -(
            0.25 * torch.log_softmax(legal_logits, 0)[0]
            + 0.75 * torch.log_softmax(legal_logits, 0)[1]
        )
        + expected_row1
    )
    assert float(soft) == pytest.approx(float(manual / 2), rel=1e-6)
    assert float(
        soft_cross_entropy(logits, torch.nn.functional.one_hot(target, 3).float(), mask)
    ) == pytest.approx(float(cross_entropy(logits, target, mask)))
    assert float(mse(torch.tensor([1.0, 3.0]), torch.tensor([0.0, 0.0]))) == 5.0
    assert float(bce(torch.tensor([0.0]), torch.tensor([1.0]))) == pytest.approx(math.log(2))


def test_kl_to_reference_direction_and_mask():
    ref = torch.tensor([[0.0, 1.0, 2.0, 50.0]])
    mask = torch.tensor([[True, True, True, False]])
    assert float(kl_to_reference(ref, ref, mask)) == pytest.approx(0.0, abs=1e-7)
    logits = torch.tensor([[1.0, 0.0, 0.0, -50.0]], requires_grad=True)
    p_ref = torch.softmax(ref[0, :3], 0)
    p = torch.softmax(logits[0, :3].detach(), 0)
    expected = float((p_ref * (p_ref.log() - p.log())).sum())  # KL(π_ref ‖ π)
    kl = kl_to_reference(logits, ref, mask)
    assert float(kl.detach()) == pytest.approx(expected, rel=1e-5)
    kl.backward()
    assert logits.grad[0, 3] == 0  # the illegal action does not take part


def test_weighted_sum_weights_terms():
    loss, metrics = weighted_sum({"a": torch.tensor(2.0), "b": torch.tensor(4.0)}, {"b": 0.25})
    assert float(loss) == 3.0 and metrics == {"a": 2.0, "b": 4.0}
    with pytest.raises(ValueError, match="unknown loss terms"):
        weighted_sum({"a": torch.tensor(1.0)}, {"c": 1.0})


# -- schedules -------------------------------------------------------------------------------------
def test_schedule_factors():
    assert [StepSchedule(every=2, gamma=0.5).factor(s, 10, 100) for s in (0, 19, 20, 45)] == [
        1.0,
        1.0,
        0.5,
        0.25,
    ]
    cosine = CosineSchedule(warmup=10, min=0.1)
    assert cosine.factor(0, 10, 110) == pytest.approx(0.1)
    assert cosine.factor(9, 10, 110) == pytest.approx(1.0)
    assert cosine.factor(10, 10, 110) == pytest.approx(1.0)
    assert cosine.factor(60, 10, 110) == pytest.approx(0.55)
    assert cosine.factor(110, 10, 110) == pytest.approx(0.1)
    assert WarmupSchedule(steps=4).factor(1, 1, 100) == 0.5
    assert parse_schedule("cosine:warmup=500") == CosineSchedule(warmup=500)


def test_learning_rate_in_the_history_follows_the_schedule():
    config = TrainerConfig(
        epochs=4, batch_size=64, optimizer="sgd:lr=0.1", schedule="step:every=2,gamma=0.5"
    )
    result = fit(
        MLP(2, (), 1, generator=gen()), regression_loss, ill_conditioned(), config, progress=False
    )
    assert [row["lr"] for row in result.history] == [0.1, 0.1, 0.05, 0.05]
    assert [row["steps"] for row in result.history] == [4, 8, 12, 16]


# -- optimiser checkpoints -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "spec", ["adam:lr=0.01", "sgd:lr=0.1,momentum=0.9", "sgd:lr=0.1", "rprop", "rmsprop"]
)
def test_optimizer_state_round_trips_with_all_param_groups(tmp_path, spec):
    model = MLP(3, (4,), 2, generator=gen())
    optimizer = make_optimizer(
        spec,
        [
            {"params": model.layers[0].parameters(), "lr": 0.123},
            {"params": model.layers[2].parameters()},
        ],
    )
    for _ in range(3):
        optimizer.zero_grad()
        model(torch.ones(5, 3)).sum().backward()
        optimizer.step()
    tensors, meta = optimizer_state_tensors(optimizer, "opt")
    save_checkpoint(tmp_path / "c.pt", {"opt": meta}, tensors)
    loaded = load_checkpoint(tmp_path / "c.pt")
    fresh = make_optimizer(
        spec,
        [
            {"params": model.layers[0].parameters()},
            {"params": model.layers[2].parameters()},
        ],
    )
    used = load_optimizer_state(
        fresh, loaded.tensors, "opt", json.loads(json.dumps(loaded.metadata["opt"]))
    )
    assert used == set(tensors)
    a, b = optimizer.state_dict(), fresh.state_dict()
    assert a["param_groups"] == b["param_groups"]
    assert a["param_groups"][0]["lr"] == 0.123
    for index, state in a["state"].items():
        for key, value in state.items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(b["state"][index][key]))


def test_reinforce_checkpoint_keeps_param_groups_and_loads_old_ones():
    import gymnasium as gym

    from rlkit.agents.reinforce import Reinforce, ReinforceConfig

    spaces = (gym.spaces.Box(-1, 1, (4,), np.float32), gym.spaces.Discrete(2))
    agent = Reinforce(ReinforceConfig(), *spaces, seed=0)
    agent.policy_optimizer.param_groups[0]["lr"] = 0.0042
    tensors, extra = agent.state_dict(), json.loads(json.dumps(agent.extra_state()))
    other = Reinforce(ReinforceConfig(), *spaces, seed=1)
    other.load_state_dict(tensors)
    other.load_extra_state(extra)
    assert other.policy_optimizer.param_groups[0]["lr"] == 0.0042
    old = {k: v for k, v in extra.items() if k != "optimizers"}  # written before param_groups
    legacy = Reinforce(ReinforceConfig(), *spaces, seed=1)
    legacy.load_state_dict(tensors)
    legacy.load_extra_state(old)
    assert legacy.policy_optimizer.param_groups[0]["lr"] == ReinforceConfig().learning_rate


# -- bad input -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"optimiser": "adam"}, "no parameter 'optimiser'; did you mean 'optimizer'"),
        ({"optimizer": "adma:lr=1e-3"}, "unknown optimizer 'adma'; did you mean 'adam'"),
        ({"optimizer": "sgd:lr=-1"}, "lr must be a positive number"),
        ({"optimizer": "sgd:nesterov=true"}, "nesterov=true needs momentum > 0"),
        ({"optimizer": "adam:momentum=0.9"}, "no parameter 'momentum'"),
        ({"schedule": "cosin"}, "unknown schedule 'cosin'; did you mean 'cosine'"),
        ({"schedule": "step:every=0"}, "every >= 1"),
        ({"validation_fraction": "1.5"}, "validation_fraction must be in"),
        ({"batch_size": "0"}, "at least 1"),
    ],
)
def test_bad_trainer_configs_are_one_line_spec_errors(params, match):
    with pytest.raises(SpecError, match=match) as info:
        build_config(TrainerConfig, params, owner="trainer")
    assert "\n" not in str(info.value)


def test_bad_data_and_early_stopping_without_validation():
    model = MLP(2, (), 1, generator=gen())
    with pytest.raises(SpecError, match="needs validation data"):
        fit(
            model,
            regression_loss,
            ill_conditioned(),
            TrainerConfig(early_stopping=3),
            progress=False,
        )
    with pytest.raises(SpecError, match="input array 'x'"):
        fit(model, regression_loss, {"y": np.zeros(3)}, TrainerConfig(), progress=False)
    with pytest.raises(SpecError, match="differ in length"):
        fit(
            model,
            regression_loss,
            {"x": np.zeros((3, 2)), "y": np.zeros(4)},
            TrainerConfig(),
            progress=False,
        )
