"""PLS path modelling (PLS-PM / PLS-SEM): Lohmöller's algorithm with Mode A blocks and bootstrap CIs.

Hand-written: no maintained Python PLS-PM package is a dependency of the project (``plspm`` on PyPI
was last released in 2024 and is GPL), and the algorithm is short. It follows the R package plspm
(Sanchez 2013) step for step and is tested against plspm's published output for the ECSI
mobile-phone data (``tests/cases/voc/plspm_satisfaction.json``).

Algorithm: indicators are centred (and scaled to unit variance when ``scaled``); each construct
starts as the equally weighted sum of its indicators, standardized. Then, until the weights move
less than ``tol``: inner estimates ``Z_j = Σ e_ji Y_i`` with the path weighting scheme (``e`` = the
regression coefficients of j on its predecessors, and the correlations of j with its successors),
or the centroid (sign of the correlation) or factorial (the correlation) scheme; Mode A outer
weights ``w_j = X_j' Z_j / n``; outer estimates ``Y_j = X_j w_j``, standardized. Paths are OLS
regressions among the final scores, loadings the correlations of indicators with their construct.

References
----------
Lohmöller, J.-B. (1989). Latent Variable Path Modeling with Partial Least Squares. Physica.
Tenenhaus, M., Esposito Vinzi, V., Chatelin, Y.-M. & Lauro, C. (2005). PLS path modeling.
Computational Statistics & Data Analysis 48(1), 159–205.
Sanchez, G. (2013). PLS Path Modeling with R. Trowchez Editions (the R package plspm).
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import numpy as np
import pandas as pd

from cxlens.errors import InvalidInputError, ModelNotFittedError
from cxlens.voc.reliability import block_quality
from cxlens.voc.spec import ModelSpec, parse_spec
from cxlens.voc.tables import numeric_columns

log = logging.getLogger(__name__)

Scheme = Literal["path", "centroid", "factorial"]
MIN_RESPONDENTS = 10


def _order(spec: ModelSpec) -> list[str]:
    """Constructs in an order where predictors come first; a cycle is an error."""
    latents = spec.latents
    for lhs, rhs in spec.structural.items():
        for name in (lhs, *rhs):
            if name not in spec.measurement:
                raise InvalidInputError(
                    f"construct {name!r} in '{lhs} ~ {' + '.join(rhs)}' has no measurement line: "
                    f"add '{name} =~ item1 + item2' (or '{name} =~ {name}' for a single column)",
                    token=name,
                )
    done: list[str] = []
    pending = list(latents)
    while pending:
        ready = [n for n in pending if all(p in done for p in spec.structural.get(n, []))]
        if not ready:
            raise InvalidInputError(
                f"the structural model has a cycle among {', '.join(pending)}; "
                "PLS path models must be recursive"
            )
        done.extend(ready)
        pending = [n for n in pending if n not in ready]
    return done


def _standardize(y: np.ndarray) -> np.ndarray:
    sd = y.std(axis=0, ddof=1)
    if np.any(sd == 0):
        raise InvalidInputError("a construct has no variance in these data (all its items are constant)")
    return (y - y.mean(axis=0)) / sd


class PLSPathModel:
    """PLS path model of reflective (Mode A) blocks.

    Parameters
    ----------
    spec : str or ModelSpec
        lavaan-style model text: ``LV =~ item + item`` blocks and ``LV ~ LV + LV`` paths.
    scheme : {"path", "centroid", "factorial"}
        Inner weighting scheme (plspm's default is centroid; path weighting is the usual choice).
    scaled : bool
        Standardize indicators (True) or only centre them (False, plspm's ``scaled = FALSE``).
    n_bootstrap : int
        Bootstrap resamples for standard errors and percentile CIs (0: none).
    confidence : float
        Level of the bootstrap intervals.
    max_iter, tol : int, float
        Iteration limit and convergence tolerance (sum of squared weight changes).
    random_state : int or None
        Seed of the bootstrap.

    Attributes
    ----------
    outer_model_ : DataFrame   latent, indicator, weight, loading, communality, redundancy
    paths_ : DataFrame         from, to, estimate (+ se, ci_low, ci_high with bootstrap)
    r2_ : Series               R² of each endogenous construct
    gof_ : float               goodness of fit, sqrt(mean communality × mean R²)
    scores_ : DataFrame        standardized construct scores
    quality_ : dict            reliability table, Fornell–Larcker, HTMT (see ``block_quality``)
    bootstrap_ : DataFrame     kind, name, mean, se, ci_low, ci_high (empty without bootstrap)
    n_iter_ : int              iterations to convergence

    References
    ----------
    Tenenhaus et al. (2005), CSDA 48; Sanchez (2013), PLS Path Modeling with R.
    """

    def __init__(
        self,
        spec: str | ModelSpec,
        *,
        scheme: Scheme = "path",
        scaled: bool = True,
        n_bootstrap: int = 0,
        confidence: float = 0.95,
        max_iter: int = 300,
        tol: float = 1e-10,
        random_state: int | None = None,
    ) -> None:
        self.spec = spec
        self.scheme = scheme
        self.scaled = scaled
        self.n_bootstrap = n_bootstrap
        self.confidence = confidence
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    # -- the estimation on one data matrix -------------------------------------------------------------
    def _prepare(self, data: pd.DataFrame) -> tuple[ModelSpec, list[str], np.ndarray]:
        spec = self.spec if isinstance(self.spec, ModelSpec) else parse_spec(self.spec)
        if self.scheme not in ("path", "centroid", "factorial"):
            raise InvalidInputError(f"unknown scheme {self.scheme!r}: use path, centroid or factorial")
        if spec.covariances:
            raise InvalidInputError("PLS path models take no '~~' covariance lines; remove them")
        if not spec.structural:
            raise InvalidInputError("a PLS path model needs at least one structural line 'LV ~ LV'")
        order = _order(spec)
        spec.check_columns(data.columns)
        frame = numeric_columns(data[spec.indicators], "model item")
        x = frame.to_numpy(dtype=float)
        if np.isnan(x).any():
            col = frame.columns[np.isnan(x).any(axis=0)][0]
            raise InvalidInputError(
                f"column {col!r} has missing values; impute or drop those rows first", column=col
            )
        if len(x) < max(MIN_RESPONDENTS, len(spec.indicators) // 2):
            raise InvalidInputError(f"too few respondents for a PLS path model: {len(x)}")
        return spec, order, x

    def _estimate(self, x: np.ndarray, spec: ModelSpec, order: list[str], w0: list[np.ndarray] | None):
        # Population (n) standard deviations, as plspm: the weights then reproduce its output.
        x = x - x.mean(axis=0)
        if self.scaled:
            sd = x.std(axis=0)
            if np.any(sd == 0):
                raise InvalidInputError("an item has no variance in these data; drop it from the model")
            x = x / sd
        cols = {}
        start = 0
        for name in spec.latents:
            cols[name] = slice(start, start + len(spec.measurement[name]))
            start += len(spec.measurement[name])
        idx = {name: i for i, name in enumerate(order)}
        k, n = len(order), len(x)
        blocks = [x[:, cols[name]] for name in order]
        weights = [np.ones(b.shape[1]) if w0 is None else w0[i].copy() for i, b in enumerate(blocks)]
        weights = [w / np.std(b @ w) for b, w in zip(blocks, weights, strict=True)]
        preds = {idx[lhs]: [idx[r] for r in rhs] for lhs, rhs in spec.structural.items()}
        adjacency = np.zeros((k, k), dtype=bool)
        for j, ps in preds.items():
            adjacency[j, ps] = True
        link = adjacency | adjacency.T

        def outer(ws: list[np.ndarray]) -> np.ndarray:
            return _standardize(np.column_stack([b @ w for b, w in zip(blocks, ws, strict=True)]))

        y = outer(weights)
        n_iter = 0
        for n_iter in range(1, self.max_iter + 1):  # noqa: B007 — n_iter is reported
            corr = np.corrcoef(y, rowvar=False)
            if self.scheme == "centroid":
                e = np.sign(corr) * link
            elif self.scheme == "factorial":
                e = corr * link
            else:
                e = corr * adjacency  # e[s, j]: successor s of j gets their correlation
                for j, ps in preds.items():  # predecessors: multiple-regression coefficients
                    e[ps, j] = np.linalg.lstsq(y[:, ps], y[:, j], rcond=None)[0]
            z = y @ e
            new = [b.T @ z[:, j] / n for j, b in enumerate(blocks)]
            new = [w / np.std(b @ w) for b, w in zip(blocks, new, strict=True)]
            change = sum(
                float(((np.abs(a) - np.abs(b)) ** 2).sum()) for a, b in zip(weights, new, strict=True)
            )
            weights, y = new, outer(new)
            if change < self.tol:
                break
        else:
            log.warning("PLS did not converge in %d iterations", self.max_iter)
        paths = np.zeros((k, k))
        r2 = np.zeros(k)
        for j, ps in preds.items():
            coef = np.linalg.lstsq(y[:, ps], y[:, j], rcond=None)[0]
            paths[j, ps] = coef
            r2[j] = 1 - ((y[:, j] - y[:, ps] @ coef) ** 2).sum() / ((y[:, j]) ** 2).sum()
        loadings = [
            np.array([np.corrcoef(b[:, i], y[:, j])[0, 1] for i in range(b.shape[1])])
            for j, b in enumerate(blocks)
        ]
        return weights, y, paths, r2, loadings, n_iter

    # -- the estimator --------------------------------------------------------------------------------
    def fit(self, data: pd.DataFrame) -> PLSPathModel:
        """Estimate the model on ``data`` (one row per respondent, one column per item)."""
        spec, order, x = self._prepare(data)
        perm = np.concatenate([np.arange(len(spec.indicators))[self._slice(spec, name)] for name in order])
        x = x[:, perm]
        spec_ordered = ModelSpec(
            measurement={n: spec.measurement[n] for n in order}, structural=spec.structural
        )
        weights, y, paths, r2, loadings, n_iter = self._estimate(x, spec_ordered, order, None)
        self.n_iter_ = n_iter
        self.latents_ = order
        endo = [n for n in order if n in spec.structural]
        self.r2_ = pd.Series({n: r2[order.index(n)] for n in endo}, name="r2")
        self.scores_ = pd.DataFrame(y, columns=order, index=data.index)
        rows = []
        for j, name in enumerate(order):
            r2_j = r2[j] if name in spec.structural else 0.0
            for i, item in enumerate(spec.measurement[name]):
                lam = loadings[j][i]
                rows.append(
                    {
                        "latent": name,
                        "indicator": item,
                        "weight": weights[j][i],
                        "loading": lam,
                        "communality": lam**2,
                        "redundancy": lam**2 * r2_j,
                    }
                )
        self.outer_model_ = pd.DataFrame(rows)
        self.paths_ = pd.DataFrame(
            [
                {"from": src, "to": dst, "estimate": paths[order.index(dst), order.index(src)]}
                for dst in endo
                for src in spec.structural[dst]
            ]
        )
        multi = self.outer_model_.groupby("latent")["indicator"].transform("count") > 1
        self.gof_ = float(np.sqrt(self.outer_model_.loc[multi, "communality"].mean() * self.r2_.mean()))
        self.quality_ = block_quality(
            data,
            spec_ordered.measurement,
            {n: loadings[j] for j, n in enumerate(order)},
            self.scores_.corr(),
            weights={n: weights[j] for j, n in enumerate(order)},
        )
        self.bootstrap_ = (
            self._bootstrap(x, spec_ordered, order, weights)
            if self.n_bootstrap
            else pd.DataFrame(columns=["kind", "name", "mean", "se", "ci_low", "ci_high"])
        )
        if not self.bootstrap_.empty:
            ci = self.bootstrap_[self.bootstrap_.kind == "path"].set_index("name")
            keys = self.paths_["from"] + " -> " + self.paths_["to"]
            for col in ("se", "ci_low", "ci_high"):
                self.paths_[col] = keys.map(ci[col]).to_numpy()
        return self

    @staticmethod
    def _slice(spec: ModelSpec, name: str) -> slice:
        start = 0
        for other in spec.latents:
            size = len(spec.measurement[other])
            if other == name:
                return slice(start, start + size)
            start += size
        raise KeyError(name)

    def _bootstrap(
        self, x: np.ndarray, spec: ModelSpec, order: list[str], w0: list[np.ndarray]
    ) -> pd.DataFrame:
        rng = np.random.default_rng(self.random_state)
        names: list[tuple[str, str]] = []
        draws = []
        for b in range(self.n_bootstrap):
            sample = x[rng.integers(0, len(x), len(x))]
            try:
                weights, _, paths, r2, loadings, _ = self._estimate(sample, spec, order, w0)
            except InvalidInputError:
                log.info("bootstrap sample %d skipped: a construct had no variance", b)
                continue
            values = []
            if not names:
                names = (
                    [
                        ("path", f"{s} -> {d}")
                        for d in order
                        if d in spec.structural
                        for s in spec.structural[d]
                    ]
                    + [("loading", f"{n}: {i}") for n in order for i in spec.measurement[n]]
                    + [("weight", f"{n}: {i}") for n in order for i in spec.measurement[n]]
                    + [("r2", d) for d in order if d in spec.structural]
                )
            values += [
                paths[order.index(d), order.index(s)]
                for d in order
                if d in spec.structural
                for s in spec.structural[d]
            ]
            values += [v for lam in loadings for v in lam]
            values += [v for w in weights for v in w]
            values += [r2[order.index(d)] for d in order if d in spec.structural]
            draws.append(values)
        arr = np.asarray(draws)
        tail = (1 - self.confidence) / 2
        low, high = np.quantile(arr, [tail, 1 - tail], axis=0)
        return pd.DataFrame(
            {
                "kind": [k for k, _ in names],
                "name": [n for _, n in names],
                "mean": arr.mean(axis=0),
                "se": arr.std(axis=0, ddof=1),
                "ci_low": low,
                "ci_high": high,
            }
        )

    def _check(self) -> None:
        if not hasattr(self, "paths_"):
            raise ModelNotFittedError("this PLSPathModel is not fitted yet: call fit(data) first")

    def summary(self) -> dict[str, Any]:
        """A JSON-ready report: reliability/validity, loadings, paths (with CIs), R² and GoF."""
        self._check()
        quality = self.quality_
        return {
            "method": "pls",
            "scheme": self.scheme,
            "scaled": self.scaled,
            "iterations": self.n_iter_,
            "reliability": quality["reliability"].reset_index(names="latent").to_dict("records"),
            "fornell_larcker": quality["fornell_larcker"].round(6).to_dict(),
            "discriminant_ok": quality["discriminant_ok"],
            "htmt": quality["htmt"].round(6).to_dict(),
            "loadings": self.outer_model_.to_dict("records"),
            "paths": self.paths_.to_dict("records"),
            "r2": self.r2_.to_dict(),
            "fit": {"gof": self.gof_},
            "bootstrap": self.n_bootstrap,
        }
