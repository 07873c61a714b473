"""Customer lifetime value: purchase, spend and retention models and the CLV they add up to."""

from cxlens.predict.clv.base import MaximumLikelihoodModel
from cxlens.predict.clv.bgbb import BetaGeoBetaBinomModel
from cxlens.predict.clv.bgnbd import BetaGeoModel, ModifiedBetaGeoModel
from cxlens.predict.clv.gammagamma import GammaGammaModel
from cxlens.predict.clv.pareto import ParetoNBDModel
from cxlens.predict.clv.sbg import ShiftedBetaGeoModel
from cxlens.predict.clv.value import customer_lifetime_value

__all__ = [
    "BetaGeoBetaBinomModel",
    "BetaGeoModel",
    "GammaGammaModel",
    "MaximumLikelihoodModel",
    "ModifiedBetaGeoModel",
    "ParetoNBDModel",
    "ShiftedBetaGeoModel",
    "customer_lifetime_value",
]
