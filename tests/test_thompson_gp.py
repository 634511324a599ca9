"""Thompson sampling on the ``gp`` surrogate's draws, against an exact enumeration of those draws.

Case: a latent GP fitted on labels 1[z₀ > 0] in [−1, 1]² (real Pyro fit), 6 candidates around the
boundary so that several win under some draw, S = 64 joint posterior draws from ``predict``. The
``thompson`` policy with the ``top_k`` builder must, for every slot s, pick the argmax of the draw
row that its scorer uses for slot s among the candidates not yet in the batch (ties to the lower
index). The rows are read from the scorer itself through its public interface (``scores``), each
identified as the one draw row it equals, so the test holds whether Thompson draws its rows with or
without replacement.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chi2

from arcloop.policies import build_policy
from arcloop.policies.base import Candidates, Context
from arcloop.surrogates import GPSurrogate

N_DRAWS = 64
TRIALS = 20_000
ALPHA = 1e-6  # false-failure probability of the multinomial check for a correct policy


@pytest.fixture(scope="module")
def case() -> tuple[Candidates, Context, np.ndarray]:
    rng = np.random.default_rng(0)
    z_train = rng.uniform(-1, 1, (120, 2))
    dummy = np.full((120, 30), 1.0 / 30.0)
    gp = GPSurrogate(n_steps=150, n_draws=N_DRAWS, random_state=0)
    gp.fit(dummy, (z_train[:, 0] > 0).astype(float), z=z_train)
    z = np.array([[0.0, 0.0], [0.05, 0.8], [-0.05, -0.8], [0.1, 2.5], [-0.1, -2.5], [-0.9, 0.0]])
    _, draws = gp.predict(np.full((6, 30), 1.0 / 30.0), z)
    candidates = Candidates(
        z=z, compositions=np.full((6, 30), 1.0 / 30.0), p_samples=draws, pool_index=-np.ones(6, np.int64)
    )
    context = Context(labelled_z=z_train, labels=(z_train[:, 0] > 0).astype(np.int64))
    return candidates, context, draws.astype(np.float64)


def exact_argmax(row: np.ndarray, eligible: np.ndarray) -> int:
    """The best eligible candidate of one draw row, ties to the lower index (a plain loop)."""
    best = -1
    for i in range(len(row)):
        if eligible[i] and (best < 0 or row[i] > row[best]):
            best = i
    return best


def rows_of_scorer(
    policy: object, case: tuple[Candidates, Context, np.ndarray], k: int, seed: int
) -> list[int]:
    """Drive a fresh scorer (same rng seed as the policy's) slot by slot with the exact picks; return the
    draw row each slot scored with (asserting each score vector is exactly one draw row)."""
    candidates, context, draws = case
    scorer = policy.acquisition.start(candidates, context, k, np.random.default_rng(seed))  # type: ignore[attr-defined]
    eligible = np.ones(candidates.n, dtype=bool)
    rows = []
    for _ in range(k):
        scores = np.asarray(scorer.scores(eligible), dtype=np.float64)
        match = np.flatnonzero((draws == scores[None, :]).all(axis=1))
        assert match.size == 1, "a Thompson slot must score by exactly one posterior draw"
        rows.append(int(match[0]))
        pick = exact_argmax(draws[match[0]], eligible)
        eligible[pick] = False
        scorer.add(pick)
    return rows


def test_case_has_several_winners(case: tuple[Candidates, Context, np.ndarray]) -> None:
    _, _, draws = case
    assert np.unique(draws, axis=0).shape[0] == N_DRAWS  # 64 distinct genuine draws
    share = np.bincount(draws.argmax(axis=1), minlength=6) / N_DRAWS
    assert (share > 0.05).sum() >= 3 and share[5] == 0.0  # several can win; the far-left one never


@pytest.mark.parametrize("k", [1, 3, 6])
def test_thompson_batch_is_the_exact_argmax_of_its_rows(
    case: tuple[Candidates, Context, np.ndarray], k: int
) -> None:
    candidates, context, draws = case
    policy = build_policy("thompson", builder="top_k")
    for seed in range(200):
        batch = policy.select(candidates, context, k, np.random.default_rng(seed))
        rows = rows_of_scorer(policy, case, k, seed)
        eligible = np.ones(6, dtype=bool)
        expected = []
        for r in rows:
            expected.append(exact_argmax(draws[r], eligible))
            eligible[expected[-1]] = False
        assert batch.tolist() == expected, f"seed {seed}: rows {rows}"


def _chi_square(counts: np.ndarray, expected_share: np.ndarray, trials: int) -> float:
    positive = expected_share > 0
    expected = expected_share[positive] * trials
    return float(((counts[positive] - expected) ** 2 / expected).sum())


def test_first_slot_frequency_is_the_share_of_draws_won(case: tuple[Candidates, Context, np.ndarray]) -> None:
    """Over many rng seeds, candidate i fills slot 1 with frequency → share of draws whose argmax is i.

    Under a correct policy the counts are Multinomial(TRIALS, share), so Pearson's statistic over the
    candidates that can win is χ²(ν) with ν = (number of them) − 1; it fails with probability ALPHA.
    A candidate that wins no draw must never be picked (exact). The threshold is shown to reject two
    wrong policies: the top by p_mean every time, and "five fixed rankings" (rows cycling over 5 draws).
    """
    candidates, context, draws = case
    share = np.bincount(draws.argmax(axis=1), minlength=6) / N_DRAWS
    policy = build_policy("thompson", builder="top_k")
    first = np.array(
        [policy.select(candidates, context, 3, np.random.default_rng(seed))[0] for seed in range(TRIALS)]
    )
    counts = np.bincount(first, minlength=6)
    assert counts[share == 0].sum() == 0
    threshold = chi2.ppf(1 - ALPHA, int((share > 0).sum()) - 1)
    statistic = _chi_square(counts, share, TRIALS)
    print(f"share {share}, frequency {counts / TRIALS}, χ² {statistic:.1f} < {threshold:.1f}")
    assert statistic < threshold
    # the tolerance rejects plausible wrong answers (their expected χ², noise aside)
    for wrong in (
        np.bincount([int(draws.mean(axis=0).argmax())], minlength=6).astype(float),
        np.bincount(draws[:5].argmax(axis=1), minlength=6) / 5.0,
    ):
        assert _chi_square(wrong * TRIALS, share, TRIALS) > 10 * threshold
