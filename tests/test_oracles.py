"""Oracles: the LabelBatch contract, built-ins, wrappers, registry, config, CLI and a real plugin."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import numpy as np
import pytest

from arcloop import registry
from arcloop.cli import main
from arcloop.data import alloy_fractions, alloy_labels, load_alloys
from arcloop.errors import ArcloopError
from arcloop.materials import descriptors, parse_formula
from arcloop.oracles import (
    STATUSES,
    EmulatorOracle,
    LabelBatch,
    Oracle,
    OracleConfig,
    OracleError,
    OracleFailure,
    OracleTimeout,
    RulesOracle,
    SyntheticOracle,
    build_oracle,
    emulator_cross_validation,
)
from arcloop.oracles.synthetic import fit_descriptor_frame


def get(name: str, **params: Any) -> Oracle:
    return registry.get("oracles", name, **params)


def wrap(oracle: Oracle, name: str, **params: Any) -> Oracle:
    return registry.get("wrappers", name, oracle, **params)


CONTRACT_CONFIG = {"name": "rules", "params": {}, "wrappers": [{"name": "flaky", "failure_prob": 0.3}]}


def random_compositions(n: int, seed: int) -> np.ndarray:
    """(n, 30) compositions of 2 to 5 random elements with Dirichlet(1) fractions."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, 30))
    for i in range(n):
        chosen = rng.choice(30, size=rng.integers(2, 6), replace=False)
        X[i, chosen] = rng.dirichlet(np.ones(chosen.size))
    return X


@pytest.fixture(scope="module")
def X() -> np.ndarray:  # noqa: N802 (compositions are X everywhere in arcloop)
    return random_compositions(400, seed=11)


@pytest.fixture(scope="module")
def emulator() -> EmulatorOracle:
    return get("emulator")


def assert_consistent(batch: LabelBatch, n: int) -> None:
    assert len(batch) == n
    assert batch.labels.dtype == np.int64 and batch.cost.dtype == np.float64
    assert set(np.unique(batch.status)) <= set(STATUSES)
    assert np.isin(batch.labels[batch.ok], (0, 1)).all()
    assert (batch.labels[~batch.ok] == -1).all()
    assert batch.seconds >= 0.0


# --- LabelBatch -------------------------------------------------------------------------------


def test_label_batch_enforces_the_never_guess_rule() -> None:
    batch = LabelBatch([1, 0, -1], ["ok", "ok", "abstained"], [1.0, 1.0, 0.0], 0.5)
    assert batch.counts() == {"ok": 2, "failed": 0, "dropped": 0, "abstained": 1}
    with pytest.raises(ArcloopError, match="label -1"):
        LabelBatch([1, 0, 1], ["ok", "ok", "dropped"], [1.0, 1.0, 1.0])
    with pytest.raises(ArcloopError, match="0 or 1"):
        LabelBatch([2], ["ok"], [1.0])
    with pytest.raises(ArcloopError, match="unknown status 'lost'"):
        LabelBatch([-1], ["lost"], [1.0])
    with pytest.raises(ArcloopError, match="same length"):
        LabelBatch([1, 0], ["ok"], [1.0, 1.0])
    with pytest.raises(ArcloopError, match="non-negative"):
        LabelBatch([1], ["ok"], [-1.0])
    with pytest.raises(ValueError, match="read-only"):
        batch.labels[0] = 0
    marked = batch.mark(np.array([True, False, False]), "abstained")
    assert marked.status.tolist() == ["abstained", "ok", "abstained"]
    assert marked.labels.tolist() == [-1, 0, -1]


# --- the contract with the campaign loop -------------------------------------------------------


