"""Emotions: triggers, VADER's context rules, a custom vocabulary, and the hand-labelled set."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxlens.errors import InvalidInputError, ModelNotFittedError
from cxlens.voc.emotions import EMOTIONS, EmotionLexicon, score_emotions
from cxlens.voc.text_eval import evaluate_emotions

LABELLED = Path(__file__).resolve().parents[1] / "cases" / "voc_text" / "emotions_labelled.jsonl"


def analyze(text: str) -> dict:
    return EmotionLexicon().fit().analyze(text)


def test_each_emotion_is_found_with_its_trigger() -> None:
    cases = {
        "joy": ("Absolutely delighted with the service", "delighted"),
        "trust": ("A reliable shop I can count on", "reliable"),
        "anger": ("This is a scam and the agent was rude", "scam"),
        "frustration": ("Still waiting, on hold again", "on hold"),
        "sadness": ("So disappointed with my order", "disappointed"),
        "surprise": ("Wow, I did not expect that", "Wow"),
    }
    for emotion, (text, trigger) in cases.items():
        result = analyze(text)
        assert result["dominant"] == emotion, (text, result)
        assert trigger in result["triggers"][emotion]


def test_negation_turns_joy_to_sadness_and_drops_negated_anger() -> None:
    result = analyze("I am not happy with the quality")
    assert result["scores"]["joy"] == 0 and result["scores"]["sadness"] > 0.5
    assert result["triggers"]["sadness"] == ["not happy"]
    assert analyze("I'm not angry, just asking")["scores"]["anger"] == 0
    assert analyze("I don't trust this company")["triggers"]["anger"] == ["don't trust"]


def test_boosters_capitals_and_but_change_intensity() -> None:
    plain = analyze("I am happy")["scores"]["joy"]
    assert analyze("I am really happy")["scores"]["joy"] > plain
    assert analyze("I am HAPPY today")["scores"]["joy"] > plain
    mixed = analyze("Happy with the price but frustrated by the wait")["scores"]
    assert mixed["frustration"] > mixed["joy"]


def test_a_term_listed_under_two_emotions_counts_for_both() -> None:
    scores = analyze("This is ridiculous")["scores"]
    assert scores["anger"] > 0 and scores["frustration"] > 0


def test_phrases_with_a_stem_match_inflections() -> None:
    assert analyze("So many hidden fees")["triggers"]["anger"] == ["hidden fees"]


def test_the_lexicon_must_be_compiled_first() -> None:
    with pytest.raises(ModelNotFittedError):
        EmotionLexicon().analyze("happy")


def test_neutral_text_has_no_emotion() -> None:
    result = analyze("Please update my billing address.")
    assert result["dominant"] is None and not any(result["scores"].values())


def test_teams_can_add_their_own_terms_and_bad_lexicons_are_refused() -> None:
    frame = score_emotions(["the kiosk was janky"], extra_terms={"frustration": ["janky"]})
    assert frame.loc[0, "dominant"] == "frustration"
    with pytest.raises(InvalidInputError, match="unknown emotion 'fear'"):
        EmotionLexicon(lexicon={"fear": ["scary"]}).fit()


def test_score_frame_has_a_column_per_emotion_and_validates_input() -> None:
    frame = score_emotions(["Love it", "Waited forever"])
    assert list(frame.columns) == ["text", *EMOTIONS, "dominant", "triggers"]
    assert frame["dominant"].tolist() == ["joy", "frustration"]
    with pytest.raises(InvalidInputError, match="row 1 is empty"):
        score_emotions([""])


def test_agreement_with_the_hand_labelled_set() -> None:
    # The set was labelled before the lexicon was run on it; the lexicon was not tuned to it.
    rows = {r["emotion"]: r for r in evaluate_emotions(labelled=LABELLED)["labelled"]}
    assert rows["macro"]["support"] == 40
    assert rows["macro"]["f1"] >= 0.8, rows  # measured 0.91 when written (docs/voc-text.md)
    assert min(rows[e]["recall"] for e in EMOTIONS) >= 0.6, rows


def test_emotions_point_the_way_human_raters_do_on_tweets(shared_data) -> None:
    direction = evaluate_emotions(shared_data / "sentiment")["direction"]
    tweets = next(r for r in direction if r["corpus"] == "tweets")
    assert tweets["agreement"] >= 0.8, direction  # documented in docs/voc-text.md
