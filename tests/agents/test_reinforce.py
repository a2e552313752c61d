"""REINFORCE: config validation, spaces, masks, persistence, determinism and learning."""

import io
import json
import math

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlkit.agent import Transition, split_observation
from rlkit.agents.reinforce import Reinforce
from rlkit.errors import CheckpointError, IncompatibleEnvError, SpecError
from rlkit.specs import build_config

Config = Reinforce.Config
BOX = gym.spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32)
METRIC_KEYS = {"policy_loss", "value_loss", "entropy", "grad_norm", "updates"}


class Corridor(gym.Env):
    """Cells ``0..length-1`` observed as ``Discrete``; reach the right end as fast as possible.

    Actions: 0 = left, 1 = right. Every step costs 0.1 and reaching the end pays 1, so the
    optimal return is ``1 - 0.1 * (length - 2)`` (``length - 1`` moves). Episodes are cut
    (``truncated``) after ``4 * length`` steps.
    """

    def __init__(self, length: int = 6) -> None:
        self.length = length
        self.observation_space = gym.spaces.Discrete(length)
        self.action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._position, self._steps = 0, 0
        return self._position, {}

    def step(self, action):
        self._position = min(max(self._position + (1 if action == 1 else -1), 0), self.length - 1)
        self._steps += 1
        at_end = self._position == self.length - 1
        reward = 1.0 if at_end else -0.1
        return self._position, reward, at_end, self._steps >= 4 * self.length, {}


class MaskedBandit(gym.Env):
    """One-step episodes: a Box context in a Dict observation with an ``action_mask``.

    Action ``k`` pays ``k / 3``, so the best action is the highest legal one. The mask hides
    a random subset of the four actions (always leaving at least one legal), so a policy that
    learned "prefer 3" must still pick the best *legal* action.
    """

    def __init__(self) -> None:
        self.action_space = gym.spaces.Discrete(4)
        self.observation_space = gym.spaces.Dict(
            {
                "observation": gym.spaces.Box(0.0, 1.0, shape=(4,), dtype=np.float32),
                "action_mask": gym.spaces.MultiBinary(4),
            }
        )

    def _observe(self):
        mask = self.np_random.random(4) < 0.6
        mask[self.np_random.integers(4)] = True
        self._mask = mask
        return {"observation": mask.astype(np.float32), "action_mask": mask.astype(np.int8)}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self._observe(), {}

    def step(self, action):
        assert self._mask[action], "illegal action taken"
        return self._observe(), action / 3.0, True, False, {}


def run_episodes(agent, env, episodes, *, seed=0):
    """The shared training loop in miniature; returns the metrics of every episode."""
    history = []
    observation, info = env.reset(seed=seed)
    for _ in range(episodes):
        observation, mask = split_observation(observation, info)
        while True:
            action = agent.act(observation, mask, explore=True)
            next_observation, reward, terminated, truncated, info = env.step(action)
            next_observation, next_mask = split_observation(next_observation, info)
            agent.observe(
                Transition(
                    observation,
                    action,
                    float(reward),
                    next_observation,
                    terminated,
                    truncated,
                    mask,
                    next_mask,
                )
            )
            observation, mask = next_observation, next_mask
            if terminated or truncated:
                break
        history.append(agent.end_episode())
        observation, info = env.reset()
    return history


def greedy_return(agent, env, *, seed=123):
    observation, info = env.reset(seed=seed)
    total = 0.0
    while True:
        observation, mask = split_observation(observation, info)
        observation, reward, terminated, truncated, info = env.step(agent.act(observation, mask))
        total += float(reward)
        if terminated or truncated:
            return total


def make(env, seed=0, **params):
    config = Config(device="cpu", **params)
    return Reinforce(config, env.observation_space, env.action_space, seed=seed)


# -- configuration ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"hidden": ()}, "hidden"),
        ({"hidden": (64, 0)}, "hidden"),
        ({"activation": "gelu"}, "activation"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"value_learning_rate": -1e-3}, "value_learning_rate"),
        ({"learning_rate": math.nan}, "learning_rate"),
        ({"gamma": 1.5}, "gamma"),
        ({"baseline": "median"}, "baseline"),
        ({"entropy_coef": -0.1}, "entropy_coef"),
        ({"episodes_per_update": 0}, "episodes_per_update"),
        ({"max_grad_norm": 0.0}, "max_grad_norm"),
    ],
)
def test_config_rejects_bad_values(params, match):
    with pytest.raises(ValueError, match=match):
        Config(**params)


def test_config_from_spec_strings():
    config = build_config(
        Config,
        {"hidden": "32x16", "baseline": "mean", "max_grad_norm": "none", "gamma": "0.9"},
        owner="reinforce",
    )
    assert config.hidden == (32, 16)
    assert config.baseline == "mean"
    assert config.max_grad_norm is None
    with pytest.raises(SpecError, match="episodes_per_update"):
        build_config(Config, {"episodes_per_update": "0"}, owner="reinforce")