def test_contract_example_from_the_campaign_loop(X: np.ndarray) -> None:
    oracle = build_oracle(OracleConfig.model_validate(CONTRACT_CONFIG))
    assert isinstance(oracle, Oracle) and oracle.requires_latent is False
    outcomes = {"ok": 0, "failure": 0}
    for attempt in range(60):
        try:
            batch = oracle.label(X, rng=np.random.default_rng([3, attempt]), latent=None)
        except OracleFailure:
            outcomes["failure"] += 1
            continue
        outcomes["ok"] += 1
        assert_consistent(batch, X.shape[0])
        assert isinstance(batch.seconds, float)
        assert batch.status.dtype.kind == "U"
        np.testing.assert_array_equal(batch.cost, np.ones(X.shape[0]))
    # failure_prob 0.3 over 60 calls: 18 expected, sd 3.5; 6 sd either way still fails a broken wrapper.
    assert 0 < outcomes["failure"] < 40 and outcomes["ok"] > 20


def test_instrument_faults_are_not_user_errors() -> None:
    for error in (OracleFailure, OracleTimeout):
        assert issubclass(error, OracleError) and issubclass(error, RuntimeError)
        assert not issubclass(error, ArcloopError)


# --- rules -------------------------------------------------------------------------------------


def test_rules_apply_the_published_thresholds(X: np.ndarray) -> None:
    d = descriptors(X)
    batch = get("rules").label(X)
    expected = (
        (d["omega"] >= 1.1) & (d["delta"] <= 6.6) & (d["delta_h_mix"] > -15) & (d["delta_h_mix"] < 5)
    ).to_numpy()
    np.testing.assert_array_equal(batch.labels, expected.astype(np.int64))
    assert (batch.status == "ok").all()
    vec = get("rules", vec_rule=True).label(X).labels
    fcc_or_bcc = ((d["vec_sd"] < 6.87) | (d["vec_sd"] >= 8.0)).to_numpy()
    np.testing.assert_array_equal(vec, (expected & fcc_or_bcc).astype(np.int64))
    # Tighter thresholds can only remove single-phase verdicts.
    strict = get("rules", omega_min=2.0, delta_max=4.0).label(X).labels
    assert (strict <= batch.labels).all() and strict.sum() < batch.labels.sum()


def test_rules_know_that_pure_elements_and_classic_hea_are_single_phase() -> None:
    pure = np.eye(30)[[0, 1, 12]]  # Fe, Ni, Ta
    cantor = parse_formula("CoCrFeMnNi")
    assert get("rules").label(np.vstack([pure, cantor])).labels.tolist() == [1, 1, 1, 1]


def test_rules_agreement_is_measured_on_the_real_labels() -> None:
    agreement = get("rules").diagnostics()["agreement_with_real_labels"]
    predicted = RulesOracle().predict(alloy_fractions())
    truth = alloy_labels()
    assert agreement["n"] == 1375
    assert agreement["accuracy"] == pytest.approx((predicted == truth).mean())
    (tn, fp), (fn, tp) = agreement["confusion"]
    assert tn + fp + fn + tp == 1375 and tp + fn == truth.sum()
    # The rules are a physics prior, better than chance and far from perfect.
    assert 0.55 < agreement["accuracy"] < 0.9


# --- emulator ----------------------------------------------------------------------------------


def test_emulator_is_fitted_once_and_labels_by_its_probability(
    emulator: EmulatorOracle, X: np.ndarray
) -> None:
    assert get("emulator").classifier is emulator.classifier  # cached per process
    p = emulator.probability(X)
    np.testing.assert_array_equal(emulator.label(X).labels, (p >= 0.5).astype(np.int64))
    strict = get("emulator", threshold=0.9).label(X).labels
    assert (strict <= emulator.label(X).labels).all()
    # Realistic: it reproduces most real labels of the alloys it was trained on.
    real = emulator.label(alloy_fractions()).labels
    assert (real == alloy_labels()).mean() > 0.9


