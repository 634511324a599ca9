"""Far-field honesty of every surrogate on a toy whose truth P(single phase) is known everywhere.

The toy (one for all four surrogates): a 1-D path of real compositions x(t) = (1 − t)·CoCrFeNi +
t·HfNbTaTiZr, t ∈ [0, 1] (the two alloys share no element, so the at.% distance between x(s) and
x(t) is 100·|s − t|), with truth q(t) = 0.5 + 0.45·cos(π t / 0.4). Labels y ~ Bernoulli(q(t)) at
m = 200 points t ~ U[0, 0.4]; the truth sweeps from 0.95 at t = 0 down to 0.05 at t = 0.4 there,
so a surrogate must resolve it to be calibrated near the data.

- "near": 400 held-out t ~ U[0, 0.4] (the training distribution);
- "far": 400 t ~ U[0.7, 1.0]: 30 to 60 at.% from every training alloy, where the truth (0.5 to 0.95,
  mean ≈ 0.8) is the opposite of what the nearest labels say (q(0.4) = 0.05). A surrogate that
  extrapolates confidently is wrong there; an honest one says it does not know.

The latent GP reads z = t (a 1-D latent frame given directly); the descriptor GP, the forest and the
SSVAE heads read the compositions (the SSVAE is fitted with the campaign's settings on the 200
labelled alloys and 200 unlabelled ones spread over the whole path, as a pool would be).

Readings (all against the known truth q, never against sampled labels):
- U: the spread of the draws, std over the S draws, averaged over the points.
- ECE vs truth: Σ_b |Σ_{i∈b} (q_i − p_i)| / n over 10 equal-width bins of p (the project's ECE with
  the label replaced by its probability: the limit of ECE against many labels per point).
- MAE: mean |p_i − q_i|. ECE ≤ MAE always (triangle inequality), and ECE alone is blind to
  resolution: the constant ½ has ECE ≈ 0.002 near the data. So the near-data check bounds MAE too.

Checks, with their bounds:
- ``far_spread``: U_far > 2·U_near (a clear margin: a tie, or a few per cent, is not "growing").
- ``near_calibration``: ECE_near and MAE_near ≤ 2 × the MAE of an independent, brute-force local
  average of the training labels within ±0.05 of each point (≈ 50 labels: its error is the binomial
  noise floor, ≈ 0.04, plus a small bias). A surrogate within twice that floor resolves the truth.
  Power, measured on the latent GP's predictions (MAE 0.039): p → p² (MAE 0.118) fails this bound;
  p → p^1.5 (0.073) and p + 0.05 (0.079) pass it near the data (p^1.5 fails ``far_calibration``).
- ``far_calibration``: ECE_far ≤ ECE_far of the constant ½ + 0.05 (no worse calibrated than admitting
  ignorance), and MAE_far ≤ 2·U_far (its error far away is covered by the spread it reports).

Measured (2026-12-03, load ≈ 2): the table above ``NOT_HONEST`` below. Where a surrogate is not
honest, the check is an ``xfail(strict=True)`` naming the measured reason, so a change that makes
it honest shows up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from arcloop.materials.composition import parse_formula
from arcloop.metrics.model import expected_calibration_error
from arcloop.models import SSVAE
from arcloop.surrogates import ForestSurrogate, GPSurrogate, SSVAESurrogate

A = parse_formula("CoCrFeNi")
B = parse_formula("HfNbTaTiZr")
TRAIN_END = 0.4
FAR = (0.7, 1.0)
WINDOW = 0.05  # half-width (in t) of the brute-force local average
SURROGATE_NAMES = ("forest", "gp_descriptors", "gp_latent", "ssvae")


def truth(t: np.ndarray) -> np.ndarray:
    """P(y = 1 | x(t)), the known truth of the toy."""
    return 0.5 + 0.45 * np.cos(np.pi * t / TRAIN_END)


def path(t: np.ndarray) -> np.ndarray:
    """(n, 30) compositions x(t) = (1 − t)·A + t·B."""
    return (1.0 - t)[:, None] * A + t[:, None] * B


def ece_against_truth(p: np.ndarray, q: np.ndarray, bins: int = 10) -> float:
    """Σ_b |Σ_{i∈b} (q_i − p_i)| / n, bins of p as in :func:`expected_calibration_error`."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    bin_of = np.searchsorted(edges[1:-1], p)
    return float(np.abs(np.bincount(bin_of, weights=q - p, minlength=bins)).sum() / len(p))


