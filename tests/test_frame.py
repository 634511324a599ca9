"""One latent frame: the Procrustes disparity that measures how far it moved between retrains."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial import procrustes

from arcloop.metrics import procrustes_disparity


def test_rigid_motion_of_the_frame_is_no_drift_and_a_deformation_is() -> None:
    rng = np.random.default_rng(0)
    before = rng.normal(size=(200, 2)) * np.array([2.0, 0.5])
    theta = 0.7
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    mirrored = (before @ rotation) * 3.0 + np.array([5.0, -1.0])
    mirrored[:, 0] *= -1.0
    assert procrustes_disparity(before, mirrored) == pytest.approx(0.0, abs=1e-12)
    sheared = before @ np.array([[1.0, 0.8], [0.0, 1.0]])
    stretched = before * np.array([1.0, 4.0])
    assert procrustes_disparity(before, sheared) > 0.01
    assert procrustes_disparity(before, stretched) > procrustes_disparity(before, before * [1.0, 1.5])


def test_disparity_equals_scipys_procrustes_on_random_clouds() -> None:
    rng = np.random.default_rng(1)
    for _ in range(5):
        a, b = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
        assert procrustes_disparity(a, b) == pytest.approx(procrustes(a, b)[2], rel=1e-10)


def test_a_single_point_has_nothing_to_align() -> None:
    assert math.isnan(procrustes_disparity(np.zeros((1, 2)), np.ones((1, 2))))


def test_an_unmoved_frame_has_exactly_zero_drift() -> None:
    """A campaign that does not refit encodes the pool identically: drift 0.0 exactly, not ~1e-15."""
    rng = np.random.default_rng(2)
    for _ in range(50):
        cloud = rng.normal(size=(1300, 2))
        assert procrustes_disparity(cloud, cloud.copy()) == 0.0
    assert math.isnan(procrustes_disparity(np.ones((5, 2)), np.ones((5, 2))))  # one point, repeated
