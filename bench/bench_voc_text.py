"""Text analytics speed: VADER sentiment throughput (goal ≥ 5,000 comments/s) and themes on
100,000 comments (goal ≤ 60 s), plus emotion and embedding-model throughput for reference.

Comments are real snippets from the four human-rated corpora (../shared/data/sentiment); for the
themes run, 1-3 snippets are joined per comment so that 100,000 distinct comments exist.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from cxlens.voc.corpora import read_corpora
from cxlens.voc.embeddings import embeddings_available
from cxlens.voc.emotions import EmotionLexicon
from cxlens.voc.sentiment import vader_features
from cxlens.voc.themes import summarize_themes

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sentiment"
SENTIMENT_GOAL = 5000.0  # comments per second
THEMES_GOAL = 60.0  # seconds for 100,000 comments


def _snippets() -> list[str]:
    return [t for c in read_corpora(CORPORA).values() for t in c.texts]


def _comments(snippets: list[str], n: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 4, size=n)
    picks = rng.integers(0, len(snippets), size=int(counts.sum()))
    texts, at = [], 0
    for k in counts:
        texts.append(" ".join(snippets[i] for i in picks[at:at + k]))
        at += k
    days = rng.integers(0, 180, size=n)
    return texts, np.datetime64("2026-01-01") + days.astype("timedelta64[D]")


def _median_seconds(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run(quick: bool = False) -> str:
    snippets = _snippets()
    n_sent = 5000 if quick else 20000
    n_themes_docs = 10000 if quick else 100000
    repeats = 3
    pick = np.random.default_rng(1).integers(0, len(snippets), size=n_sent)
    sentiment_texts = [snippets[i] for i in pick]  # one snippet = one comment
    rows: list[tuple[str, str, float, str, str]] = []

    for jobs in (1, 2):
        secs = _median_seconds(lambda jobs=jobs: vader_features(sentiment_texts, n_jobs=jobs), repeats)
        rate = n_sent / secs
        rows.append((f"VADER sentiment, {jobs} process(es)", f"{n_sent:,}", secs, f"{rate:,.0f}/s",
                     f"{rate / SENTIMENT_GOAL:.2f}× goal ({SENTIMENT_GOAL:,.0f}/s)"))

    lexicon = EmotionLexicon().fit()
    secs = _median_seconds(lambda: [lexicon.analyze(t) for t in sentiment_texts], repeats)
    rows.append(("emotions (lexicon)", f"{n_sent:,}", secs, f"{n_sent / secs:,.0f}/s", "no goal"))

    if embeddings_available():
        from cxlens.voc.sentiment import EmbeddingSentiment

        model = EmbeddingSentiment.load()
        sample = sentiment_texts[:500]
        model.predict(sample[:10])  # load the encoder outside the timing
        secs = _median_seconds(lambda: model.predict(sample), repeats)
        rows.append(("embedding sentiment (MiniLM + ridge)", "500", secs, f"{500 / secs:,.0f}/s", "no goal"))

    texts, times = _comments(snippets, n_themes_docs, seed=2)
    theme_repeats = 3 if quick else 1
    secs = _median_seconds(
        lambda: summarize_themes(texts, times=times, n_themes=10, n_jobs=2), theme_repeats
    )
    goal = THEMES_GOAL * n_themes_docs / 100000
    rows.append(("themes: TF-IDF + NMF (k=10) + VADER per theme + growth test", f"{n_themes_docs:,}",
                 secs, f"{n_themes_docs / secs:,.0f}/s", f"{goal / secs:.2f}× goal ({goal:.0f} s)"))

    table = "\n".join(f"| {what} | {n} | {secs:.2f} | {rate} | {ratio} |"
                      for what, n, secs, rate, ratio in rows)
    return (
        "## voc_text — sentiment, emotions and themes\n\n"
        "Real snippets from the four human-rated corpora; for themes, 1-3 snippets joined per comment "
        f"with dates over 180 days. Median of {repeats} runs (themes: {theme_repeats}); "
        "ratio > 1 means faster than the goal.\n\n"
        "| what | comments | median s | throughput | vs goal |\n|---|---:|---:|---:|---|\n" + table
    )
