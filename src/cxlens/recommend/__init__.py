"""cxlens.recommend: recommenders trained from the store's interactions, and their offline evaluation."""

from cxlens.recommend.content import ContentBased, Replenishment
from cxlens.recommend.data import Catalogue, Interactions, load_interactions, time_split
from cxlens.recommend.factor import ALS, EASE
from cxlens.recommend.hybrid import Hybrid
from cxlens.recommend.neighbors import AssociationRules, ItemKNN
from cxlens.recommend.popularity import Popularity
from cxlens.recommend.service import Recommend, evaluation_report, train

__all__ = ["ALS", "EASE", "AssociationRules", "Catalogue", "ContentBased", "Hybrid", "Interactions",
           "ItemKNN",
           "Popularity", "Recommend", "Replenishment", "evaluation_report", "load_interactions", "time_split",
           "train"]
