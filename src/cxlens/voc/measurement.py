"""One entry point for measurement models, so every face fits them the same way."""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd

from cxlens.errors import InvalidInputError

Method = Literal["sem", "pls"]


def fit_measurement_model(spec: str, data: pd.DataFrame, *, method: str = "sem", scheme: str = "path",
                          n_bootstrap: int = 200, random_state: int = 0) -> dict[str, Any]:
    """Fit a lavaan-style ``spec`` on ``data`` by covariance SEM (semopy) or PLS path modelling."""
    if method == "pls":
        from cxlens.voc.pls import PLSPathModel

        # PLSPathModel.fit refuses an unknown scheme with a clear error.
        model = PLSPathModel(spec, scheme=scheme, n_bootstrap=n_bootstrap,  # type: ignore[arg-type]
                             random_state=random_state)
        return model.fit(data).summary()
    if method == "sem":
        from cxlens.voc.sem import StructuralEquationModel

        return StructuralEquationModel(spec).fit(data).summary()
    raise InvalidInputError(f"unknown method {method!r}: use sem or pls", field="method")
