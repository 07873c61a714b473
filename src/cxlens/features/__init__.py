"""Per-customer features as portable queries: one definition, run on DuckDB or Spark."""

from cxlens.features.build import FeatureSet, build_features, default_as_of, to_utc
from cxlens.features.catalog import CATALOG, FeatureInfo, describe
from cxlens.features.definitions import Levels, engagement_hours, purchases_between
from cxlens.features.engine import ENGINES, Engine, duckdb_engine, open_engine, spark_engine, spark_session

__all__ = [
    "CATALOG",
    "ENGINES",
    "Engine",
    "FeatureInfo",
    "FeatureSet",
    "Levels",
    "build_features",
    "default_as_of",
    "describe",
    "duckdb_engine",
    "engagement_hours",
    "open_engine",
    "purchases_between",
    "spark_engine",
    "spark_session",
    "to_utc",
]
