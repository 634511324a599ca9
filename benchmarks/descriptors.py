"""Compositions per second of `arcloop.materials.descriptors`, one core, against a per-alloy Python loop.

Run: python benchmarks/descriptors.py [--n 1000000] [--n-loop 10000] [--repeats 5]
"""

from __future__ import annotations

import os

# One core: pin BLAS/OpenMP before numpy is imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from arcloop.data import ELEMENTS, load_element_properties, mixing_enthalpy_matrix  # noqa: E402
from arcloop.materials import descriptors  # noqa: E402
from arcloop.materials.descriptors import GAS_CONSTANT  # noqa: E402

try:
    from _machine import machine_info
except ImportError:  # run as a module
    from benchmarks._machine import machine_info


def random_compositions(n: int, n_components: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = np.zeros((n, len(ELEMENTS)))
    columns = np.argsort(rng.random((n, len(ELEMENTS))), axis=1)[:, :n_components]
    np.put_along_axis(X, columns, rng.dirichlet(np.ones(n_components), size=n), axis=1)
    return X


def per_alloy_loop(X: np.ndarray) -> list[list[float]]:
    """The textbook per-alloy loop over a dict of properties: what vectorisation replaces."""
    table = load_element_properties(ELEMENTS).to_dict("index")
    h = mixing_enthalpy_matrix()
    rows = []
    for composition in X:
        present = [(ELEMENTS[i], float(c), i) for i, c in enumerate(composition) if c > 0]
        k = sum(c * table[e]["k"] for e, c, _ in present)
        vm = sum(c * table[e]["vm"] for e, c, _ in present)
        tm = sum(c * table[e]["tm"] for e, c, _ in present)
        vac = sum(c * table[e]["vac"] for e, c, _ in present)
        r_bar = sum(c * table[e]["ar"] for e, c, _ in present)
        delta = 100 * math.sqrt(sum(c * (1 - table[e]["ar"] / r_bar) ** 2 for e, c, _ in present))
        chi_bar = sum(c * table[e]["chi"] for e, c, _ in present)
        delta_chi = math.sqrt(sum(c * (table[e]["chi"] - chi_bar) ** 2 for e, c, _ in present))
        s_mix = -GAS_CONSTANT * sum(c * math.log(c) for _, c, _ in present)
        h_mix = sum(
            4 * ci * cj * h[i, j] for a, (_, ci, i) in enumerate(present) for (_, cj, j) in present[a + 1 :]
        )
        rows.append([k, vm, tm, vac, delta, delta_chi, s_mix, h_mix])
    return rows


def timed(function, *args, repeats: int) -> list[float]:
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(*args)
        seconds.append(time.perf_counter() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--n-loop", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    X = random_compositions(args.n, 5, seed=0)
    X_loop = X[: args.n_loop]
    np.testing.assert_allclose(
        descriptors(X_loop).iloc[:, :8].to_numpy(), np.array(per_alloy_loop(X_loop)), rtol=1e-9, atol=1e-12
    )
    vectorised = statistics.median(timed(descriptors, X, repeats=args.repeats))
    loop = statistics.median(timed(per_alloy_loop, X_loop, repeats=max(1, args.repeats // 2)))
    vectorised_rate = args.n / vectorised
    loop_rate = args.n_loop / loop
    print(
        json.dumps(
            {
                "benchmark": "descriptors",
                "machine": machine_info(),
                "threads": 1,
                "n_vectorised": args.n,
                "n_loop": args.n_loop,
                "repeats": args.repeats,
                "vectorised_seconds_median": round(vectorised, 4),
                "vectorised_compositions_per_second": round(vectorised_rate),
                "loop_seconds_median": round(loop, 4),
                "loop_compositions_per_second": round(loop_rate),
                "speedup": round(vectorised_rate / loop_rate, 1),
                "target_compositions_per_second": 1_000_000,
                "meets_target": vectorised_rate >= 1_000_000,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
