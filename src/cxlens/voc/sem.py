"""Covariance-based CFA and structural equation models, estimated by semopy.

semopy does the estimation (maximum likelihood, its ``MLW`` objective) and the fit statistics
(chi-square, CFI, TLI, RMSEA); this module adds what semopy does not report — the SRMR, the latent
correlations, and the reliability/validity table — and turns everything into one report. The
lavaan-style text is checked by :func:`cxlens.voc.spec.parse_spec` first, so a malformed line is named
before semopy sees it.

SRMR is Bentler's: the root mean square of ``(s_ij − σ_ij) / sqrt(s_ii s_jj)`` over the lower triangle
(diagonal included) of the sample (ML, divisor n) and model-implied covariance matrices, as lavaan's
``srmr``. Hand-written because semopy does not compute it; tested against lavaan's documented value.

References
----------
Igolkina, A. A. & Meshcheryakov, G. (2020). semopy: A Python package for structural equation
modeling. Structural Equation Modeling 27(6).
Rosseel, Y. (2012). lavaan: An R package for structural equation modeling. J. Stat. Software 48(2).
Hu, L. & Bentler, P. M. (1999). Cutoff criteria for fit indexes in covariance structure analysis.
Structural Equation Modeling 6(1).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from cxlens.errors import InvalidInputError, ModelNotFittedError
from cxlens.voc.reliability import block_quality
from cxlens.voc.spec import ModelSpec, parse_spec
from cxlens.voc.tables import numeric_columns

log = logging.getLogger(__name__)

MIN_RESPONDENTS = 30


def _semopy_text(spec: ModelSpec) -> str:
    lines = [f"{lv} =~ {' + '.join(items)}" for lv, items in spec.measurement.items()]
    lines += [f"{lhs} ~ {' + '.join(rhs)}" for lhs, rhs in spec.structural.items()]
    lines += [f"{a} ~~ {b}" for a, b in spec.covariances]
    return "\n".join(lines)


def srmr(sample_cov: np.ndarray, implied_cov: np.ndarray) -> float:
    """Bentler's standardized root mean square residual of two covariance matrices."""
    sd = np.sqrt(np.diag(sample_cov))
    resid = (sample_cov - implied_cov) / np.outer(sd, sd)
    lower = resid[np.tril_indices_from(resid)]
    return float(np.sqrt((lower**2).mean()))


