"""LinUCB: the Sherman–Morrison state equals a direct inverse, and it converges to the best arm."""

from __future__ import annotations

import numpy as np
import pytest

from cxlens.decide.bandit import LinUCB, context_features
from cxlens.errors import ModelNotFittedError


def test_sherman_morrison_matches_direct_inverse() -> None:
    rng = np.random.default_rng(0)
    bandit = LinUCB(n_features=4).fit(["a"])
    xs = rng.normal(size=(30, 4))
    for x in xs:
        bandit.update("a", x, 1.0)
    np.testing.assert_allclose(bandit.a_inv_["a"], np.linalg.inv(np.eye(4) + xs.T @ xs), atol=1e-9)


def test_unfitted_bandit_says_so() -> None:
    with pytest.raises(ModelNotFittedError):
        LinUCB().choose(np.ones(9), ["a"])


def test_converges_to_the_best_arm_per_context() -> None:
    """Mobile users click offer B most, desktop users offer A; LinUCB must learn both."""
    rng = np.random.default_rng(42)
    rates = {"desktop": {"A": 0.30, "B": 0.05, "C": 0.10}, "mobile": {"A": 0.05, "B": 0.25, "C": 0.10}}
    bandit = LinUCB(alpha=0.5).fit(list("ABC"))
    late = {"desktop": [], "mobile": []}
    for step in range(4_000):
        device = "desktop" if rng.random() < 0.5 else "mobile"
        x = context_features(device, None, None, evening=False, outbound=False)
        arm, _ = bandit.choose(x, list("ABC"))
        bandit.update(arm, x, float(rng.random() < rates[device][arm]))
        if step >= 3_000:
            late[device].append(arm)
    assert late["desktop"].count("A") / len(late["desktop"]) > 0.8
    assert late["mobile"].count("B") / len(late["mobile"]) > 0.8