def test_emulator_sampling_is_reproducible_from_the_rng(emulator: EmulatorOracle, X: np.ndarray) -> None:
    sampling = get("emulator", sample=True)
    first = sampling.label(X, rng=np.random.default_rng(4)).labels
    np.testing.assert_array_equal(first, sampling.label(X, rng=np.random.default_rng(4)).labels)
    assert (first != sampling.label(X, rng=np.random.default_rng(5)).labels).any()
    # rng=None means default_rng(oracle.seed) (arcloop.oracles.base)
    seeded = sampling.label(X, rng=np.random.default_rng(sampling.seed)).labels
    np.testing.assert_array_equal(sampling.label(X).labels, seeded)
    # Bernoulli(p) draws: the mean label tracks the mean probability.
    assert abs(first.mean() - emulator.probability(X).mean()) < 0.1


# --- lookup ------------------------------------------------------------------------------------


def test_lookup_returns_real_labels_and_abstains_otherwise() -> None:
    alloys = load_alloys()
    fractions, truth = alloy_fractions(), alloy_labels()
    batch = get("lookup").label(fractions)
    assert_consistent(batch, 1375)
    np.testing.assert_array_equal(batch.labels[batch.ok], truth[batch.ok])
    # HfNbTiVZr is in the data both as single and as multiple phase: never guess.
    conflict = (alloys["formula"] == "Hf1Nb1Ti1V1Zr1").to_numpy()
    assert (batch.status[conflict] == "abstained").all()
    assert batch.ok.mean() > 0.99
    novel = random_compositions(20, seed=2)
    unknown = get("lookup").label(novel)
    assert (unknown.status == "abstained").all() and (unknown.cost == 0.0).all()


def test_lookup_tolerance_decides_what_counts_as_the_same_alloy() -> None:
    row = alloy_fractions()[:1]
    shifted = row.copy()
    i, j = np.flatnonzero(row[0])[:2]
    shifted[0, i] += 5e-4
    shifted[0, j] -= 5e-4
    assert get("lookup").label(shifted).status[0] == "abstained"
    loose = get("lookup", tolerance=1e-3).label(shifted)
    assert loose.status[0] == "ok" and loose.labels[0] == alloy_labels()[0]


# --- synthetic ---------------------------------------------------------------------------------


