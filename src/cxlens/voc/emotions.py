"""Emotions in customer comments: joy, trust, anger, frustration, sadness, surprise.

A lexicon written for customer-experience language (hold times, refunds, couriers, agents), scored
with VADER's context rules so that "not happy" is not joy:

- negation: a negation word (VADER's list, or any "n't") in the three tokens before a term
  negates it. A negated positive emotion becomes its opposite (joy → sadness, as in "not happy
  with the quality"; trust → anger, as in "don't trust you anymore"); a negated negative emotion
  is dropped ("not angry" says little about what the person does feel);
- boosters and dampeners ("really", "so", "slightly") in the three tokens before a term scale it
  by VADER's empirical ±0.293, and a term in ALL CAPS among lower-case words gains VADER's 0.733;
- "but": terms before it count half, terms after it one and a half times.

An emotion's score is ``1 - exp(-evidence)`` (0 with no evidence, 0.63 for one plain trigger, → 1),
and every score comes with the words or phrases that triggered it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from vaderSentiment.vaderSentiment import BOOSTER_DICT, C_INCR, NEGATE

from cxlens.errors import InvalidInputError, ModelNotFittedError
from cxlens.voc.corpora import check_texts

EMOTIONS = ("joy", "trust", "anger", "frustration", "sadness", "surprise")
NEGATED_TO = {"joy": "sadness", "trust": "anger"}

# Terms per emotion. A trailing "*" matches any ending; phrases match whole token sequences;
# ":w" gives a weight other than 1 (weak cues such as "good" count half).
CX_LEXICON: dict[str, tuple[str, ...]] = {
    "joy": (
        "love", "loved", "loving", "lovely", "happy", "glad", "delighted", "delight*", "pleased",
        "enjoy*", "great", "excellent", "amazing", "awesome", "fantastic", "wonderful", "perfect*",
        "brilliant", "superb", "outstanding", "thank*", "grateful", "appreciate*", "satisfied",
        "smooth", "effortless", "made my day", "above and beyond", "recommend*", "impressed",
        "solved", "resolved", "sorted it", "helpful", "friendly", "well done", "best", "excited",
        "good:0.5", "nice:0.5", "easy:0.5", "quick:0.5", "quickly:0.5", "fast:0.5",
    ),
    "trust": (
        "trust", "trusted", "trustworthy", "reliable", "reliably", "dependable", "depend on",
        "count on", "honest*", "transparent", "transparency", "secure", "safe", "guarantee*",
        "kept her promise", "kept his promise", "kept their promise", "kept your promise",
        "professional*", "competent", "knowledgeable", "stand behind", "as always", "confidence",
        "confident", "loyal", "faith", "integrity", "fair", "consistent*", "credible",
    ),
    "anger": (
        "angry", "anger", "furious", "fury", "outrage*", "livid", "rage", "disgust*", "disgrace*",
        "unacceptable", "scam*", "rip off", "rip-off", "ripped off", "cheat*", "stole", "steal*",
        "thief", "thieves", "fraud*", "rude*", "insult*", "lied", "liar*", "lying", "hung up",
        "hate", "hated", "appalling", "shameful", "never again", "incompetent*", "overcharg*",
        "charged twice", "hidden fee*", "hidden charge*", "ridiculous:0.5", "worst:0.5",
    ),
    "frustration": (
        "frustrat*", "annoy*", "irritat*", "fed up", "give up", "gave up", "on hold", "still no",
        "still not", "still waiting", "waiting", "waited", "every time", "every single time",
        "keeps crashing", "keep crashing", "crash*", "no answer", "no response", "no reply",
        "never showed", "never arrived", "never received", "never got", "useless", "pointless",
        "hassle", "endless", "loop", "can't reach", "cannot reach", "couldn't reach", "complicated",
        "confusing", "took forever", "forever", "third time", "how many times", "ridiculous",
        "doesn't work", "does not work", "not working", "logs me out", "unresolved", "again:0.5",
        "slow:0.5", "nobody:0.5",
    ),
    "sadness": (
        "sad", "sadly", "unhappy", "disappoint*", "let down", "let me down", "upset", "regret*",
        "heartbroken", "heartbreak*", "unfortunately", "depress*", "miss the", "i miss", "sorry to",
        "fell apart", "a shame", "cry*", "gutted",
    ),
    "surprise": (
        "surpris*", "unexpected*", "didn't expect", "did not expect", "wasn't expecting",
        "shock*", "astonish*", "amazed", "can't believe", "couldn't believe", "cannot believe",
        "unbelievabl*", "wow", "whoa", "out of nowhere", "suddenly", "stunned", "who knew",
    ),
}

_TOKEN = re.compile(r"[A-Za-z][A-Za-z'\-]*|[!?]")
_NEGATIONS = frozenset(NEGATE)
_WINDOW = 3


@dataclass(frozen=True)
class _Entry:
    emotion: str
    tokens: tuple[str, ...]
    weight: float
    prefix: bool


@dataclass
class _Index:
    """Lexicon entries by their first token (exact) and by their stem (prefix entries)."""

    exact: dict[str, list[_Entry]] = field(default_factory=dict)
    stems: list[_Entry] = field(default_factory=list)


def _build_index(lexicon: Mapping[str, Sequence[str]]) -> _Index:
    index = _Index()
    for emotion, terms in lexicon.items():
        if emotion not in EMOTIONS:
            raise InvalidInputError(f"unknown emotion {emotion!r} in lexicon; choose from {list(EMOTIONS)}")
        for raw in terms:
            term, _, weight = raw.partition(":")
            prefix = term.endswith("*")
            tokens = tuple(_TOKEN.findall(term.rstrip("*").lower()))
            if not tokens:
                raise InvalidInputError(f"empty lexicon term {raw!r} for {emotion}")
            entry = _Entry(emotion, tokens, float(weight) if weight else 1.0, prefix)
            if prefix and len(tokens) == 1:
                index.stems.append(entry)
            else:
                index.exact.setdefault(tokens[0], []).append(entry)
    return index


def _phrase_matches(entry: _Entry, tokens: list[str], start: int) -> bool:
    window = tokens[start:start + len(entry.tokens)]
    if len(window) != len(entry.tokens):
        return False
    if entry.prefix:  # "hidden fee*": all but the last token exact, the last by prefix
        return window[:-1] == list(entry.tokens[:-1]) and window[-1].startswith(entry.tokens[-1])
    return tuple(window) == entry.tokens


def _is_negation(token: str) -> bool:
    return token in _NEGATIONS or "n't" in token


class EmotionLexicon:
    """Rule-and-lexicon emotion scorer for customer comments.

    Parameters
    ----------
    lexicon : mapping of emotion to terms, optional
        Replaces the built-in ``CX_LEXICON`` (same term syntax: ``word``, ``stem*``,
        ``a phrase``, ``term:0.5`` for a weight).
    extra_terms : mapping of emotion to terms, optional
        Added to the lexicon, for a team's own vocabulary.

    Attributes
    ----------
    index_ : the compiled lexicon.
    metrics_ : dict — how good it is: see ``cxlens.voc.text_eval.evaluate_emotions`` and
        docs/voc-text.md (agreement with human sentiment on four corpora; a labelled CX set).

    References
    ----------
    Hutto, C. J. & Gilbert, E. (2014). VADER. ICWSM-14 — negation, booster, capitals and "but" rules.
    Plutchik, R. (1980). Emotion: A psychoevolutionary synthesis — emotion opposites.
    Mohammad, S. M. & Turney, P. D. (2013). Crowdsourcing a word-emotion association lexicon.
    Computational Intelligence 29(3) — the lexicon-per-emotion approach.
    """

    def __init__(
        self,
        lexicon: Mapping[str, Sequence[str]] | None = None,
        extra_terms: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.lexicon = lexicon
        self.extra_terms = extra_terms

    def fit(self, texts: Sequence[str] | None = None, y: object = None) -> EmotionLexicon:
        """Compile the lexicon (nothing is learned from ``texts``)."""
        merged = {e: list(t) for e, t in (self.lexicon or CX_LEXICON).items()}
        for emotion, terms in (self.extra_terms or {}).items():
            merged.setdefault(emotion, []).extend(terms)
        self.index_ = _build_index(merged)
        self.metrics_ = {"evaluation": "docs/voc-text.md#emotions"}
        return self

    def _index(self) -> _Index:
        if not hasattr(self, "index_"):
            raise ModelNotFittedError("EmotionLexicon is not fitted: call fit() to compile the lexicon")
        return self.index_

    def analyze(self, text: str) -> dict[str, Any]:
        """Scores per emotion in [0, 1), the triggers of each, and the dominant emotion."""
        raw_tokens = _TOKEN.findall(text)
        tokens = [t.lower() for t in raw_tokens]
        shouting = any(t.isupper() and len(t) > 1 for t in raw_tokens) and not all(
            t.isupper() for t in raw_tokens if len(t) > 1)
        but_at = tokens.index("but") if "but" in tokens else -1
        evidence = dict.fromkeys(EMOTIONS, 0.0)
        triggers: dict[str, list[str]] = {e: [] for e in EMOTIONS}
        for start, entry in self._matches(tokens):
            end = start + len(entry.tokens)
            before = tokens[max(0, start - _WINDOW):start]
            weight = entry.weight * (1 + sum(BOOSTER_DICT.get(w, 0.0) for w in before))
            if shouting and raw_tokens[start].isupper() and len(raw_tokens[start]) > 1:
                weight += C_INCR * entry.weight
            if but_at >= 0:
                weight *= 0.5 if start < but_at else 1.5 if start > but_at else 1.0
            phrase = " ".join(raw_tokens[start:end])
            emotion = entry.emotion
            negators = [k for k, w in enumerate(before) if _is_negation(w)]
            if negators and not any(_is_negation(w) for w in entry.tokens):
                if emotion not in NEGATED_TO:
                    continue
                emotion = NEGATED_TO[emotion]
                first = start - len(before) + negators[-1]
                phrase = " ".join(raw_tokens[first:end])
            evidence[emotion] += max(weight, 0.0)
            triggers[emotion].append(phrase)
        scores = {e: round(1.0 - float(np.exp(-evidence[e])), 4) for e in EMOTIONS}
        dominant = max(EMOTIONS, key=lambda e: scores[e]) if any(scores.values()) else None
        return {"scores": scores, "triggers": {e: t for e, t in triggers.items() if t},
                "dominant": dominant}

    def _matches(self, tokens: list[str]) -> list[tuple[int, _Entry]]:
        """Longest lexicon match starting at each token; matched tokens are not reused."""
        index = self._index()
        found: list[tuple[int, _Entry]] = []
        i = 0
        while i < len(tokens):
            candidates = [e for e in index.exact.get(tokens[i], ()) if _phrase_matches(e, tokens, i)]
            candidates += [e for e in index.stems if tokens[i].startswith(e.tokens[0])]
            if candidates:
                # A term listed under several emotions (e.g. "ridiculous") counts for each of them.
                longest = max(len(e.tokens) for e in candidates)
                found.extend((i, e) for e in candidates if len(e.tokens) == longest)
                i += longest
            else:
                i += 1
        return found

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """The dominant emotion per text (None when no emotion word is present)."""
        return np.array([self.analyze(t)["dominant"] for t in check_texts(texts)], dtype=object)

    def score(self, texts: Sequence[str]) -> pd.DataFrame:
        """One row per text: a column per emotion, ``dominant`` and ``triggers``."""
        rows = []
        for text in check_texts(texts):
            result = self.analyze(text)
            rows.append({"text": text, **result["scores"], "dominant": result["dominant"],
                         "triggers": result["triggers"]})
        return pd.DataFrame(rows, columns=["text", *EMOTIONS, "dominant", "triggers"])


def score_emotions(
    texts: Sequence[str], extra_terms: Mapping[str, Sequence[str]] | None = None
) -> pd.DataFrame:
    """Emotion scores and triggers for each comment (see ``EmotionLexicon``)."""
    return EmotionLexicon(extra_terms=extra_terms).fit().score(texts)
