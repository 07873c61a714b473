"""Reliability and validity of measurement blocks: alpha, rho_c, rho_A, AVE, Fornell–Larcker, HTMT.

Hand-written because none of the project's libraries (semopy, statsmodels, scipy) offers them; each
is a few lines of linear algebra and is tested against published plspm output for the ECSI data or
against its population value on simulated data.

References
----------
Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests. Psychometrika 16.
Werts, C. E., Linn, R. L. & Jöreskog, K. G. (1974). Intraclass reliability estimates (rho_c).
Fornell, C. & Larcker, D. F. (1981). Evaluating structural equation models with unobservable
variables and measurement error. Journal of Marketing Research 18.
Dijkstra, T. K. & Henseler, J. (2015). Consistent partial least squares path modeling. MIS Quarterly 39.
Henseler, J., Ringle, C. M. & Sarstedt, M. (2015). A new criterion for assessing discriminant validity
in variance-based structural equation modeling. J. of the Academy of Marketing Science 43.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from cxlens.errors import InvalidInputError


def _items(data: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.DataFrame:
    frame = data if columns is None else data[list(columns)]
    if frame.shape[1] < 2:
        raise InvalidInputError(f"a reliability needs at least two items, got {list(frame.columns)}")
    if len(frame) < 3:
        raise InvalidInputError(f"too few respondents for a reliability: {len(frame)} (need at least 3)")
    if frame.isna().any().any():
        col = frame.columns[frame.isna().any()][0]
        raise InvalidInputError(f"item {col!r} has missing answers; impute or drop those rows first")
    return frame.astype(float)


def cronbach_alpha(items: pd.DataFrame, *, standardized: bool = False) -> float:
    """Cronbach's alpha, ``k/(k−1) · (1 − Σ var_i / var_total)``; on correlations when ``standardized``."""
    frame = _items(items)
    cov = (
        np.corrcoef(frame.to_numpy(), rowvar=False)
        if standardized
        else np.cov(frame.to_numpy(), rowvar=False)
    )
    k = cov.shape[0]
    return float(k / (k - 1) * (1 - np.trace(cov) / cov.sum()))


def alpha_if_deleted(items: pd.DataFrame, *, standardized: bool = False) -> pd.Series:
    """Alpha of the block with each item left out (only for blocks of three items or more)."""
    frame = _items(items)
    if frame.shape[1] < 3:
        return pd.Series(np.nan, index=frame.columns, name="alpha_if_deleted")
    return pd.Series(
        {c: cronbach_alpha(frame.drop(columns=c), standardized=standardized) for c in frame},
        name="alpha_if_deleted",
    )


def composite_reliability(loadings: Sequence[float] | np.ndarray) -> float:
    """rho_c (Dillon–Goldstein / Jöreskog) of standardized loadings: ``(Σλ)² / ((Σλ)² + Σ(1 − λ²))``."""
    lam = np.abs(np.asarray(loadings, dtype=float))
    return float(lam.sum() ** 2 / (lam.sum() ** 2 + (1 - lam**2).sum()))


def first_component_loadings(items: pd.DataFrame) -> np.ndarray:
    """Correlations of each item with the block's first principal component (sign: mostly positive)."""
    corr = np.corrcoef(_items(items).to_numpy(), rowvar=False)
    values, vectors = np.linalg.eigh(corr)
    lam = vectors[:, -1] * np.sqrt(values[-1])
    return lam if lam.sum() >= 0 else -lam


def ave(loadings: Sequence[float] | np.ndarray) -> float:
    """Average variance extracted: the mean squared standardized loading."""
    lam = np.asarray(loadings, dtype=float)
    return float((lam**2).mean())