def sklearn_frame(dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Dataset alloys' frame coordinates and variance ratios by scikit-learn, with the sign rule by hand."""
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    standardised = StandardScaler().fit_transform(descriptors(alloy_fractions()).iloc[:, :8].to_numpy())
    pca = PCA(n_components=dim, svd_solver="full").fit(standardised)
    loadings = pca.components_
    signs = np.sign(loadings[np.arange(dim), np.abs(loadings).argmax(axis=1)])
    return standardised @ (loadings * signs[:, None]).T, pca.explained_variance_ratio_


def test_synthetic_labels_the_composition_alone(X: np.ndarray) -> None:
    oracle = get("synthetic")
    assert oracle.requires_latent is False and wrap(oracle, "noisy").requires_latent is False
    first = oracle.label(X).labels
    assert 0 < first.sum() < len(X)  # both classes occur, so equality below is not vacuous
    # Same composition, same label: at every call, from a fresh instance, alone or in another batch,
    # and whatever latent point a caller passes along (it is ignored).
    np.testing.assert_array_equal(oracle.label(X).labels, first)
    np.testing.assert_array_equal(SyntheticOracle().label(X[::-1]).labels[::-1], first)
    alone = [int(oracle.label(X[i : i + 1]).labels[0]) for i in range(0, len(X), 37)]
    assert alone == first[::37].tolist()
    Z = np.random.default_rng(0).standard_normal((len(X), 2))
    np.testing.assert_array_equal(oracle.label(X, latent=Z).labels, first)
    np.testing.assert_array_equal(first, oracle.truth_at(oracle.frame_coordinates(X)))
    with pytest.raises(ArcloopError, match=r"coordinates: expected shape \(n, 2\)"):
        oracle.truth_at(np.zeros((3, 30)))


@pytest.mark.parametrize("dim", [2, 3, 8])
def test_synthetic_frame_is_the_pca_of_the_standardised_dataset_descriptors(dim: int) -> None:
    coordinates, ratios = sklearn_frame(dim)
    oracle = get("synthetic", dim=dim)
    np.testing.assert_allclose(oracle.frame_coordinates(alloy_fractions()), coordinates, atol=1e-8)
    np.testing.assert_allclose(oracle.diagnostics()["frame_variance_ratio"], ratios, rtol=1e-10)
    # The labels are a function of these coordinates only.
    np.testing.assert_array_equal(oracle.label(alloy_fractions()).labels, oracle.truth_at(coordinates))


def test_synthetic_frame_axes_do_not_depend_on_the_svd_sign() -> None:
    D = descriptors(alloy_fractions()).iloc[:, :8].to_numpy()
    axes = fit_descriptor_frame(D)[2]
    # LAPACK returns the axes of −D with the opposite signs; the frame must not follow it.
    np.testing.assert_allclose(fit_descriptor_frame(-D)[2], axes, atol=1e-12)
    assert (axes[np.arange(8), np.abs(axes).argmax(axis=1)] > 0).all()


def test_synthetic_default_base_rate_on_the_dataset() -> None:
    share = get("synthetic").diagnostics()["dataset_single_phase_share"]
    coordinates, _ = sklearn_frame(2)
    # Hand count with the default landscape: one bump at (1, 0), σ = (2, 0.5) along 30°, threshold ½.
    u, v = np.array([math.cos(math.pi / 6), 0.5]), np.array([-0.5, math.cos(math.pi / 6)])
    shifted = coordinates - [1.0, 0.0]
    inside = (shifted @ u / 2.0) ** 2 + (shifted @ v / 0.5) ** 2 <= 2.0 * math.log(2.0)
    assert share == pytest.approx(inside.mean(), abs=1e-12)
    assert share == pytest.approx(0.214, abs=0.001)


@pytest.mark.parametrize("anisotropy", [1.0, 4.0, 16.0])
def test_synthetic_target_has_the_stated_shape_and_area(anisotropy: float) -> None:
    oracle = SyntheticOracle(
        anisotropy=anisotropy, angle_deg=30.0, width=0.5, centres=[[0.0, 0.0]], threshold=0.5
    )
    major, minor = oracle.semi_axes()
    assert major / minor == pytest.approx(anisotropy)
    u, v = oracle.direction, oracle.normal
    # Just inside / just outside the ellipse along the major and minor axes.
    inside = np.stack([0.99 * major * u, 0.99 * minor * v])
    outside = np.stack([1.01 * major * u, 1.01 * minor * v])
    assert oracle.truth_at(inside).tolist() == [1, 1] and oracle.truth_at(outside).tolist() == [0, 0]
    axis, labels = oracle.truth_grid(bounds=(-3.0, 3.0), resolution=401)
    cell = (axis[1] - axis[0]) ** 2
    # Same area whatever the anisotropy: 2π w² ln(1/t).
    assert labels.sum() * cell == pytest.approx(2 * math.pi * 0.25 * math.log(2.0), rel=0.03)


def test_synthetic_direction_and_several_centres() -> None:
    oracle = get("synthetic", dim=3, angle_deg=90.0, width=0.5, centres=[[-1.5, 0.0, 0.0], [1.5, 0.0, 0.0]])
    np.testing.assert_allclose(oracle.direction, [0.0, 1.0, 0.0], atol=1e-12)
    points = np.array([[-1.5, 0.8, 0.0], [1.5, -0.8, 0.0], [0.0, 0.0, 0.0], [-1.5, 0.0, 0.7]])
    assert oracle.truth_at(points).tolist() == [1, 1, 0, 0]
    with pytest.raises(ArcloopError, match=r"synthetic.centres"):
        get("synthetic", centres=[[0.0, 0.0, 0.0]])
    with pytest.raises(ArcloopError, match=r"synthetic.dim: Input should be less than or equal to 8"):
        get("synthetic", dim=9)


def test_cli_describe_synthetic(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["oracles", "describe", "synthetic"]) == 0
    text = capsys.readouterr().out
    share = get("synthetic").diagnostics()["dataset_single_phase_share"]
    assert (
        f"dataset_single_phase_share: {share:.3f}" in text and "agreement with the 1,375 real labels" in text
    )
    assert main(["oracles", "describe", "synthetic", "-p", "dim=3", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["values"]["dim"] == 3 and len(info["diagnostics"]["frame_variance_ratio"]) == 3
    assert main(["oracles", "describe", "synthetic", "-p", "latent_dim=2"]) == 2
    assert "synthetic: unknown parameter 'latent_dim'" in capsys.readouterr().err


# --- wrappers ----------------------------------------------------------------------------------

STACK = {
    "name": "emulator",
    "params": {"sample": True},
    "wrappers": [
        {"name": "flaky", "item_failure_prob": 0.1},
        {"name": "selection_biased", "drop_negative_prob": 0.5},
        {"name": "noisy", "flip_prob": 0.2},
        {"name": "costly", "cost_per_label": 2.0},
    ],
}


def test_same_seed_same_labels_through_random_wrappers(emulator: EmulatorOracle, X: np.ndarray) -> None:
    oracle = build_oracle(STACK)
    first = oracle.label(X, rng=np.random.default_rng(7))
    again = build_oracle(STACK).label(X, rng=np.random.default_rng(7))
    for field in ("labels", "status", "cost"):
        np.testing.assert_array_equal(getattr(first, field), getattr(again, field))
    assert set(first.counts()) == set(STATUSES) and first.counts()["failed"] > 0
    assert first.counts()["dropped"] > 0
    other = oracle.label(X, rng=np.random.default_rng(8))
    assert (other.status != first.status).any()
    # rng=None draws from the `seed` parameter: reproducible, and a different seed differs.
    np.testing.assert_array_equal(oracle.label(X).status, build_oracle(STACK).label(X).status)
    reseeded = {**STACK, "params": {"sample": True, "seed": 1}}
    assert (build_oracle(reseeded).label(X).status != oracle.label(X).status).any()


def test_flaky_raises_and_times_out(X: np.ndarray) -> None:
    with pytest.raises(OracleFailure):
        build_oracle({"name": "rules", "wrappers": [{"name": "flaky", "failure_prob": 1.0}]}).label(X)
    hanging = build_oracle(
        {"name": "rules", "wrappers": [{"name": "flaky", "timeout_prob": 1.0, "hang_seconds": 0.05}]}
    )
    start = time.perf_counter()
    with pytest.raises(OracleTimeout):
        hanging.label(X)
    assert time.perf_counter() - start >= 0.05
    items = wrap(get("rules"), "flaky", item_failure_prob=0.25).label(X, rng=np.random.default_rng(1))
    assert_consistent(items, len(X))
    assert 0.15 < (items.status == "failed").mean() < 0.35 and (items.cost == 1.0).all()


def test_noisy_flips_reported_labels(X: np.ndarray) -> None:
    clean = get("rules").label(X).labels
    np.testing.assert_array_equal(wrap(get("rules"), "noisy", flip_prob=0.0).label(X).labels, clean)
    np.testing.assert_array_equal(wrap(get("rules"), "noisy", flip_prob=1.0).label(X).labels, 1 - clean)
    noisy = wrap(get("rules"), "noisy", flip_prob=0.2).label(X, rng=np.random.default_rng(3)).labels
    assert 0.12 < (noisy != clean).mean() < 0.28


def test_selection_bias_drops_only_negatives(X: np.ndarray) -> None:
    clean = get("rules").label(X)
    biased = wrap(get("rules"), "selection_biased", drop_negative_prob=1.0).label(X)
    assert (biased.status[clean.labels == 1] == "ok").all()
    assert (biased.status[clean.labels == 0] == "dropped").all()
    np.testing.assert_array_equal(biased.cost, clean.cost)  # the experiments were still run
    half = wrap(get("rules"), "selection_biased", drop_negative_prob=0.5).label(
        X, rng=np.random.default_rng(2)
    )
    dropped_share = (half.status == "dropped").sum() / (clean.labels == 0).sum()
    assert 0.35 < dropped_share < 0.65
    assert half.labels[half.ok].mean() > clean.labels.mean()  # the reported record looks better


def test_draw_counts_do_not_depend_on_probabilities(X: np.ndarray) -> None:
    def stack(q: float) -> Oracle:
        return build_oracle(
            {"name": "rules", "wrappers": [{"name": "selection_biased", "drop_negative_prob": q}, "noisy"]}
        )

    low = stack(0.1).label(X, rng=np.random.default_rng(9))
    high = stack(0.9).label(X, rng=np.random.default_rng(9))
    both = low.ok & high.ok
    assert both.sum() > 50
    np.testing.assert_array_equal(low.labels[both], high.labels[both])  # same noise flips


def test_slow_and_costly(X: np.ndarray) -> None:
    slow = wrap(get("rules"), "slow", seconds=0.05, seconds_per_label=1e-4)
    batch = slow.label(X[:100])
    assert batch.seconds >= 0.06
    mixed = np.vstack([alloy_fractions()[:3], random_compositions(2, seed=5)])
    added = wrap(get("lookup"), "costly", cost_per_label=2.5).label(mixed)
    assert added.cost.tolist() == [3.5, 3.5, 3.5, 0.0, 0.0]
    replaced = wrap(get("lookup", cost_per_label=4.0), "costly", cost_per_label=0.5, mode="set").label(mixed)
    assert replaced.cost.tolist() == [0.5, 0.5, 0.5, 0.0, 0.0]


# --- registry, config --------------------------------------------------------------------------


def test_registry_lists_builds_and_rejects() -> None:
    assert registry.available("oracles")[:4] == ("rules", "emulator", "lookup", "synthetic")
    with pytest.raises(ArcloopError, match=r"'rulez' is unknown; available oracles: rules, emulator"):
        get("rulez")
    with pytest.raises(ArcloopError, match=r"rules: unknown parameter 'omega'; valid parameters: omega_min"):
        get("rules", omega="1")
    with pytest.raises(ArcloopError, match=r"noisy.flip_prob: Input should be less than or equal to 1"):
        wrap(get("rules"), "noisy", flip_prob=1.5)
    with pytest.raises(ArcloopError, match=r"wrapper 'loud' is unknown"):
        wrap(get("rules"), "loud")
    listed = {entry["name"]: entry for entry in registry.listing("oracles")}
    assert listed["rules"]["source"] == "builtin"
    assert listed["rules"]["params"]["omega_min"] == {
        "type": "float",
        "default": 1.1,
        "required": False,
        "bounds": ">= 0",
        "doc": "",
    }
    assert (
        "hang_seconds" in {entry["name"]: entry for entry in registry.listing("wrappers")}["flaky"]["params"]
    )
    assert registry.describe("wrappers", "selection_biased")["kind"] == "wrapper"
    with pytest.raises(ArcloopError, match=r"rules.delta_max: Input should be greater than 0"):
        RulesOracle(delta_max=0.0)  # direct construction is checked too


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"name": "rules", "params": {"omega_min": "high"}},
            r"^oracle: rules.omega_min: Input should be a valid number",
        ),
        (
            {"name": "rules", "wrappers": [{"name": "flaky", "failure_prob": 2}]},
            r"^oracle.wrappers.0: flaky.failure_prob",
        ),
        ({"name": "rules", "wrappers": [{"name": "noisy", "flip": 0.1}]}, r"noisy: unknown parameter 'flip'"),
        ({"name": "oracle9"}, r"'oracle9' is unknown; available oracles: rules"),
        ({"name": "rules", "extra": 1}, r"^oracle.extra: Extra inputs are not permitted"),
        ({"name": "rules", "wrappers": "noisy"}, r"^oracle.wrappers: "),
        (
            {"name": "synthetic", "params": {"anisotropy": 0.5}},
            r"synthetic.anisotropy: Input should be greater than or equal to 1",
        ),
    ],
)
def test_config_errors_are_one_line_and_name_the_field(config: dict, message: str) -> None:
    with pytest.raises(ArcloopError, match=message) as caught:
        build_oracle(config)
    assert "\n" not in str(caught.value)