def local_average(t_train: np.ndarray, y: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The mean label of the training points within ±WINDOW of each t (brute force)."""
    out = np.empty(len(t))
    for i, ti in enumerate(t):
        inside = np.abs(t_train - ti) <= WINDOW
        out[i] = y[inside].mean()
    return out


@dataclass(frozen=True)
class Reading:
    u: float
    ece: float
    mae: float
    ece_half: float  # ECE of the constant ½ on the same points


@dataclass(frozen=True)
class Toy:
    t_train: np.ndarray
    y: np.ndarray
    t_near: np.ndarray
    t_far: np.ndarray


@pytest.fixture(scope="module")
def toy() -> Toy:
    rng = np.random.default_rng(0)
    t_train = rng.uniform(0.0, TRAIN_END, 200)
    y = (rng.uniform(size=200) < truth(t_train)).astype(np.float64)
    return Toy(t_train, y, rng.uniform(0.0, TRAIN_END, 400), rng.uniform(*FAR, 400))


Prediction = tuple[np.ndarray, np.ndarray]  # (p_mean, draws)


def _fit_and_predict(name: str, toy: Toy) -> tuple[Prediction, Prediction]:
    """(near, far) predictions of surrogate ``name`` fitted on the toy's labels."""
    X = path(toy.t_train)
    if name == "forest":
        s = ForestSurrogate(random_state=0).fit(X, toy.y)
        return s.predict(path(toy.t_near)), s.predict(path(toy.t_far))
    if name == "gp_descriptors":
        g = GPSurrogate(space="descriptors", random_state=0).fit(X, toy.y)
        return g.predict(path(toy.t_near)), g.predict(path(toy.t_far))
    if name == "gp_latent":
        g = GPSurrogate(space="latent", random_state=0).fit(X, toy.y, z=toy.t_train[:, None])
        return (
            g.predict(path(toy.t_near), toy.t_near[:, None]),
            g.predict(path(toy.t_far), toy.t_far[:, None]),
        )
    model = SSVAE(**SSVAE.campaign_defaults(), random_state=0)
    model.fit(X, toy.y.astype(np.int64), path(np.linspace(0.0, 1.0, 200)))
    s = SSVAESurrogate().fit(X, toy.y, model=model)
    return s.predict(path(toy.t_near)), s.predict(path(toy.t_far))


@pytest.fixture(scope="module")
def readings(toy: Toy) -> dict[str, dict[str, Reading]]:
    out: dict[str, dict[str, Reading]] = {}
    for name in SURROGATE_NAMES:
        near, far = _fit_and_predict(name, toy)
        out[name] = {}
        for where, (p, draws), t in (("near", near, toy.t_near), ("far", far, toy.t_far)):
            q = truth(t)
            assert draws.ndim == 2 and draws.shape[1] == len(t) and draws.dtype == np.float32
            out[name][where] = Reading(
                u=float(draws.std(axis=0).mean()),
                ece=ece_against_truth(p, q),
                mae=float(np.abs(p - q).mean()),
                ece_half=ece_against_truth(np.full_like(q, 0.5), q),
            )
        n, f = out[name]["near"], out[name]["far"]
        print(
            f"{name:15s} U near {n.u:.3f} far {f.u:.3f} | ECE near {n.ece:.3f} far {f.ece:.3f} "
            f"(½: {f.ece_half:.3f}) | MAE near {n.mae:.3f} far {f.mae:.3f}"
        )
    return out


@pytest.fixture(scope="module")
def floor(toy: Toy) -> float:
    """MAE against the truth of the brute-force local average near the data: the noise floor."""
    return float(np.abs(local_average(toy.t_train, toy.y, toy.t_near) - truth(toy.t_near)).mean())


# Measured on this toy (2026-12-03, load ≈ 2): U near/far, ECE near/far (constant ½ far: 0.327),
# MAE near/far; the local-average floor is 0.043, so the near bound is 0.086.
#   forest          U 0.186/0.415  ECE 0.197/0.547  MAE 0.205/0.547
#   gp_descriptors  U 0.054/0.351  ECE 0.039/0.329  MAE 0.040/0.329
#   gp_latent       U 0.054/0.338  ECE 0.038/0.326  MAE 0.039/0.326
#   ssvae           U 0.060/0.000  ECE 0.066/0.827  MAE 0.077/0.827
#   ssvae, campaign defaults of 600 epochs + warm refits (merged): near MAE 0.093 > 0.086
NOT_HONEST: dict[tuple[str, str], str] = {
    ("forest", "near_calibration"): (
        "min_samples_leaf=1 trees fit the noisy labels: p_mean is a bagged near-neighbour vote, "
        "MAE ≈ 0.2 against the truth, 4× the local-average floor"
    ),
    ("forest", "far_calibration"): (
        "the trees extrapolate the splits at the edge of the data (q = 0.05 there): p_mean far ≈ 0.28 "
        "against a truth ≈ 0.8, ECE 0.55 > ignorance's 0.33"
    ),
    ("ssvae", "near_calibration"): (
        "with the campaign's 600-epoch fit the heads fit the 200 noisy labels closer: MAE near 0.093, "
        "above twice the local-average floor (0.086); ECE near 0.059 is within its bound"
    ),
    ("ssvae", "far_spread"): (
        "the K heads saturate together far from the labels: U far ≈ 0 (< U near ≈ 0.06)"
    ),
    ("ssvae", "far_calibration"): (
        "the heads extrapolate to p ≈ 0 with no spread where the truth is ≈ 0.8: ECE far 0.83"
    ),
}


def _cases() -> list[object]:
    cases = []
    for name in SURROGATE_NAMES:
        for check in ("far_spread", "near_calibration", "far_calibration"):
            reason = NOT_HONEST.get((name, check))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            cases.append(pytest.param(name, check, marks=marks, id=f"{name}-{check}"))
    return cases


@pytest.mark.parametrize(("name", "check"), _cases())
def test_surrogate_is_honest(
    name: str, check: str, readings: dict[str, dict[str, Reading]], floor: float
) -> None:
    near, far = readings[name]["near"], readings[name]["far"]
    if check == "far_spread":
        assert far.u > 2.0 * near.u, f"U far {far.u:.3f} <= 2 × U near {near.u:.3f}"
    elif check == "near_calibration":
        assert near.ece <= 2.0 * floor, f"ECE near {near.ece:.3f} > 2 × floor {floor:.3f}"
        assert near.mae <= 2.0 * floor, f"MAE near {near.mae:.3f} > 2 × floor {floor:.3f}"
    else:
        assert far.ece <= far.ece_half + 0.05, f"ECE far {far.ece:.3f} > ½'s {far.ece_half:.3f} + 0.05"
        assert far.mae <= 2.0 * far.u, f"MAE far {far.mae:.3f} > 2 × U far {far.u:.3f}"


def test_toy_is_the_case_described(toy: Toy, floor: float) -> None:
    """The toy's own claims: far points 30–60 at.% from the data, the far truth opposes the edge's, the
    noise floor is what the docstring says, and ECE is blind to resolution (hence the MAE bound)."""
    from arcloop.metrics.discovery import nearest_distance

    d = nearest_distance(path(toy.t_far), path(toy.t_train))
    assert d.min() >= 29.0 and d.max() <= 61.0
    assert truth(toy.t_far).mean() > 0.75 and truth(np.array([TRAIN_END]))[0] == pytest.approx(0.05)
    assert 0.02 < floor < 0.06
    q = truth(toy.t_near)
    assert ece_against_truth(np.full_like(q, 0.5), q) < 0.01 < 0.25 < np.abs(q - 0.5).mean()


def test_ece_against_truth_is_the_limit_of_ece_against_labels() -> None:
    """Independent check of the helper: for 0/1 truth it is the project's ECE exactly, and for a
    probability truth it is the project's ECE against many Bernoulli labels per point."""
    rng = np.random.default_rng(5)
    p = rng.uniform(size=300)
    y = (rng.uniform(size=300) < 0.5).astype(np.float64)
    assert ece_against_truth(p, y) == pytest.approx(expected_calibration_error(p, y), abs=1e-12)
    q = np.clip(p + 0.15 * np.sin(6 * p), 0, 1)
    repeats = 2000
    labels = (rng.uniform(size=(repeats, 300)) < q).astype(np.float64)
    by_labels = expected_calibration_error(np.tile(p, repeats), labels.ravel())
    assert by_labels == pytest.approx(ece_against_truth(p, q), abs=0.005)
    assert ece_against_truth(p, q) > 0.05  # not a trivial agreement at 0
