"""Evaluation against human ratings: the metrics, VADER on all four corpora, the cross-corpus loop."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import pearsonr

from cxlens.errors import InvalidInputError, NotFoundError
from cxlens.voc.corpora import CORPUS_FILES, read_corpora, read_ground_truth
from cxlens.voc.sentiment import VADER_PUBLISHED
from cxlens.voc.text_eval import (
    evaluate_emotions,
    evaluate_sentiment,
    sentiment_metrics,
    train_sentiment_head,
)


class HashEncoder:
    """Stand-in encoder (hashed bag of words): exercises the cross-corpus loop without torch."""

    def encode(self, texts):
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                out[i, hash(word) % 64] += 1.0
        return out


def test_metrics_are_pearson_and_weighted_f1_on_thresholded_means() -> None:
    ratings = np.array([-2.0, -0.5, 0.0, 0.02, 1.0, 3.0])
    scores = np.array([-0.9, 0.3, 0.0, -0.01, 0.5, 0.9])
    metrics = sentiment_metrics(scores, ratings)
    assert metrics["pearson_r"] == pytest.approx(round(pearsonr(scores, ratings).statistic, 3))
    # classes: truth [-, -, 0, 0, +, +], predicted [-, +, 0, 0, +, +] → weighted F1 by hand
    f1_neg, f1_neu, f1_pos = 2 / 3, 1.0, 0.8
    assert metrics["f1"] == pytest.approx(round((2 * f1_neg + 2 * f1_neu + 2 * f1_pos) / 6, 3))


def test_the_four_corpora_are_read_whole(shared_data) -> None:
    corpora = read_corpora(shared_data / "sentiment")
    assert {n: len(c) for n, c in corpora.items()} == {"tweets": 4200, "movies": 10605, "amazon": 3708,
                                                        "nyt": 5190}
    assert all(c.ratings.min() >= -4 and c.ratings.max() <= 4 for c in corpora.values())


def test_vader_as_measured_here_is_close_to_the_paper_on_every_corpus(shared_data) -> None:
    rows = evaluate_sentiment(shared_data / "sentiment", models=("vader",))
    for row in rows:
        published = VADER_PUBLISHED[row["corpus"]]
        assert row["vader_r"] == pytest.approx(published["pearson_r"], abs=0.04), row
        assert row["vader_f1"] == pytest.approx(published["f1"], abs=0.03), row


def test_cross_corpus_loop_never_tests_on_what_it_trained_on(shared_data, monkeypatch) -> None:
    import cxlens.voc.text_eval as text_eval

    seen: list[tuple[str, set[str]]] = []
    real = text_eval._cross_corpus_scores

    def spy(corpora, embedded, held_out, use_vader):
        seen.append((held_out, set(corpora) - {held_out}))
        return real(corpora, embedded, held_out, use_vader)

    monkeypatch.setattr(text_eval, "_cross_corpus_scores", spy)
    rows = evaluate_sentiment(shared_data / "sentiment", limit=150, encoder=HashEncoder())
    assert {r["corpus"] for r in rows} == set(CORPUS_FILES)
    assert all(held_out not in trained for held_out, trained in seen) and len(seen) == 8
    assert all({"embedding_r", "embedding_f1", "embedding_only_r"} <= set(r) for r in rows)


def test_training_writes_a_head_with_its_cross_corpus_table(shared_data, tmp_path) -> None:
    small = tmp_path / "corpora"
    small.mkdir()
    for name, corpus in read_corpora(shared_data / "sentiment").items():
        head = corpus.head(120)
        lines = [f"{i}\t{r}\t{t}" for i, r, t in zip(head.ids, head.ratings, head.texts, strict=True)]
        (small / CORPUS_FILES[name]).write_text("\n".join(lines) + "\n")
    metrics = train_sentiment_head(small, tmp_path / "head.json", encoder=HashEncoder(),
                                   cache_dir=tmp_path / "cache")
    assert metrics["n_train"] == 480 and len(metrics["cross_corpus"]) == 4
    assert (tmp_path / "head.json").is_file() and len(list((tmp_path / "cache").iterdir())) == 4


def test_bad_inputs_are_named(tmp_path) -> None:
    with pytest.raises(NotFoundError, match="corpora folder not found"):
        evaluate_sentiment(tmp_path / "missing")
    with pytest.raises(InvalidInputError, match="unknown model 'bert'"):
        evaluate_sentiment(tmp_path, models=("bert",))
    bad = tmp_path / "x_GroundTruth.txt"
    bad.write_text("1\tnot-a-number\tsome text\n")
    with pytest.raises(InvalidInputError, match="line 1: rating 'not-a-number'"):
        read_ground_truth(bad)
    labelled = tmp_path / "labels.jsonl"
    for text, says in [('{"text": "ok", "emotions": ["joy"]}\n{bad\n', "line 2 is not JSON"),
                       ('{"text": "ok"}\n', "line 1 needs \"text\" and a list of \"emotions\""),
                       ('["ok"]\n', "line 1 needs \"text\" and a list of \"emotions\"")]:
        labelled.write_text(text)
        with pytest.raises(InvalidInputError, match=f"labels.jsonl {says}"):
            evaluate_emotions(labelled=labelled)
