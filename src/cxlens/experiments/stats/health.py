"""Experiment health and multiplicity: sample-ratio mismatch, Holm / Benjamini–Hochberg, guardrails.

References
----------
Fabijan et al. (2019). Diagnosing Sample Ratio Mismatch in Online Controlled Experiments. KDD.
Holm (1979). A simple sequentially rejective multiple test procedure. Scand. J. Statist. 6.
Benjamini & Hochberg (1995). Controlling the false discovery rate. JRSS B 57.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from scipy import stats as st
from statsmodels.stats.multitest import multipletests

from cxlens.errors import InvalidInputError

Correction = Literal["none", "holm", "bh"]
CORRECTIONS: tuple[str, ...] = ("none", "holm", "bh")
SRM_THRESHOLD = 0.001  # GrowthBook's default: flag a mismatch below p = 0.001


def srm_p_value(users: Sequence[float], weights: Sequence[float]) -> float:
    """Chi-square goodness-of-fit p-value of observed arm sizes against the planned weights.

    Arms with a non-positive weight are left out of the statistic (as gbstats does) while the degrees
    of freedom stay ``len(users) − 1``.
    """
    if len(users) != len(weights):
        raise InvalidInputError(f"weights: {len(weights)} weights for {len(users)} variants; give one "
                                "expected weight per variant", field="weights")
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise InvalidInputError("weights: expected weights must be non-negative and not all zero",
                                field="weights")
    total = float(sum(users))
    if total == 0:
        return 1.0
    total_weight = float(sum(weights))
    x = sum((u - w / total_weight * total) ** 2 / (w / total_weight * total)
            for u, w in zip(users, weights, strict=True) if w > 0)
    return float(st.chi2.sf(x, len(users) - 1))


def adjust_p_values(p_values: Sequence[float | None], correction: str) -> list[float | None]:
    """Holm (family-wise error) or Benjamini–Hochberg (false discovery rate) adjusted p-values.

    ``None`` entries (tests that could not run) are skipped and stay ``None``.
    """
    if correction not in CORRECTIONS:
        raise InvalidInputError(f"unknown correction {correction!r}; use one of {', '.join(CORRECTIONS)}",
                                field="correction")
    present = [i for i, p in enumerate(p_values) if p is not None]
    out: list[float | None] = list(p_values)
    if correction == "none" or not present:
        return out
    method = "holm" if correction == "holm" else "fdr_bh"
    adjusted = multipletests(np.array([p_values[i] for i in present], dtype=float), method=method)[1]
    for i, p in zip(present, adjusted, strict=True):
        out[i] = float(p)
    return out


def is_harmful(*, ci: Sequence[float], chance_to_win: float | None, inverse: bool, alpha: float,
               p_value: float | None = None) -> bool:
    """A guardrail is breached when the effect is credibly in the harmful direction.

    Frequentist/sequential: the (corrected) test rejects and the interval lies on the harmful side.
    Bayesian: the chance that the treatment is better is below α.
    """
    if chance_to_win is not None:
        return chance_to_win < alpha
    lo, hi = ci
    harmful_side = lo > 0 if inverse else hi < 0
    return harmful_side and (p_value is None or p_value < alpha)