# -- spaces ---------------------------------------------------------------------------------------
def test_rejects_unsupported_spaces():
    with pytest.raises(IncompatibleEnvError, match="observation space"):
        Reinforce(Config(), gym.spaces.MultiDiscrete([2, 3]), gym.spaces.Discrete(2))
    with pytest.raises(IncompatibleEnvError, match="Discrete action space"):
        Reinforce(Config(), BOX, gym.spaces.Box(-1, 1, shape=(2,)))


def test_accepts_discrete_box_and_masked_dict_observations():
    assert make(Corridor(5)).input_size == 5  # one-hot
    assert make(gym.make("CartPole-v1")).input_size == 4
    assert make(MaskedBandit()).input_size == 4  # the Dict's "observation" part
    image = gym.spaces.Box(0, 255, shape=(2, 3, 2), dtype=np.uint8)
    agent = Reinforce(Config(device="cpu"), image, gym.spaces.Discrete(3), seed=0)
    assert agent.input_size == 12
    assert agent.act(image.sample()) in range(3)


# -- action masks -------------------------------------------------------------------------------
@pytest.mark.parametrize("explore", [True, False])
def test_never_picks_an_illegal_action(explore):
    agent = make(MaskedBandit())
    rng = np.random.default_rng(0)
    for _ in range(500):
        mask = rng.random(4) < 0.4
        mask[rng.integers(4)] = True
        action = agent.act(mask.astype(np.float32), mask, explore=explore)
        assert mask[action]


def test_mask_overrides_a_learned_preference():
    env = MaskedBandit()
    agent = make(env, episodes_per_update=8, learning_rate=3e-3)
    run_episodes(agent, env, 800)
    all_legal = np.ones(4, dtype=bool)
    assert agent.act(all_legal.astype(np.float32), all_legal) == 3
    # With the best actions masked the greedy choice is the best legal one.
    for legal, best in [([1, 1, 1, 0], 2), ([1, 1, 0, 0], 1), ([1, 0, 0, 1], 3)]:
        mask = np.array(legal, dtype=bool)
        assert agent.act(mask.astype(np.float32), mask) == best
    with pytest.raises(ValueError, match="no action"):
        agent.act(all_legal.astype(np.float32), np.zeros(4, dtype=bool))


# -- learning metrics, determinism, persistence ---------------------------------------------------
def test_metrics_have_the_same_keys_every_episode():
    env = Corridor(4)
    history = run_episodes(make(env, episodes_per_update=3), env, 7)
    assert all(set(m) == METRIC_KEYS for m in history)
    assert math.isnan(history[0]["policy_loss"])  # before the first update
    assert [m["updates"] for m in history] == [0, 0, 1, 1, 1, 2, 2]
    assert history[3] == history[4]  # repeated until the next update


@pytest.mark.parametrize("baseline", ["value", "mean", "none"])
def test_same_seed_repeats_exactly(baseline):
    env = gym.make("CartPole-v1")
    first = run_episodes(make(env, seed=7, baseline=baseline, episodes_per_update=2), env, 12)
    second = run_episodes(make(env, seed=7, baseline=baseline, episodes_per_update=2), env, 12)
    other = run_episodes(make(env, seed=8, baseline=baseline, episodes_per_update=2), env, 12)
    assert first == second
    assert first != other


def test_library_code_leaves_global_rngs_alone():
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()[1].copy()
    env = gym.make("CartPole-v1")
    run_episodes(make(env, seed=1), env, 6)
    assert torch.equal(torch_state, torch.get_rng_state())
    assert np.array_equal(np_state, np.random.get_state()[1])


def _save(agent):
    """Round-trip through the formats a checkpoint uses: torch weights_only and JSON."""
    buffer = io.BytesIO()
    torch.save(agent.state_dict(), buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True), json.loads(json.dumps(agent.extra_state()))


@pytest.mark.parametrize("baseline", ["value", "mean"])
def test_state_round_trip_continues_exactly(baseline):
    env = gym.make("CartPole-v1")
    agent = make(env, seed=3, baseline=baseline, episodes_per_update=3)
    run_episodes(agent, env, 7, seed=0)  # 2 updates, 1 episode pending
    tensors, extra = _save(agent)
    assert any(k.startswith("policy_optimizer.") for k in tensors)
    assert tensors["pending.actions"].numel() > 0

    restored = make(env, seed=99, baseline=baseline, episodes_per_update=3)
    restored.load_state_dict(tensors)
    restored.load_extra_state(extra)
    observations = [env.observation_space.sample() for _ in range(20)]
    assert [agent.act(o) for o in observations] == [restored.act(o) for o in observations]
    # Sampling, the pending batch, Adam moments and counters all carry over.
    assert run_episodes(agent, env, 6, seed=5) == run_episodes(restored, env, 6, seed=5)


