"""Behavioural clustering (scikit-learn contract, k by silhouette) and the personas it writes."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from cxlens.errors import InvalidInputError, ModelNotFittedError
from cxlens.segments.clustering import BehaviourClusters, behaviour_matrix
from cxlens.segments.personas import describe_clusters, persona_text


def _three_kinds(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Whales in the app, occasional web buyers, and web browsers who never bought."""
    rng = np.random.default_rng(seed)
    truth = np.repeat([0, 1, 2], n // 3)
    freq = np.choose(truth, [rng.integers(8, 14, n), rng.integers(1, 3, n), np.zeros(n, int)])
    spend = np.choose(truth, [rng.uniform(800, 1500, n), rng.uniform(20, 80, n), np.zeros(n)])
    app = np.choose(truth, [rng.uniform(0.7, 0.9, n), rng.uniform(0.0, 0.1, n), rng.uniform(0.0, 0.1, n)])
    frame = pd.DataFrame({
        "recency_days": np.where(freq > 0, np.choose(truth, [rng.uniform(1, 15, n), rng.uniform(90, 200, n),
                                                            np.zeros(n)]), np.nan),
        "frequency": freq.astype(float), "monetary": spend,
        "events_90d": np.choose(truth, [rng.integers(30, 60, n), rng.integers(2, 6, n),
                                        rng.integers(8, 15, n)]),
        "email_opens": np.choose(truth, [rng.integers(4, 8, n), np.zeros(n, int), np.zeros(n, int)]),
        "email_click_rate": np.choose(truth, [rng.uniform(0.5, 0.8, n), np.zeros(n), np.zeros(n)]),
        "channel_share_app": app, "channel_share_web": 1 - app,
    }, index=[f"c{i}" for i in range(n)])
    return frame, truth


def test_contract_params_only_in_init_and_not_fitted_error() -> None:
    model = BehaviourClusters(k_min=2, k_max=5, random_state=4)
    assert vars(model) == {"k_min": 2, "k_max": 5, "sample_size": 5000, "batch_size": 2048, "n_init": 1,
                           "random_state": 4}
    with pytest.raises(ModelNotFittedError):
        model.predict(pd.DataFrame({"a": [1.0]}))
    with pytest.raises(ModelNotFittedError):
        model.explain()


def test_silhouette_finds_the_three_kinds_and_ranks_the_valuable_first() -> None:
    frame, truth = _three_kinds()
    matrix = behaviour_matrix(frame)
    model = BehaviourClusters(k_min=2, k_max=6, random_state=0)
    assert model.fit(matrix) is model
    assert model.n_clusters_ == 3
    assert model.silhouette_[3] == max(model.silhouette_.values())
    labels = model.predict(matrix)
    assert adjusted_rand_score(truth, labels) == pytest.approx(1.0)
    assert set(labels[truth == 0]) == {0}  # the whales have the highest spend: cluster 0
    assert model.sizes_.tolist() == np.bincount(labels).tolist()
    top = model.explain(top=2)[0]["distinctive"]
    assert len(top) == 2 and all(abs(d["z"]) > 1 for d in top)
    restored = pickle.loads(pickle.dumps(model))
    assert restored.predict(matrix).tolist() == labels.tolist()


def test_fit_is_repeatable_with_a_seed() -> None:
    matrix = behaviour_matrix(_three_kinds(seed=2)[0])
    first = BehaviourClusters(random_state=7, k_max=4).fit(matrix).predict(matrix)
    second = BehaviourClusters(random_state=7, k_max=4).fit(matrix).predict(matrix)
    assert first.tolist() == second.tolist()


def test_bad_parameters_and_inputs_are_named() -> None:
    matrix = behaviour_matrix(_three_kinds()[0])
    with pytest.raises(InvalidInputError, match="k_min"):
        BehaviourClusters(k_min=1).fit(matrix)
    with pytest.raises(InvalidInputError, match="more customers"):
        BehaviourClusters(k_min=2).fit(matrix.head(2))
    with pytest.raises(InvalidInputError, match="at least two behavioural"):
        behaviour_matrix(pd.DataFrame({"latest_nps": [1.0, 2.0]}))
    fitted = BehaviourClusters(k_max=3).fit(matrix)
    with pytest.raises(InvalidInputError, match="monetary"):
        fitted.predict(matrix.drop(columns="monetary"))


def test_personas_describe_how_clusters_differ() -> None:
    frame, _ = _three_kinds()
    matrix = behaviour_matrix(frame)
    model = BehaviourClusters(k_min=3, k_max=3).fit(matrix)
    clusters = describe_clusters(frame, model.predict(matrix), model.centers_)
    by_id = {c["cluster"]: c for c in clusters}
    assert by_id[0]["persona"].startswith("High-value")
    assert "frequent buyers who mostly use the app" in by_id[0]["persona"]
    assert "respond to e-mail" in by_id[0]["persona"]
    browsers = next(c for c in clusters if "have not bought" in c["persona"])
    assert browsers["customers"] == 100
    assert sum(c["customers"] for c in clusters) == len(frame)
    assert sum(c["share"] for c in clusters) == pytest.approx(1.0, abs=1e-3)
    first = by_id[0]["distinctive"][0]
    assert abs(first["z"]) >= abs(by_id[0]["distinctive"][-1]["z"]) and first["cluster"] != first["everyone"]


def test_persona_of_an_average_cluster() -> None:
    center = pd.Series({"monetary": 0.1, "frequency": -0.2, "recency_days": 0.0})
    means = pd.Series({"frequency": 3.0})
    assert persona_text(center, means, means)["label"] == "Typical customers"
    lapsing = persona_text(pd.Series({"monetary": -0.9, "recency_days": 1.2, "support_tickets": 0.8}),
                           means, means)
    assert lapsing == {"label": "Low-spend, lapsing buyers",
                       "persona": "Low-spend, lapsing buyers; contact support often"}
