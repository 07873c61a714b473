"""``segments build``: features once, then RFM and clusters, written onto profiles as computed traits.

One build computes the per-customer features as of a moment (the feature layer), keeps them as the
snapshot audiences read (``segment_features``), scores RFM, clusters behaviour, writes the computed
traits ``rfm_score``, ``rfm_segment``, ``cluster`` and ``persona``, and records each report in
``segment_builds`` for ``segments list/show`` and the console.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from cxlens import jsonutil
from cxlens.errors import InvalidInputError, NotFoundError
from cxlens.features.build import FeatureSet, build_features
from cxlens.features.engine import open_engine
from cxlens.segments import rfm
from cxlens.segments.clustering import BehaviourClusters, behaviour_matrix
from cxlens.segments.compiler import FEATURES_TABLE
from cxlens.segments.personas import describe_clusters
from cxlens.store import Store

log = logging.getLogger(__name__)

# profiles.computed.write_computed_traits: segments may not import profiles (imports run one way), so
# the caller — a face — hands the writer in.
TraitWriter = Callable[[Store, Iterable[Mapping[str, Any]]], int]

CLUSTER_MODEL = "behaviour_kmeans"
CLUSTER_VERSION = "1"
MIN_CLUSTER_CUSTOMERS = 50


@dataclass(frozen=True)
class BuildOptions:
    """What a build does: ``clusters`` off skips clustering; k range and seed as in BehaviourClusters."""

    clusters: bool = True
    k_min: int = 2
    k_max: int = 8
    random_state: int = 0


def save_feature_snapshot(store: Store, features: FeatureSet) -> None:
    """Replace ``segment_features`` with this feature set (audiences read features from it)."""
    table = pa.Table.from_pandas(features.frame.reset_index(), preserve_index=False)
    store.register("_segment_features", table)
    try:
        store.execute(f"CREATE OR REPLACE TABLE {FEATURES_TABLE} AS SELECT * FROM _segment_features")
    finally:
        store.unregister("_segment_features")


def _record(store: Store, kind: str, as_of: datetime, version: str, report: dict[str, Any]) -> None:
    store.execute("INSERT INTO segment_builds VALUES (?, ?, now(), ?, ?, ?::JSON)",
                  [uuid.uuid4().hex, kind, as_of, version, jsonutil.dumps_str(report)])


def _clusters(store: Store, features: FeatureSet, options: BuildOptions,
              write_traits: TraitWriter) -> dict[str, Any] | None:
    frame = features.frame
    if len(frame) < MIN_CLUSTER_CUSTOMERS:
        log.info("clustering skipped: %d customers (fewer than %d)", len(frame), MIN_CLUSTER_CUSTOMERS)
        return None
    matrix = behaviour_matrix(frame)
    model = BehaviourClusters(k_min=options.k_min, k_max=options.k_max,
                              random_state=options.random_state).fit(matrix)
    labels = model.predict(matrix)
    clusters = describe_clusters(frame, labels, model.centers_)
    persona = {c["cluster"]: c["persona"] for c in clusters}
    rows: list[dict[str, Any]] = []
    for customer_id, label in zip(frame.index, labels.tolist(), strict=True):
        rows.append({"customer_id": customer_id, "name": "cluster", "value": label,
                     "model": CLUSTER_MODEL, "model_version": CLUSTER_VERSION})
        rows.append({"customer_id": customer_id, "name": "persona", "value": persona[label],
                     "model": CLUSTER_MODEL, "model_version": CLUSTER_VERSION})
    write_traits(store, rows)
    return {**model.report(), "clusters": clusters}


def build_segments(store: Store, write_traits: TraitWriter, *, as_of: datetime | date | str | None = None,
                   consent_defaults: Mapping[str, bool] | None = None, engine: str = "duckdb",
                   options: BuildOptions | None = None) -> dict[str, Any]:
    """Build features as of ``as_of``, score RFM and clusters, write them onto profiles.

    ``write_traits`` is :func:`cxlens.profiles.computed.write_computed_traits` (passed in because
    segments sit below profiles' callers in the import order). Returns the build report:
    customers, the RFM segment table and grid, and the clusters with their personas (``None`` when
    there are too few customers or ``options.clusters`` is off).
    """
    options = options or BuildOptions()
    with open_engine(store, engine) as eng:
        features = build_features(eng, as_of, consent_defaults=consent_defaults)
    if features.frame.empty:
        raise InvalidInputError("no customers were seen before the as-of date: choose a later date or "
                                "load data first", field="as_of")
    with store.transaction():
        save_feature_snapshot(store, features)
        scored = rfm.score_rfm(features.frame)
        write_traits(store, rfm.trait_rows(scored))
        rfm_report = rfm.rfm_report(scored, len(features.frame))
        _record(store, "rfm", features.as_of, rfm.MODEL_VERSION, rfm_report)
        cluster_report = _clusters(store, features, options, write_traits) if options.clusters else None
        if cluster_report is not None:
            _record(store, "clusters", features.as_of, CLUSTER_VERSION, cluster_report)
    log.info("segments built for %d customers as of %s", len(features.frame), features.as_of.isoformat())
    return {"as_of": features.as_of, "customers": len(features.frame), "features": features.frame.shape[1],
            "rfm": rfm_report, "clusters": cluster_report}


def latest_builds(store: Store) -> dict[str, dict[str, Any]]:
    """The newest report of each kind (rfm, clusters), with when it was built and for which moment."""
    rows = store.records("""
        SELECT kind, arg_max(built_at, built_at) AS built_at, arg_max(as_of, built_at) AS as_of,
               arg_max(report, built_at) AS report
        FROM segment_builds GROUP BY kind""")
    return {r["kind"]: {"built_at": r["built_at"], "as_of": r["as_of"], **jsonutil.loads(r["report"])}
            for r in rows}


def list_segments(store: Store) -> dict[str, Any]:
    """Every named segment with its size: the RFM segments, then the behavioural clusters."""
    builds = latest_builds(store)
    out: list[dict[str, Any]] = []
    if "rfm" in builds:
        for seg in builds["rfm"]["segments"]:
            out.append({"name": seg["slug"], "title": seg["name"], "kind": "rfm",
                        "customers": seg["customers"], "share": seg["share_of_buyers"],
                        "description": seg["meaning"]})
    if "clusters" in builds:
        for c in builds["clusters"]["clusters"]:
            out.append({"name": f"cluster_{c['cluster']}", "title": c["label"], "kind": "cluster",
                        "customers": c["customers"], "share": c["share"], "description": c["persona"]})
    return {"built": {k: {"built_at": v["built_at"], "as_of": v["as_of"]} for k, v in builds.items()},
            "segments": out}


def get_segment(store: Store, name: str) -> dict[str, Any]:
    """One segment by name (``champions``, ``cluster_2`` ...): its rule or persona, size and means,
    plus the audience expression that selects its members."""
    builds = latest_builds(store)
    for seg in builds.get("rfm", {}).get("segments", []):
        if name in (seg["slug"], seg["name"]):
            return {"kind": "rfm", "as_of": builds["rfm"]["as_of"], **seg,
                    "audience": f'rfm_segment = "{seg["name"]}"', "grid": builds["rfm"]["grid"]}
    for c in builds.get("clusters", {}).get("clusters", []):
        if name == f"cluster_{c['cluster']}":
            return {"kind": "cluster", "as_of": builds["clusters"]["as_of"], "name": name, **c,
                    "audience": f"cluster = {c['cluster']}",
                    "silhouette": builds["clusters"]["chosen_silhouette"]}
    known = [s["name"] for s in list_segments(store)["segments"]]
    if not known:
        raise NotFoundError("no segments have been built yet: run `cxlens segments build`")
    raise NotFoundError(f"unknown segment {name!r}; known: {', '.join(known)}", segment=name)


def grid_matrix(report: dict[str, Any]) -> np.ndarray:
    """The RFM grid as a 5 × 5 count matrix (rows R = 5..1, columns F = 1..5), as a heat map shows it."""
    matrix = np.zeros((5, 5), dtype=np.int64)
    for cell in report["grid"]:
        matrix[5 - cell["r"], cell["f"] - 1] = cell["customers"]
    return matrix