def test_loading_weights_of_another_architecture_is_a_checkpoint_error():
    env = gym.make("CartPole-v1")
    tensors = make(env, hidden=(8,)).state_dict()
    with pytest.raises(CheckpointError, match="do not fit"):
        make(env, hidden=(16,)).load_state_dict(tensors)
    with pytest.raises(CheckpointError):
        make(env, baseline="none").load_state_dict(tensors)


# -- learning --------------------------------------------------------------------------------------
def test_learns_the_shortest_path_along_a_corridor():
    env = Corridor(6)
    agent = make(env, seed=0)
    run_episodes(agent, env, 300)
    assert greedy_return(agent, env) == pytest.approx(1.0 - 0.1 * 4)


@pytest.mark.slow
def test_cartpole_reaches_475_within_300k_steps(tmp_path):
    """The acceptance run: ``rlkit train reinforce --env CartPole-v1 --steps 300000``."""
    from rlkit.evaluation import evaluate
    from rlkit.training import RunSettings, train

    torch.set_num_threads(1)  # tiny networks: threads only add overhead
    settings = RunSettings(agent="reinforce:device=cpu", env="CartPole-v1", seed=0, steps=300_000)
    agent = train(settings, tmp_path / "run", progress=False, tensorboard=False)
    result = evaluate(agent, gym.make("CartPole-v1"), 100, seed=12345)
    assert result.mean_return >= 475


@pytest.mark.slow
def test_maze_reaches_the_optimal_return(tmp_path):
    """REINFORCE with one-hot observations finds the maze's shortest path (-24)."""
    from rlkit.envs.gridworld import value_iteration
    from rlkit.evaluation import evaluate
    from rlkit.registry import make_env
    from rlkit.training import RunSettings, train

    settings = RunSettings(agent="reinforce:device=cpu", env="maze", seed=0, steps=300_000)
    agent = train(settings, tmp_path / "run", progress=False, tensorboard=False)
    env = make_env("maze")
    optimal = value_iteration(env, 1.0).values[int(env.reset(seed=0)[0])]
    assert evaluate(agent, env, 1, seed=0).mean_return == pytest.approx(optimal)


# -- shared networks, reference policy and KL penalty ---------------------------------------------
def game_agent(seed=0, **params):
    """A REINFORCE agent on a policy-value network, for tic-tac-toe observations."""
    from rlkit.builder import game_spaces
    from rlkit.registry import make_game

    params.setdefault("net", "mlp:hidden=16")
    config = Config(device="cpu", **params)
    return Reinforce(config, *game_spaces(make_game("tictactoe")), seed=seed)


def tictactoe_positions(count, seed):
    from rlkit.registry import make_game

    game = make_game("tictactoe")
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < count:
        state = game.initial_state()
        for _ in range(int(rng.integers(0, 7))):
            if game.is_terminal(state):
                break
            state = game.apply(state, int(rng.choice(game.legal_actions(state))))
        if not game.is_terminal(state):
            out.append(
                (game.observation(state, game.current_player(state)), game.legal_mask(state))
            )
    return out


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"value_head": "median"}, "value head"),
        ({"kl_coef": -1.0}, "kl_coef"),
        ({"kl_coef": math.inf}, "kl_coef"),
        ({"value_coef": -0.5}, "value_coef"),
        ({"return_scale": 0.0}, "return_scale"),
        ({"net": " "}, "net"),
    ],
)
def test_config_rejects_bad_network_and_penalty_values(params, match):
    with pytest.raises(ValueError, match=match):
        Config(**params)


def test_net_needs_box_observations_and_a_fitting_spec():
    with pytest.raises(IncompatibleEnvError, match="Box"):
        Reinforce(Config(net="mlp:hidden=8"), gym.spaces.Discrete(5), gym.spaces.Discrete(2))
    with pytest.raises(SpecError, match="mlp"):  # a conv tower on a flat observation
        Reinforce(
            Config(net="resnet:blocks=1,channels=4", device="cpu"), BOX, gym.spaces.Discrete(2)
        )


@pytest.mark.parametrize("explore", [True, False])
def test_net_policy_only_plays_legal_moves(explore):
    agent = game_agent()
    for observation, mask in tictactoe_positions(200, seed=0):
        probs = agent.action_probabilities(observation, mask)
        assert probs[~mask].sum() == 0 and probs.sum() == pytest.approx(1.0, abs=1e-6)
        assert mask[agent.act(observation, mask, explore=explore)]
    dict_obs = {"observation": observation, "action_mask": mask.astype(np.int8)}
    assert agent.act(dict_obs) == agent.act(observation, mask)


