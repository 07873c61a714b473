"""The experiment statistics engine: sufficient statistics in, GrowthBook-compatible inference out."""

from cxlens.experiments.stats.analysis import compare
from cxlens.experiments.stats.health import adjust_p_values, srm_p_value
from cxlens.experiments.stats.inference import (
    Prior,
    TestResult,
    bayesian_test,
    frequentist_test,
    sequential_test,
)
from cxlens.experiments.stats.statistics import (
    Proportion,
    Ratio,
    RegressionAdjusted,
    RegressionAdjustedRatio,
    SampleMean,
    statistic_from_record,
)

__all__ = [
    "Prior",
    "Proportion",
    "Ratio",
    "RegressionAdjusted",
    "RegressionAdjustedRatio",
    "SampleMean",
    "TestResult",
    "adjust_p_values",
    "bayesian_test",
    "compare",
    "frequentist_test",
    "sequential_test",
    "srm_p_value",
    "statistic_from_record",
]
