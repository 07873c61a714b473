"""Recommenders on data with known structure: each learned model against popularity, and the contract."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from cxlens.errors import InvalidInputError, ModelNotFittedError, NotFoundError
from cxlens.recommend import (
    ALS,
    EASE,
    AssociationRules,
    ContentBased,
    Hybrid,
    Interactions,
    ItemKNN,
    Popularity,
    Replenishment,
    time_split,
)
from cxlens.recommend.data import Catalogue
from cxlens.recommend.evaluate import evaluate_models, metrics_at_k
from cxlens.recommend.models import load_bundle, save_bundle, train_bundle
from cxlens.recommend.service import Recommend
from cxlens.recommend.synthetic import latent_interactions

DAY = 86_400


@pytest.fixture(scope="module")
def latent() -> Interactions:
    data, _ = latent_interactions(n_users=1_500, n_items=300, per_user=25, random_state=3)
    return data


def test_learned_models_beat_popularity_on_known_structure(latent: Interactions) -> None:
    split = time_split(latent, max_users=None)
    models = {"popularity": Popularity(), "item_knn": ItemKNN(), "ease": EASE(l2=50.0),
              "als": ALS(n_components=8, regularization=10.0, alpha=0.5, random_state=0)}
    rows = {r["model"]: r for r in evaluate_models(models, split, k=10)}
    for name in ("item_knn", "ease", "als"):
        assert rows[name]["ndcg"] > rows["popularity"]["ndcg"] * 1.1, (name, rows)
    assert rows["popularity"]["coverage"] < rows["item_knn"]["coverage"]


def test_hybrid_blends_fitted_components(latent: Interactions) -> None:
    split = time_split(latent, max_users=None)
    parts = {"popularity": Popularity(), "item_knn": ItemKNN(), "ease": EASE(l2=50.0)}
    for model in parts.values():
        model.fit(split.train)
    rows = {r["model"]: r for r in evaluate_models(
        {"popularity": parts["popularity"], "hybrid": Hybrid(parts, refit=False).fit(split.train)},
        split, fitted=True)}
    assert rows["hybrid"]["ndcg"] > rows["popularity"]["ndcg"]


@pytest.mark.parametrize("model", [Popularity(), ItemKNN(), ALS(n_components=4), EASE(), AssociationRules(),
                                   ContentBased(), Replenishment()], ids=lambda m: m.name)
def test_unfitted_models_say_so(model) -> None:
    history = sp.csr_matrix((1, 3))
    with pytest.raises(ModelNotFittedError):
        model.score(np.array([0]), history)


def test_fit_returns_self_and_learned_attributes_end_in_underscore(latent: Interactions) -> None:
    model = ItemKNN(n_neighbors=5)
    assert model.fit(latent) is model
    assert model.get_params() == {"n_neighbors": 5, "shrinkage": 10.0}
    assert model.similarity_.shape == (latent.n_items, latent.n_items)


def test_als_fold_in_matches_learned_user_factors(latent: Interactions) -> None:
    model = ALS(n_components=8, regularization=1.0, iterations=20, random_state=0).fit(latent)
    history = latent.matrix()[:50]
    learned = model.score(np.arange(50), history)
    folded = model.score(np.full(50, -1), history)
    corr = [np.corrcoef(a, b)[0, 1] for a, b in zip(learned, folded, strict=True)]
    assert np.median(corr) > 0.95


def test_ease_refuses_catalogues_too_large_for_a_dense_matrix(latent: Interactions) -> None:
    with pytest.raises(InvalidInputError, match="max_items"):
        EASE(max_items=10).fit(latent)


def _baskets() -> Interactions:
    # 10 baskets: bread+butter ×4, bread alone ×2, jam+butter ×1, milk ×3
    baskets = [["bread", "butter"]] * 4 + [["bread"]] * 2 + [["jam", "butter"]] + [["milk"]] * 3
    users, items, basket_ids = [], [], []
    for b, basket in enumerate(baskets):
        for item in basket:
            users.append(f"u{b}")
            items.append(item)
            basket_ids.append(b)
    return Interactions.from_arrays(np.array(users), np.array(items), np.arange(len(users)) * DAY,
                                    baskets=np.array(basket_ids))


def test_association_rules_support_confidence_lift_by_hand() -> None:
    data = _baskets()
    rules = AssociationRules(min_support=1).fit(data)
    index = data.catalogue.index
    rule = {r["item"]: r for r in rules.rules(index["bread"])}[index["butter"]]
    # bread in 6 baskets, butter in 5, both in 4, of 10: support .4, confidence 4/6, lift (4/6)/(5/10)
    assert rule["support"] == pytest.approx(0.4)
    assert rule["confidence"] == pytest.approx(4 / 6)
    assert rule["lift"] == pytest.approx((4 / 6) / 0.5)
    history = sp.csr_matrix(([1.0], ([0], [index["bread"]])), shape=(1, data.n_items))
    assert "often bought together with" in rules.explain(-1, history, index["butter"])
    assert index["milk"] not in [r["item"] for r in rules.rules(index["bread"])]


def test_replenishment_learns_each_persons_interval() -> None:
    times = np.array([0, 10, 20, 30]) * DAY
    data = Interactions.from_arrays(np.array(["ann"] * 4), np.array(["coffee"] * 4), times)
    model = Replenishment(min_repeat_buyers=1).fit(data)
    (item, gap, due), = model.due(0, now_days=40)
    assert gap == pytest.approx(10) and due == pytest.approx(1.0)
    assert model.score(np.array([0]), data.matrix(), now_days=40)[0, item] == pytest.approx(1.0)
    assert model.score(np.array([0]), data.matrix(), now_days=31)[0, item] < 0.1
    assert "about every 10 days" in model.explain(0, data.matrix(), item)


def test_recommend_with_replenishment_lists_the_items_a_person_reorders() -> None:
    """Re-orders are items already bought: excluding purchases left only items the model does not
    score, each listed at 0 with "time to re-order" though the person never bought it."""
    rng = np.random.default_rng(0)
    users, items, times = [], [], []
    for u in range(80):
        for k in range(4):  # everyone re-buys one staple every 10 days
            users.append(f"u{u}"), items.append(f"staple{u % 10}"), times.append((k * 10 + u % 5) * DAY)
        for j in rng.choice(30, 5, replace=False):
            users.append(f"u{u}"), items.append(f"i{j}"), times.append(int(rng.integers(0, 45)) * DAY)
    data = Interactions.from_arrays(np.array(users), np.array(items), np.array(times))
    found = Recommend(train_bundle(data)).recommend("u3", k=3, model="replenishment")
    assert [r.item_id for r in found] == ["staple3"]
    assert found[0].score > 0 and "you buy staple3 about every 10 days" in found[0].reason


def test_content_model_recommends_items_nobody_bought_yet() -> None:
    catalogue = Catalogue.from_ids(["tent", "stove", "lamp", "new-tent"],
                                   categories=np.array(["outdoor", "outdoor", "home", "outdoor"],
                                                       dtype=object),
                                   prices=np.array([100.0, 40.0, 30.0, 110.0]))
    data = Interactions.from_arrays(np.array(["a", "b"]), np.array(["tent", "lamp"]), np.array([0, 1]),
                                    catalogue=catalogue)
    model = ContentBased(price_bands=2).fit(data)
    scores = model.score(np.array([0]), data.matrix()[[0]])[0]
    assert scores[3] > scores[2]  # the never-bought tent beats the lamp for a tent buyer
    assert "similar to what you bought tent" in model.explain(0, data.matrix()[[0]], 3)


def test_metrics_by_hand() -> None:
    share = np.full(4, 0.25)
    result = metrics_at_k(np.array([[1, 0, 2]]), [np.array([0, 3])], k=3, item_share=share)
    assert result["recall"] == pytest.approx(0.5)
    assert result["ndcg"] == pytest.approx((1 / np.log2(3)) / (1 + 1 / np.log2(3)))
    assert result["map"] == pytest.approx((1 / 2) / 2)
    assert result["coverage"] == pytest.approx(0.75)
    assert result["novelty"] == pytest.approx(2.0)


def test_bundle_saves_and_loads_with_a_version(tmp_path, latent: Interactions) -> None:
    with pytest.raises(NotFoundError, match="cxlens recommend train"):
        load_bundle(tmp_path)
    bundle = train_bundle(latent.subset(latent.users < 300))
    save_bundle(bundle, tmp_path)
    loaded = load_bundle(tmp_path)
    assert loaded.version == bundle.version
    assert set(loaded.models) >= {"popularity", "item_knn", "als", "ease", "hybrid", "bought_together"}
    history = loaded.history[[0]]
    np.testing.assert_allclose(loaded.models["hybrid"].score(np.array([0]), history),
                               bundle.models["hybrid"].score(np.array([0]), history))
