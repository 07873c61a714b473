"""The model set cxlens trains, and saving/loading it (with a version) in the data dir."""

from __future__ import annotations

import hashlib
import logging
import pickle
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from cxlens import jsonutil
from cxlens.errors import InvalidInputError, NotFoundError
from cxlens.recommend.base import Recommender
from cxlens.recommend.content import ContentBased, Replenishment
from cxlens.recommend.data import Interactions
from cxlens.recommend.factor import ALS, EASE
from cxlens.recommend.hybrid import Hybrid
from cxlens.recommend.neighbors import AssociationRules, ItemKNN
from cxlens.recommend.popularity import Popularity
from cxlens.recommend.serving import ServingIndex, build_index

log = logging.getLogger(__name__)

FORMAT = 2  # bump when the pickled layout changes; older bundles are then refused, not misread
MODELS_DIR = "models/recommend"


def build_models(n_items: int, n_users: int = 0, random_state: int = 0) -> dict[str, Recommender]:
    """Every recommender with defaults sized to the data; EASE only where its dense matrix fits."""
    # Tuned on the demo and the synthetic latent set (docs/recommend.md): small catalogues want few,
    # strongly regularized factors.
    small = n_items < 5_000
    models: dict[str, Recommender] = {
        "popularity": Popularity(),
        "item_knn": ItemKNN(n_neighbors=min(100, max(n_items - 1, 1))),
        "als": ALS(n_components=16 if small else 64, regularization=30.0 if small else 10.0, alpha=2.0,
                   random_state=random_state),
        "bought_together": AssociationRules(),
        "replenishment": Replenishment(),
        "content": ContentBased(),
    }
    if n_items <= EASE().max_items:
        models["ease"] = EASE(l2=max(10.0, min(500.0, n_users / 20)))
    return models


def fit_all(data: Interactions, random_state: int = 0) -> dict[str, Recommender]:
    """Fit every model once, then the hybrid over the fitted components (no refit)."""
    models = build_models(data.n_items, data.n_users, random_state)
    for name, model in models.items():
        log.info("fitting %s on %d interactions", name, len(data))
        model.fit(data)
    models["hybrid"] = Hybrid(dict(models), refit=False).fit(data)
    return models


@dataclass
class ModelBundle:
    """Fitted models plus what serving needs: the people's histories and index maps, precomputed
    candidates, and a version."""

    models: dict[str, Recommender]
    user_ids: np.ndarray
    history: sp.csr_matrix
    version: str
    trained_at: datetime
    serving: ServingIndex
    stats: dict[str, Any] = field(default_factory=dict)
    user_index: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.user_index:
            self.user_index.update({str(u): n for n, u in enumerate(self.user_ids)})

    @property
    def catalogue(self):  # noqa: ANN201 - the Catalogue of the popularity model
        return self.models["popularity"].catalogue_

    def model(self, name: str) -> Recommender:
        if name not in self.models:
            raise InvalidInputError(f"unknown model {name!r}; trained: {', '.join(sorted(self.models))}",
                                    field="model")
        return self.models[name]

    def versions(self) -> dict[str, str]:
        return {name: f"{name}@{self.version}" for name in self.models}


def train_bundle(data: Interactions, random_state: int = 0) -> ModelBundle:
    models = fit_all(data, random_state)
    digest = hashlib.sha256(f"{len(data)}:{data.times.sum() if len(data) else 0}".encode()).hexdigest()[:8]
    now = datetime.now(UTC)
    history = data.matrix()
    return ModelBundle(models=models, user_ids=data.user_ids, history=history,
                       version=f"{now:%Y%m%dT%H%M%S}-{digest}", trained_at=now,
                       serving=build_index(models, history),
                       stats={"users": int(data.n_users), "items": int(data.n_items),
                              "interactions": len(data)})


def save_bundle(bundle: ModelBundle, data_dir: Path) -> Path:
    """Write ``models/recommend/<version>.pkl`` and point ``latest.json`` at it (atomically)."""
    folder = Path(data_dir) / MODELS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{bundle.version}.pkl"
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        pickle.dump({"format": FORMAT, "bundle": bundle}, fh, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)
    meta = {"version": bundle.version, "file": path.name, "trained_at": bundle.trained_at,
            "models": sorted(bundle.models), **bundle.stats}
    pointer = folder / "latest.json.tmp"
    pointer.write_bytes(jsonutil.dumps(meta, indent=True))
    pointer.replace(folder / "latest.json")
    return path


def load_bundle(data_dir: Path) -> ModelBundle:
    """The latest trained bundle, or ``NotFoundError`` saying how to train one."""
    folder = Path(data_dir) / MODELS_DIR
    pointer = folder / "latest.json"
    if not pointer.is_file():
        raise NotFoundError(f"no trained recommenders in {folder}; run `cxlens recommend train`",
                            path=str(folder))
    meta = jsonutil.loads(pointer.read_bytes())
    # Only files cxlens wrote into the data dir are unpickled; the data dir is trusted like the store.
    with (folder / meta["file"]).open("rb") as fh:
        payload = pickle.load(fh)  # noqa: S301
    if payload.get("format") != FORMAT:
        raise NotFoundError(f"the trained models in {folder} are from an older cxlens; run `cxlens "
                            "recommend train` again", path=str(folder))
    return payload["bundle"]