class StructuralEquationModel:
    """A CFA (only ``=~`` lines) or SEM (``=~`` and ``~`` lines) fitted by maximum likelihood.

    Parameters
    ----------
    spec : str or ModelSpec
        lavaan-style model text.

    Attributes
    ----------
    fit_indices_ : dict     chi2, df, p_value, cfi, tli, rmsea, srmr, aic, bic, n
    loadings_ : DataFrame   latent, indicator, estimate, std_estimate, se, p_value
    paths_ : DataFrame      from, to, estimate, std_estimate, se, p_value, ci_low, ci_high (95 %, Wald)
    estimates_ : DataFrame  semopy's full parameter table (standardized column included)
    latent_corr_ : DataFrame  model-implied correlations among the latent variables
    quality_ : dict         reliability (alpha, rho_c, AVE), Fornell–Larcker, HTMT

    References
    ----------
    Igolkina & Meshcheryakov (2020), semopy; Rosseel (2012), lavaan.
    """

    def __init__(self, spec: str | ModelSpec) -> None:
        self.spec = spec

    def fit(self, data: pd.DataFrame) -> StructuralEquationModel:
        """Estimate the model on ``data`` (one row per respondent)."""
        import semopy

        spec = self.spec if isinstance(self.spec, ModelSpec) else parse_spec(self.spec)
        if not spec.measurement:
            raise InvalidInputError("a CFA/SEM needs at least one measurement line 'LATENT =~ item + item'")
        spec.check_columns(data.columns)
        observed = list(
            dict.fromkeys(
                spec.indicators
                + [
                    v
                    for lhs, rhs in spec.structural.items()
                    for v in (lhs, *rhs)
                    if v not in spec.measurement
                ]
            )
        )
        frame = numeric_columns(data[observed], "model item")
        if frame.isna().any().any():
            col = frame.columns[frame.isna().any()][0]
            raise InvalidInputError(
                f"column {col!r} has missing values; impute or drop those rows first", column=col
            )
        if len(frame) < MIN_RESPONDENTS:
            raise InvalidInputError(
                f"too few respondents for a CFA/SEM: {len(frame)} (need {MIN_RESPONDENTS}+)"
            )
        model = semopy.Model(_semopy_text(spec))
        result = model.fit(frame.astype(float))
        if not getattr(result, "success", True):
            log.warning("semopy did not report convergence: %s", getattr(result, "message", ""))
        stats = semopy.calc_stats(model).T["Value"]
        estimates = model.inspect(std_est=True)
        obs_order = list(model.vars["observed"])
        sample = np.cov(frame[obs_order].to_numpy(dtype=float), rowvar=False, ddof=0)
        self.fit_indices_ = {
            "n": len(frame),
            "chi2": float(stats["chi2"]),
            "df": float(stats["DoF"]),
            "p_value": float(stats["chi2 p-value"]),
            "cfi": float(stats["CFI"]),
            "tli": float(stats["TLI"]),
            "rmsea": float(stats["RMSEA"]),
            "srmr": srmr(sample, model.calc_sigma()[0]),
            "aic": float(stats["AIC"]),
            "bic": float(stats["BIC"]),
        }
        self.estimates_ = estimates
        latents = list(spec.measurement)
        is_loading = (
            (estimates["op"] == "~") & estimates["rval"].isin(latents) & ~estimates["lval"].isin(latents)
        )
        self.loadings_ = self._table(estimates[is_loading], "latent", "indicator")
        self.paths_ = self._table(estimates[(estimates["op"] == "~") & ~is_loading], "from", "to")
        self.latent_corr_ = self._latent_corr(model, latents)
        std = {
            lv: self.loadings_.set_index("indicator").loc[items, "std_estimate"].to_numpy(dtype=float)
            for lv, items in spec.measurement.items()
        }
        self.quality_ = block_quality(frame, spec.measurement, std, self.latent_corr_)
        return self

    @staticmethod
    def _table(rows: pd.DataFrame, left: str, right: str) -> pd.DataFrame:
        out = pd.DataFrame(
            {
                left: rows["rval"].to_numpy(),
                right: rows["lval"].to_numpy(),
                "estimate": rows["Estimate"].astype(float).to_numpy(),
                "std_estimate": rows["Est. Std"].astype(float).to_numpy(),
                "se": pd.to_numeric(rows["Std. Err"], errors="coerce").to_numpy(),
                "p_value": pd.to_numeric(rows["p-value"], errors="coerce").to_numpy(),
            }
        )
        out["ci_low"] = out["estimate"] - 1.959964 * out["se"]
        out["ci_high"] = out["estimate"] + 1.959964 * out["se"]
        return out

    @staticmethod
    def _latent_corr(model: Any, latents: list[str]) -> pd.DataFrame:
        """Implied covariance of the inner variables, (I − B)⁻¹ Ψ (I − B)⁻ᵀ, as correlations."""
        names = list(model.names_beta[0])
        inv = np.linalg.inv(np.eye(len(names)) - model.mx_beta)
        cov = inv @ model.mx_psi @ inv.T
        sd = np.sqrt(np.diag(cov))
        corr = pd.DataFrame(cov / np.outer(sd, sd), index=names, columns=names)
        return corr.loc[latents, latents]

    def summary(self) -> dict[str, Any]:
        """A JSON-ready report: fit, reliability/validity, standardized loadings and paths."""
        if not hasattr(self, "fit_indices_"):
            raise ModelNotFittedError("this StructuralEquationModel is not fitted yet: call fit(data) first")
        quality = self.quality_
        return {
            "method": "sem",
            "fit": self.fit_indices_,
            "reliability": quality["reliability"].reset_index(names="latent").to_dict("records"),
            "fornell_larcker": quality["fornell_larcker"].round(6).to_dict(),
            "discriminant_ok": quality["discriminant_ok"],
            "htmt": quality["htmt"].round(6).to_dict(),
            "loadings": self.loadings_.to_dict("records"),
            "paths": self.paths_.to_dict("records"),
        }
