"""Multi-touch attribution: who gets credit for a conversion.

Heuristic rules (first, last, linear, time decay, position based) split each converting path's
credit over its touches. The two data-driven models compare journeys with and without a channel:

* **Markov** (Anderl et al. 2016): paths become an absorbing Markov chain (start → channels →
  conversion | null). The conversion probability from start is solved *exactly* from the linear
  system (I − Q) x = r; a channel's removal effect is the relative drop in that probability when its
  states are removed (traffic into them is lost). Conversions are shared in proportion to removal
  effects. Order k > 1 uses the last k channels as the state.
* **Shapley** (Zhao et al. 2018): the characteristic function v(S) is the conversions (or value) of
  the journeys whose set of channels is *a subset of* S ("at most the coalition"); the Shapley value
  is computed exactly over all 2^n coalitions. For this v the result equals splitting each path's
  conversions equally among its distinct channels (v is a sum of unanimity games), which the tests
  check.

References
----------
Anderl, Becker, von Wangenheim, Schumann (2016). Mapping the customer journey: Lessons learned from
graph-based online attribution modeling. Int. J. Research in Marketing 33(3).
Zhao, Mahboobi, Bagheri (2018). Shapley Value Methods for Attribution Modeling in Online Advertising.
arXiv:1804.05327.
Shapley (1953). A value for n-person games. Contributions to the Theory of Games II.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import spsolve

from cxlens.errors import InvalidInputError
from cxlens.journeys.paths import PathTable, read_paths, read_spend

HEURISTICS = ("first", "last", "linear", "time_decay", "position")
MODELS = (*HEURISTICS, "markov", "shapley")
MAX_SHAPLEY_CHANNELS = 20


def position_weights(length: int, *, half_life: float = 1.0, first: float = 0.4, last: float = 0.4,
                     model: str = "linear") -> np.ndarray:
    """Credit per touch of a path of ``length`` touches under a heuristic rule (sums to 1)."""
    if model == "first":
        w = np.zeros(length)
        w[0] = 1.0
    elif model == "last":
        w = np.zeros(length)
        w[-1] = 1.0
    elif model == "linear":
        w = np.full(length, 1.0 / length)
    elif model == "time_decay":
        # touches k steps before the conversion weigh 2^(−k / half_life); half-life counted in touches
        w = 2.0 ** (-(np.arange(length)[::-1]) / half_life)
        w /= w.sum()
    elif length <= 2:  # position based: one touch takes all, two share equally
        w = np.full(length, 1.0 / length)
    else:
        w = np.full(length, (1.0 - first - last) / (length - 2))
        w[0], w[-1] = first, last
    return w


def _heuristic(table: PathTable, model: str, **params: float) -> dict[str, np.ndarray]:
    channels = table.channels
    index = {c: i for i, c in enumerate(channels)}
    conv, value = np.zeros(len(channels)), np.zeros(len(channels))
    for path, c, v in zip(table.paths, table.conversions, table.values, strict=True):
        if c == 0 and v == 0:
            continue
        w = position_weights(len(path), model=model, **params)
        for channel, weight in zip(path, w, strict=True):
            conv[index[channel]] += c * weight
            value[index[channel]] += v * weight
    return {"conversions": conv, "value": value}


def _states(path: tuple[str, ...], order: int) -> list[tuple[str, ...]]:
    return [path[max(0, i - order + 1): i + 1] for i in range(len(path))]


def markov_chain(table: PathTable, order: int = 1) -> tuple[list[tuple[str, ...]], sparse.csr_matrix,
                                                            np.ndarray]:
    """Transient states (state 0 is start), transition matrix Q among them and r into conversion."""
    if order < 1:
        raise InvalidInputError(f"Markov order must be at least 1, got {order}", field="order")
    ids: dict[tuple[str, ...], int] = {(): 0}
    rows, cols, weights = [], [], []
    to_conv: dict[int, float] = {}
    out_total: dict[int, float] = {}
    for path, conv, null in zip(table.paths, table.conversions, table.nulls, strict=True):
        count = conv + null
        if count == 0:
            continue
        previous = 0
        for state in _states(path, order):
            current = ids.setdefault(state, len(ids))
            rows.append(previous)
            cols.append(current)
            weights.append(count)
            out_total[previous] = out_total.get(previous, 0.0) + count
            previous = current
        to_conv[previous] = to_conv.get(previous, 0.0) + conv
        out_total[previous] = out_total.get(previous, 0.0) + count
    size = len(ids)
    totals = np.array([out_total.get(i, 0.0) for i in range(size)])
    totals[totals == 0] = 1.0
    counts = sparse.csr_matrix((weights, (rows, cols)), shape=(size, size))
    q = sparse.diags(1.0 / totals) @ counts
    r = np.array([to_conv.get(i, 0.0) for i in range(size)]) / totals
    return list(ids), q.tocsr(), r


def conversion_probability(q: sparse.csr_matrix, r: np.ndarray, keep: np.ndarray | None = None) -> float:
    """P(absorbed in conversion | start) = x_start with (I − Q) x = r, over the kept states only."""
    if keep is not None:
        q, r = q[keep][:, keep], r[keep]
    if r.sum() == 0:
        return 0.0
    system = (sparse.identity(q.shape[0], format="csc") - q).tocsc()
    x = spsolve(system, r)
    return float(np.atleast_1d(x)[0])


def removal_effects(table: PathTable, order: int = 1) -> dict[str, float]:
    """Relative drop in conversion probability when each channel is removed from the chain."""
    states, q, r = markov_chain(table, order)
    base = conversion_probability(q, r)
    effects = {}
    for channel in table.channels:
        keep = np.array([channel not in state for state in states])
        effects[channel] = 0.0 if base == 0 else 1.0 - conversion_probability(q, r, keep) / base
    return effects


def _markov(table: PathTable, order: int = 1) -> dict[str, Any]:
    effects = removal_effects(table, order)
    re = np.array([effects[c] for c in table.channels])
    share = re / re.sum() if re.sum() > 0 else np.zeros_like(re)
    return {"conversions": share * table.total_conversions, "value": share * table.total_value,
            "removal_effects": effects}


def shapley_values(table: PathTable, weights: np.ndarray) -> np.ndarray:
    """Exact Shapley values over all coalitions of v(S) = Σ weights of paths with channels ⊆ S."""
    channels = table.channels
    n = len(channels)
    if n > MAX_SHAPLEY_CHANNELS:
        raise InvalidInputError(f"exact Shapley attribution needs 2^n coalitions; {n} channels is more than "
                                f"{MAX_SHAPLEY_CHANNELS}: merge rare channels or use --model markov",
                                field="model")
    bit = {c: 1 << i for i, c in enumerate(channels)}
    masks = np.array([sum(bit[c] for c in set(path)) for path in table.paths], dtype=np.int64)
    v = np.zeros(1 << n)
    np.add.at(v, masks, weights)
    for i in range(n):  # zeta transform: v[S] = Σ_{T ⊆ S} c_T
        view = v.reshape(-1, 2, 1 << i)
        view[:, 1, :] += view[:, 0, :]
    sizes = np.zeros(1 << n, dtype=np.int64)
    for i in range(n):
        sizes.reshape(-1, 2, 1 << i)[:, 1, :] += 1
    coef = np.array([math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n) for s in range(n)])
    phi = np.zeros(n)
    for i in range(n):
        without = v.reshape(-1, 2, 1 << i)[:, 0, :]
        with_i = v.reshape(-1, 2, 1 << i)[:, 1, :]
        size = sizes.reshape(-1, 2, 1 << i)[:, 0, :]
        phi[i] = float((coef[size] * (with_i - without)).sum())
    return phi


def _shapley(table: PathTable) -> dict[str, np.ndarray]:
    return {"conversions": shapley_values(table, table.conversions),
            "value": shapley_values(table, table.values)}


def attribute(table: PathTable, model: str = "markov", *, order: int = 1, half_life: float = 1.0,
              first: float = 0.4, last: float = 0.4) -> dict[str, Any]:
    """Attributed conversions (and value) per channel under ``model``; they sum to the totals."""
    if model not in MODELS:
        raise InvalidInputError(f"unknown attribution model {model!r}; use one of {', '.join(MODELS)} or all",
                                field="model")
    if half_life <= 0:
        raise InvalidInputError(f"half_life must be positive, got {half_life}", field="half_life")
    if first < 0 or last < 0 or first + last > 1:
        raise InvalidInputError("position weights: first and last must be ≥ 0 and sum to at most 1",
                                field="position")
    if model == "markov":
        raw = _markov(table, order)
    elif model == "shapley":
        raw = _shapley(table)
    else:
        raw = _heuristic(table, model, half_life=half_life, first=first, last=last)
    channels = table.channels
    total = table.total_conversions
    rows = [{"channel": c, "conversions": float(raw["conversions"][i]), "value": float(raw["value"][i]),
             "share": float(raw["conversions"][i] / total) if total else 0.0}
            for i, c in enumerate(channels)]
    if "removal_effects" in raw:
        for row in rows:
            row["removal_effect"] = raw["removal_effects"][row["channel"]]
    return {"model": model, "total_conversions": total, "total_value": table.total_value, "channels": rows}


def compare_models(table: PathTable, **params: Any) -> dict[str, Any]:
    """Attributed conversions per channel under every model, side by side."""
    models = [m for m in MODELS if m != "shapley" or len(table.channels) <= MAX_SHAPLEY_CHANNELS]
    results = {m: attribute(table, m, **params) for m in models}
    channels = [{"channel": c, **{m: results[m]["channels"][i]["conversions"] for m in models}}
                for i, c in enumerate(table.channels)]
    return {"model": "all", "models": models, "total_conversions": table.total_conversions,
            "channels": channels}


def roi_and_budget(result: dict[str, Any], spend: dict[str, float], *, elasticity: float = 0.5,
                   use_value: bool = True) -> dict[str, Any]:
    """ROAS/ROI/CPA per channel and a budget reallocation at the same total spend.

    Assumption (say it to users): each channel's return follows a concave response curve
    return = k · spend^β with diminishing returns (β = ``elasticity`` in (0, 1)), calibrated so that the
    curve passes through today's attributed return. Maximising Σ k·s^β at a fixed total budget gives
    s_c ∝ k_c^(1/(1−β)): money moves toward channels whose marginal return β·k·s^(β−1) is higher.
    """
    known = {row["channel"] for row in result["channels"]}
    unknown = sorted(set(spend) - known)
    if unknown:
        raise InvalidInputError(f"spend file names channel(s) {', '.join(unknown)} that appear in no path; "
                                f"known channels: {', '.join(sorted(known))}", field="channel")
    if not 0 < elasticity < 1:
        raise InvalidInputError(f"elasticity must be in (0, 1), got {elasticity}", field="elasticity")
    metric = "value" if use_value and result["total_value"] > 0 else "conversions"
    rows = []
    for row in result["channels"]:
        s = spend.get(row["channel"])
        ret = row[metric]
        rows.append({"channel": row["channel"], "spend": s, "return": ret,
                     "roas": ret / s if s else None, "roi": (ret - s) / s if s else None,
                     "cpa": s / row["conversions"] if s and row["conversions"] else None})
    funded = [r for r in rows if r["spend"]]
    budget = sum(r["spend"] for r in funded)
    k = np.array([r["return"] / r["spend"] ** elasticity for r in funded])
    power = k ** (1 / (1 - elasticity))
    suggested = budget * power / power.sum() if power.sum() > 0 else np.array([r["spend"] for r in funded])
    for r, s_new, kc in zip(funded, suggested, k, strict=True):
        r["suggested_spend"] = float(s_new)
        r["change"] = float(s_new - r["spend"])
        r["marginal_return"] = float(elasticity * kc * r["spend"] ** (elasticity - 1))
    current = float(sum(r["return"] for r in funded))
    expected = float((k * suggested**elasticity).sum())
    return {"metric": metric, "elasticity": elasticity, "budget": budget, "channels": rows,
            "current_return": current, "expected_return": expected,
            "assumption": f"return = k·spend^{elasticity:g} per channel (diminishing returns), calibrated to "
                          "today's attributed return; total budget unchanged"}


def attribution_report(paths: Path | str, model: str = "markov", spend: Path | str | None = None,
                       **params: Any) -> dict[str, Any]:
    """Read the paths (and spend) files and attribute: one model, or ``"all"`` side by side."""
    table = read_paths(paths)
    result = compare_models(table, **params) if model == "all" else attribute(table, model, **params)
    if spend is not None:
        single = attribute(table, "markov" if model == "all" else model, **params)
        result["roi"] = roi_and_budget(single, read_spend(spend))
    return result
