"""The generative model of the loop: a semi-supervised disentangled VAE (Pyro), its training and uses.

- :class:`SSVAE`: the scikit-learn estimator (fit, encode/decode, predict_proba (n, 2) / predict_positive
  (n,) / predict_proba_samples, latent_health, save/load).
- :mod:`arcloop.models.design`: the paper's inverse-design modes (screen, generate, flip).
- :mod:`arcloop.models.evaluation`: the paper's split protocol and the supervised-only comparison.
"""

from arcloop.models.design import FlipStep, Generated, clean_compositions, flip, generate, screen
from arcloop.models.evaluation import Split, distinct_alloys, evaluate, paper_split
from arcloop.models.ssvae import SSVAE

__all__ = [
    "SSVAE",
    "FlipStep",
    "Generated",
    "Split",
    "clean_compositions",
    "distinct_alloys",
    "evaluate",
    "flip",
    "generate",
    "paper_split",
    "screen",
]