def rho_a(items: pd.DataFrame, weights: Sequence[float] | np.ndarray) -> float:
    """Dijkstra–Henseler's rho_A of a block with (outer) ``weights`` on its standardized items.

    ``ρ_A = (ŵ'ŵ)² · ŵ'(S − diag S)ŵ / ŵ'(ŵŵ' − diag ŵŵ')ŵ`` with ŵ scaled so the composite has unit
    variance and S the items' correlation matrix.
    """
    corr = np.corrcoef(_items(items).to_numpy(), rowvar=False)
    w = np.asarray(weights, dtype=float)
    w = w / np.sqrt(w @ corr @ w)
    outer = np.outer(w, w)
    off_s = corr - np.diag(np.diag(corr))
    off_w = outer - np.diag(np.diag(outer))
    return float((w @ w) ** 2 * (w @ off_s @ w) / (w @ off_w @ w))


def fornell_larcker(ave_by_latent: Mapping[str, float], latent_corr: pd.DataFrame) -> pd.DataFrame:
    """The Fornell–Larcker table: sqrt(AVE) on the diagonal, construct correlations below it.

    Discriminant validity holds when each diagonal value exceeds every correlation in its row and column.
    """
    names = list(ave_by_latent)
    table = latent_corr.loc[names, names].copy().astype(float)
    for name in names:
        table.loc[name, name] = np.sqrt(ave_by_latent[name])
    return table


def fornell_larcker_ok(table: pd.DataFrame) -> dict[str, bool]:
    """Per construct: is sqrt(AVE) larger than its absolute correlation with every other construct?"""
    values = table.to_numpy()
    ok = {}
    for i, name in enumerate(table.index):
        others = np.abs(np.delete(values[i], i))
        ok[name] = bool((values[i, i] > others).all()) if others.size else True
    return ok


def htmt(data: pd.DataFrame, blocks: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """Heterotrait–monotrait ratio for every pair of blocks (values above 0.85–0.90 signal trouble).

    ``HTMT_ij`` = mean correlation between items of i and j / sqrt(mean within-i × mean within-j
    correlation), the within-block means taken over distinct item pairs.
    """
    names = [b for b, items in blocks.items() if len(items) >= 2]
    corr = data[[c for b in names for c in blocks[b]]].astype(float).corr()
    mono = {}
    for b in names:
        sub = corr.loc[list(blocks[b]), list(blocks[b])].to_numpy()
        mono[b] = sub[np.triu_indices_from(sub, k=1)].mean()
    out = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            hetero = corr.loc[list(blocks[a]), list(blocks[b])].to_numpy().mean()
            value = hetero / np.sqrt(mono[a] * mono[b])
            out.loc[a, b] = out.loc[b, a] = value
    return out


def block_quality(
    data: pd.DataFrame,
    blocks: Mapping[str, Sequence[str]],
    loadings: Mapping[str, np.ndarray],
    latent_corr: pd.DataFrame,
    weights: Mapping[str, np.ndarray] | None = None,
) -> dict:
    """Everything a reader checks about the measurement model, for SEM and PLS alike.

    ``loadings`` are standardized loadings per block; ``weights`` (PLS outer weights) enable rho_A.
    Returns ``{"reliability": DataFrame, "fornell_larcker": DataFrame, "discriminant_ok": dict,
    "htmt": DataFrame}``; single-item blocks get NaN reliabilities.
    """
    rows = {}
    for name, items in blocks.items():
        lam = np.asarray(loadings[name], dtype=float)
        multi = len(items) >= 2
        rows[name] = {
            "items": len(items),
            "alpha": cronbach_alpha(data[list(items)]) if multi else np.nan,
            "rho_c": composite_reliability(lam) if multi else np.nan,
            "rho_a": rho_a(data[list(items)], weights[name]) if multi and weights is not None else np.nan,
            "ave": ave(lam),
        }
    table = fornell_larcker({b: rows[b]["ave"] for b in blocks}, latent_corr)
    return {
        "reliability": pd.DataFrame(rows).T,
        "fornell_larcker": table,
        "discriminant_ok": fornell_larcker_ok(table),
        "htmt": htmt(data, blocks),
    }