def test_cross_field_errors_surface_at_build_time() -> None:
    config = {"name": "rules", "wrappers": [{"name": "flaky", "failure_prob": 0.7, "timeout_prob": 0.7}]}
    with pytest.raises(ArcloopError, match=r"flaky.timeout_prob: failure_prob \+ timeout_prob"):
        build_oracle(config)
    with pytest.raises(ArcloopError, match=r"rules.h_mix_min: must be below h_mix_max"):
        build_oracle({"name": "rules", "params": {"h_mix_min": 6.0}})


def test_spec_round_trips_through_the_config(X: np.ndarray) -> None:
    config = {
        "name": "rules",
        "params": {"vec_rule": True},
        "wrappers": [{"name": "noisy", "params": {"flip_prob": 0.3}}],
    }
    oracle = build_oracle(config)
    spec = oracle.spec()
    assert spec["wrappers"] == [{"name": "noisy", "flip_prob": 0.3}]
    rebuilt = build_oracle(json.loads(json.dumps(spec)))
    np.testing.assert_array_equal(
        rebuilt.label(X, rng=np.random.default_rng(1)).labels,
        oracle.label(X, rng=np.random.default_rng(1)).labels,
    )


# --- CLI ---------------------------------------------------------------------------------------


def test_cli_list_and_describe(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["oracles", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [e["name"] for e in listed][:4] == ["rules", "emulator", "lookup", "synthetic"]
    assert all({"name", "params", "source"} <= set(e) for e in listed)
    assert main(["oracles", "list"]) == 0
    text = capsys.readouterr().out
    assert "selection_biased" in text and "drop_negative_prob" in text
    assert main(["oracles", "describe", "rules", "--param", "vec_rule=true"]) == 0
    text = capsys.readouterr().out
    vec_agreement = get("rules", vec_rule=True).diagnostics()["agreement_with_real_labels"]["accuracy"]
    assert f"agreement with the 1,375 real labels: accuracy {vec_agreement:.3f}" in text
    assert main(["oracles", "describe", "nope"]) == 2
    assert "error: oracle 'nope' is unknown" in capsys.readouterr().err
    assert main(["oracles", "describe", "rules", "-p", "omega_min=-1"]) == 2
    assert "rules.omega_min" in capsys.readouterr().err


def test_cli_describe_emulator_reports_cross_validation(
    emulator: EmulatorOracle, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["oracles", "describe", "emulator", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    cv = info["diagnostics"]["cross_validation"]
    assert cv == emulator_cross_validation("gradient_boosting", 0)
    assert cv["folds"] == 5 and 0.75 < cv["accuracy_mean"] < 0.98 and 0.8 < cv["roc_auc_mean"] <= 1.0
    # In-sample agreement is higher than held-out accuracy, as it must be for a fitted model.
    assert info["diagnostics"]["agreement_with_real_labels"]["accuracy"] > cv["accuracy_mean"]


@pytest.mark.parametrize("name", ["rules", "emulator", "lookup"])
def test_an_empty_batch_gets_an_empty_answer(name: str) -> None:
    # An exhausted candidate source sends an empty batch (a latent campaign with few feasible
    # decodings); scikit-learn's predict refuses zero rows, which failed the whole campaign.
    for config in ({"name": name}, {**STACK, "name": name, "params": {}}):
        batch = build_oracle(config).label(np.zeros((0, 30)), rng=np.random.default_rng(0))
        assert (batch.labels.shape, batch.status.shape, batch.cost.shape) == ((0,), (0,), (0,))
        assert batch.status.dtype.kind == "U" and batch.labels.dtype == np.int64
