"""The serving index answers exactly what scoring on the spot would: same items, scores and reasons."""

from __future__ import annotations

import numpy as np
import pytest

from cxlens.recommend.base import anchored_reason, anchors, top_k
from cxlens.recommend.models import ModelBundle, train_bundle
from cxlens.recommend.service import Recommend
from cxlens.recommend.serving import context_scores
from cxlens.recommend.synthetic import latent_interactions


@pytest.fixture(scope="module")
def bundle() -> ModelBundle:
    data, _ = latent_interactions(n_users=400, n_items=120, per_user=12, random_state=5)
    return train_bundle(data)


@pytest.mark.parametrize("user", [0, 7, 123, 399])
def test_precomputed_candidates_equal_scoring_on_the_spot(bundle: ModelBundle, user: int) -> None:
    recommend = Recommend(bundle)
    history = recommend.history(user)
    hybrid = bundle.models["hybrid"]
    parts = hybrid.parts(np.array([user]), history)
    scores = sum(parts.values())[0]
    found = recommend.candidates(str(bundle.user_ids[user]), n=30)
    expected = top_k(scores[None, :], 30)[0]
    assert found.items.tolist() == expected.tolist()
    np.testing.assert_allclose(found.scores, scores[expected], rtol=1e-5)
    for position, item in enumerate(found.items.tolist()):
        assert recommend.reason(found, position) == hybrid.explain(user, history, item, parts=parts)


def test_anchor_codes_name_bought_and_viewed_items(bundle: ModelBundle) -> None:
    knn = bundle.models["item_knn"]
    related = knn.related(np.array([3]), np.arange(120))[0]
    target = int(np.argmax(related))
    assert related[target] > 0
    name = bundle.catalogue.name(3)
    for weight, verb in ((1.0, "bought"), (0.25, "viewed")):
        code = anchors(knn, np.array([3]), np.array([weight]), np.array([target]))[0]
        assert anchored_reason(knn, code, target) == f"because you {verb} {name}"
    assert anchors(knn, np.array([3]), np.array([1.0]), np.array([int(np.argmin(related))]))[0] == -1 or \
        related.min() > 0


def test_goes_with_matches_context_scores_for_one_item(bundle: ModelBundle) -> None:
    recommend = Recommend(bundle)
    item = 17
    row = recommend.history(-1)
    row = row.__class__((np.ones(1, np.float32), np.array([item]), [0, 1]), shape=row.shape)
    full = context_scores(bundle.models, row)[0]
    full[item] = 0.0
    goes = recommend.goes_with([item])
    assert goes, "a trained catalogue has neighbours"
    for other, strength in goes.items():
        assert strength == pytest.approx(full[other], rel=1e-5)
    strongest = sorted(goes, key=goes.__getitem__, reverse=True)[:5]
    assert set(strongest) <= set(np.argsort(-full)[:len(goes)].tolist())


def test_people_without_history_get_popularity(bundle: ModelBundle) -> None:
    found = Recommend(bundle).candidates("nobody-we-know", n=10)
    assert found.model == "popularity" and found.user == -1 and len(found.items) == 10
