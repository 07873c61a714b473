"""Themes: recovery of known topics, seeded names, assignment, sentiment per theme, growth tests."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from cxlens.errors import InvalidInputError, ModelNotFittedError
from cxlens.voc.themes import UNASSIGNED, ThemeModel, summarize_themes

TOPICS = {
    "delivery": ["the parcel arrived late", "courier left the package outside", "shipping took two weeks",
                 "delivery was delayed again", "tracking number never updated"],
    "price": ["too expensive for what you get", "prices went up again", "hidden fees at checkout",
              "great value for money", "cheaper at the competitor"],
    "support": ["the agent was very helpful", "waited an hour on hold", "support never replied to my email",
                "the call center hung up on me", "friendly staff solved my issue"],
    "app": ["the app keeps crashing", "login page does not load", "checkout button is broken in the app",
            "the new app update is slow", "app notifications are annoying"],
}


def make_comments(n: int = 800, seed: int = 0, growing: str | None = None):
    """Comments of two sentences from one topic; ``growing`` is concentrated in the last week."""
    rng = np.random.default_rng(seed)
    texts, truth, times = [], [], []
    for i in range(n):
        topic = list(TOPICS)[i % 4]
        first, second = rng.choice(TOPICS[topic], 2, replace=False)
        texts.append(f"{first}, {second}.")
        truth.append(topic)
        late = topic == growing and rng.random() < 0.7
        day = int(rng.integers(49, 56) if late else rng.integers(0, 56))  # 2026-01-05 is a Monday
        times.append(np.datetime64("2026-01-05") + np.timedelta64(day, "D"))
    return texts, np.array(truth), times


def purity(labels: np.ndarray, truth: np.ndarray) -> float:
    return sum(Counter(truth[labels == k]).most_common(1)[0][1] for k in set(labels)) / len(truth)


def test_known_topics_are_recovered_with_readable_labels() -> None:
    texts, truth, _ = make_comments()
    model = ThemeModel(n_themes=4).fit(texts)
    assert purity(model.labels_, truth) > 0.95
    assert model.fit(texts) is model and model.reconstruction_error_ > 0
    for theme in model.themes_:
        assert theme["label"] == " / ".join(theme["terms"][:3]) and theme["phrases"]


def test_seeded_themes_keep_their_name_and_catch_their_topic() -> None:
    texts, truth, _ = make_comments()
    model = ThemeModel(n_themes=4, seeds={"delivery": ["late", "shipping", "courier"]}).fit(texts)
    delivery = next(t for t in model.themes_ if t["name"] == "delivery")
    assert delivery["seeded"]
    caught = truth[model.labels_ == delivery["id"]]
    assert Counter(caught).most_common(1)[0] == ("delivery", 200)


def test_new_comments_are_assigned_to_known_themes_with_reasons() -> None:
    texts, _, _ = make_comments()
    seeds = {"delivery": ["late", "courier"], "app": ["app", "crashing"]}
    model = ThemeModel(n_themes=4, seeds=seeds).fit(texts)
    assigned = model.predict(["my courier was late", "the app crashed at login", "zzz qqq"])
    names = [model.themes_[k]["name"] if k != UNASSIGNED else None for k in assigned]
    assert names == ["delivery", "app", None]
    assert {d["term"] for d in model.explain("my courier was late")} >= {"courier", "late"}


def test_report_has_share_sentiment_and_quotes_per_theme() -> None:
    texts, _, _ = make_comments()
    report = summarize_themes(texts, n_themes=4)
    assert sum(t["share"] for t in report.themes) == pytest.approx(1.0)
    by_top_term = {t["terms"][0]: t for t in report.themes}
    support = next(t for t in report.themes if "agent" in t["terms"] or "staff" in t["terms"])
    app = next(t for t in report.themes if "app" in t["terms"])
    assert support["sentiment"] > app["sentiment"]  # helpful/friendly staff vs crashing, annoying app
    assert all(len(t["quotes"]) == 3 for t in report.themes) and by_top_term


def test_a_growing_theme_is_flagged_as_emerging_and_stable_ones_are_not() -> None:
    texts, _, times = make_comments(n=4000, growing="app")
    report = summarize_themes(texts, times=times, n_themes=4, seeds={"app": ["app"]}, freq="W")
    flagged = {e["name"] for e in report.emerging if e["emerging"]}
    assert flagged == {"app"}
    app = next(e for e in report.emerging if e["name"] == "app")
    assert app["share"] > app["previous_share"] and app["p_value"] < 0.05


def test_no_growth_when_shares_are_stable() -> None:
    texts, _, times = make_comments(n=4000, growing=None)
    report = summarize_themes(texts, times=times, n_themes=4, freq="W")
    assert not any(e["emerging"] for e in report.emerging)


def test_invalid_inputs_are_explained() -> None:
    texts, _, times = make_comments(n=40)
    with pytest.raises(ModelNotFittedError):
        ThemeModel().predict(["x"])
    with pytest.raises(InvalidInputError, match="too few for 30 themes"):
        ThemeModel(n_themes=30).fit(texts)
    with pytest.raises(InvalidInputError, match="seed theme 'refunds'"):
        ThemeModel(n_themes=4, seeds={"refunds": ["refund"]}).fit(texts)
    with pytest.raises(InvalidInputError, match="one date per comment"):
        summarize_themes(texts, times=times[:10], n_themes=2)
    with pytest.raises(InvalidInputError, match="row 3 is empty"):
        summarize_themes(["a b", "c d", ""], n_themes=1)
    with pytest.raises(InvalidInputError, match="unknown period 'X' for growth: use W"):
        summarize_themes(texts, times=times, n_themes=2, freq="X")
