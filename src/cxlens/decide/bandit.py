"""Choosing offers with a contextual bandit: disjoint LinUCB, learning from click/conversion feedback.

Written from the paper rather than taken from a library: the decision path needs a choice in
microseconds under a lock, state that saves to the store as plain JSON, and Sherman–Morrison updates
so nothing is inverted per request; the arithmetic is small and tested against a direct inverse and
on a simulated environment.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import numpy as np

from cxlens import jsonutil
from cxlens.errors import InvalidInputError, ModelNotFittedError
from cxlens.store import Store

DEVICES = ("desktop", "mobile", "tablet", "app")
N_FEATURES = 1 + len(DEVICES) + 4  # bias, device one-hot, churn risk, value, evening, outbound


def context_features(device: str | None, churn_risk: float | None, value_scaled: float | None,
                     evening: bool, outbound: bool) -> np.ndarray:
    """The context vector LinUCB sees: bias, device, churn risk, customer value (0–1), evening, outbound."""
    x = np.zeros(N_FEATURES)
    x[0] = 1.0
    if device in DEVICES:
        x[1 + DEVICES.index(device)] = 1.0
    x[1 + len(DEVICES)] = churn_risk or 0.0
    x[2 + len(DEVICES)] = value_scaled or 0.0
    x[3 + len(DEVICES)] = float(evening)
    x[4 + len(DEVICES)] = float(outbound)
    return x


class LinUCB:
    """Disjoint LinUCB: one ridge regression per arm, and an upper confidence bound to explore.

    Parameters
    ----------
    alpha : float
        Width of the confidence bound (more exploration when larger).
    n_features : int
        Length of the context vector.

    Attributes
    ----------
    a_inv_ : dict of str to ndarray (n_features, n_features)
        Per arm, the inverse of ``I + Σ x xᵀ`` (kept by Sherman–Morrison updates).
    b_ : dict of str to ndarray (n_features,)
        Per arm, ``Σ reward · x``.
    pulls_, rewards_ : dict of str to float

    References
    ----------
    .. [1] Li, Chu, Langford, Schapire. "A contextual-bandit approach to personalized news article
       recommendation." WWW 2010, Algorithm 1.
    """

    def __init__(self, alpha: float = 0.5, n_features: int = N_FEATURES) -> None:
        self.alpha = alpha
        self.n_features = n_features

    def fit(self, arms: list[str]) -> LinUCB:
        """Start every arm from the prior (identity A, zero b); returns ``self``."""
        if not arms:
            raise InvalidInputError("a bandit needs at least one arm", field="arms")
        self.a_inv_ = {arm: np.eye(self.n_features) for arm in arms}
        self.b_ = {arm: np.zeros(self.n_features) for arm in arms}
        self.pulls_ = dict.fromkeys(arms, 0.0)
        self.rewards_ = dict.fromkeys(arms, 0.0)
        self._lock = threading.Lock()
        return self

    def _check(self) -> None:
        if not hasattr(self, "a_inv_"):
            raise ModelNotFittedError("LinUCB has no arms; call fit(arms) or load_state first")

    def add_arm(self, arm: str) -> None:
        self._check()
        with self._lock:
            if arm not in self.a_inv_:
                self.a_inv_[arm] = np.eye(self.n_features)
                self.b_[arm] = np.zeros(self.n_features)
                self.pulls_[arm] = self.rewards_[arm] = 0.0

    def ucb(self, x: np.ndarray, arms: list[str]) -> dict[str, tuple[float, float]]:
        """Per arm (expected reward, upper confidence bound)."""
        self._check()
        out = {}
        with self._lock:
            for arm in arms:
                a_inv = self.a_inv_[arm]
                theta = a_inv @ self.b_[arm]
                mean = float(theta @ x)
                out[arm] = (mean, mean + self.alpha * float(np.sqrt(max(x @ a_inv @ x, 0.0))))
        return out

    def choose(self, x: np.ndarray, arms: list[str]) -> tuple[str, float]:
        """The arm with the highest upper bound (ties to the first listed) and its expected reward."""
        scores = self.ucb(x, arms)
        best = max(arms, key=lambda a: scores[a][1])
        return best, scores[best][0]

    def update(self, arm: str, x: np.ndarray, reward: float) -> None:
        """Learn from one outcome; Sherman–Morrison keeps ``A⁻¹`` current in O(d²)."""
        self._check()
        if arm not in self.a_inv_:
            raise InvalidInputError(f"unknown arm {arm!r}", field="arm")
        with self._lock:
            a_inv = self.a_inv_[arm]
            ax = a_inv @ x
            self.a_inv_[arm] = a_inv - np.outer(ax, ax) / (1.0 + x @ ax)
            self.b_[arm] = self.b_[arm] + reward * x
            self.pulls_[arm] += 1
            self.rewards_[arm] += reward

    def reward(self, arm: str, x: np.ndarray, reward: float) -> None:
        """Add reward to an observation already counted by ``update`` (a click after its impression)."""
        self._check()
        with self._lock:
            self.b_[arm] = self.b_[arm] + reward * x
            self.rewards_[arm] += reward

    def save_state(self, store: Store, arms: list[str] | None = None) -> None:
        self._check()
        now = datetime.now(UTC)
        with self._lock:
            rows = [(arm, jsonutil.dumps_str(self.a_inv_[arm].tolist()),
                     jsonutil.dumps_str(self.b_[arm].tolist()),
                     int(self.pulls_[arm]), float(self.rewards_[arm]), now)
                    for arm in (arms or list(self.a_inv_))]
        store.executemany("""
            INSERT INTO decide_bandit_state VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT DO UPDATE SET a_inv = excluded.a_inv, b = excluded.b, pulls = excluded.pulls,
                reward = excluded.reward, updated_at = excluded.updated_at""", rows)

    def load_state(self, store: Store, arms: list[str]) -> LinUCB:
        """Arms start from the prior unless the store has their state; returns ``self``."""
        self.fit(arms)
        for arm, a_inv, b, pulls, reward in store.fetchall(
                "SELECT arm_id, a_inv, b, pulls, reward FROM decide_bandit_state"):
            if arm in self.a_inv_:
                self.a_inv_[arm] = np.array(jsonutil.loads(a_inv))
                self.b_[arm] = np.array(jsonutil.loads(b))
                self.pulls_[arm], self.rewards_[arm] = float(pulls), float(reward)
        return self