def test_kl_metric_is_the_exact_kl_to_the_reference_on_the_batch():
    """One update with a reference: the reported KL is sum_a pi (log pi - log pi_ref) over the
    legal moves, computed by hand from the networks before the step."""
    agent = game_agent(kl_coef=1.0, episodes_per_update=1, learning_rate=0.05)
    assert "kl" in agent.end_episode()
    # Move the policy away from the reference first, so the KL is not zero.
    with torch.no_grad():
        for p in agent.network.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=torch.Generator().manual_seed(1)))
    observations = tictactoe_positions(6, seed=3)
    for observation, mask in observations:
        agent.observe(
            Transition(
                observation,
                int(np.flatnonzero(mask)[0]),
                0.0,
                observation,
                False,
                False,
                mask,
                mask,
            )
        )
    expected = []
    for observation, mask in observations:
        pi = agent.action_probabilities(observation, mask)
        x = torch.from_numpy(observation[None].astype(np.float32))
        with torch.no_grad():
            ref_logits = agent.reference(x)[0][0].numpy().astype(np.float64)
        ref = np.exp(ref_logits[mask] - ref_logits[mask].max())
        ref /= ref.sum()
        expected.append(float(np.sum(pi[mask] * (np.log(pi[mask]) - np.log(ref)))))
    metrics = agent.end_episode()
    assert metrics["kl"] == pytest.approx(np.mean(expected), rel=1e-4)
    assert metrics["kl"] > 0.01


def test_the_kl_penalty_pulls_the_policy_back_to_the_reference():
    """Only the penalty acts (zero returns, no advantage): gradient steps shrink the KL."""
    agent = game_agent(
        kl_coef=1.0,
        episodes_per_update=1,
        learning_rate=0.01,
        baseline="none",
        normalize_advantages=False,
    )
    with torch.no_grad():
        for p in agent.network.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=torch.Generator().manual_seed(2)))
    batch = tictactoe_positions(16, seed=4)
    kls = []
    for _ in range(30):
        for observation, mask in batch:
            agent.observe(
                Transition(
                    observation,
                    int(np.flatnonzero(mask)[0]),
                    0.0,
                    observation,
                    False,
                    False,
                    mask,
                    mask,
                )
            )
        kls.append(agent.end_episode()["kl"])
    assert kls[-1] < 0.2 * kls[0], kls


def test_from_policy_copies_the_clone_and_refuses_other_networks():
    from rlkit.agents.bc import BehaviourCloning, BehaviourCloningConfig

    template = game_agent()
    clone = BehaviourCloning(
        BehaviourCloningConfig(net="mlp:hidden=16", device="cpu", autocast="off"),
        template.observation_space,
        template.action_space,
        seed=5,
    )
    clone.input_mean = np.full((3, 3, 3), 0.25, np.float32)
    clone.input_std = np.full((3, 3, 3), 0.5, np.float32)
    agent = Reinforce.from_policy(clone, Config(device="cpu"), seed=0)
    assert agent.config.net == "mlp:hidden=16" and agent.reference is not None
    for observation, mask in tictactoe_positions(30, seed=5):
        priors, _ = clone.evaluate(observation[None], mask[None])
        np.testing.assert_allclose(
            agent.action_probabilities(observation, mask), priors[0], atol=1e-6
        )
    with pytest.raises(SpecError, match="same network"):
        Reinforce.from_policy(clone, Config(device="cpu", net="mlp:hidden=17"))
    with pytest.raises(SpecError, match="behaviour-cloned"):
        Reinforce.from_policy(template, Config(device="cpu"))


def test_net_state_round_trip_with_reference_continues_exactly():
    agent = game_agent(seed=3, kl_coef=0.5, episodes_per_update=2, learning_rate=0.01)
    agent.input_mean = np.zeros((3, 3, 3), np.float32)
    agent.input_std = np.ones((3, 3, 3), np.float32)
    from rlkit.envs.game_envs import GameVsOpponentEnv
    from rlkit.registry import make_game

    env = GameVsOpponentEnv(make_game("tictactoe"), play_as="alternate")
    run_episodes(agent, env, 5, seed=0)  # 2 updates, 1 episode pending
    tensors, extra = _save(agent)
    assert {"reference.policy.weight", "input.mean", "pending.legal"} <= set(tensors)
    restored = game_agent(seed=99, kl_coef=0.5, episodes_per_update=2, learning_rate=0.01)
    restored.load_state_dict(tensors)
    restored.load_extra_state(extra)
    assert run_episodes(agent, env, 6, seed=5) == run_episodes(restored, env, 6, seed=5)
    with pytest.raises(CheckpointError, match="do not fit"):
        game_agent(net="mlp:hidden=8").load_state_dict(tensors)
