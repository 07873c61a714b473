"""The measurement calendar: per-group / per-period scores and comparisons, from a table and the store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlens.errors import InvalidInputError
from cxlens.voc import scores
from cxlens.voc.calendar import report_from_frame, tallies_from_frame
from cxlens.voc.score_store import report_from_store


def _answers(seed: int = 3, n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = pd.Timestamp("2023-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 730, n), unit="D")
    return pd.DataFrame(
        {
            "timestamp": ts,
            "score": rng.integers(0, 11, n),
            "channel": rng.choice(["web", "store"], n),
        }
    )


def test_periods_are_labelled_and_grouped() -> None:
    frame = _answers()
    report = report_from_frame(frame, "nps", by=["channel"], period="quarter")
    labels = {(r["channel"], r["period"]) for r in report["rows"]}
    assert ("web", "2023-Q1") in labels and ("store", "2024-Q4") in labels
    assert len(labels) == 16 and sum(r["n"] for r in report["rows"]) == len(frame)
    web_q1 = frame[
        (frame.channel == "web") & (frame.timestamp.dt.year == 2023) & (frame.timestamp.dt.quarter == 1)
    ]
    row = next(r for r in report["rows"] if r["channel"] == "web" and r["period"] == "2023-Q1")
    assert row["score"] == pytest.approx(scores.nps(web_q1.score).score)


@pytest.mark.parametrize(("period", "first"), [("month", "2023-01"), ("half", "2023-H1"), ("year", "2023")])
def test_period_labels(period: str, first: str) -> None:
    report = report_from_frame(_answers(), "nps", period=period)
    assert report["rows"][0]["period"] == first


def test_previous_and_year_on_year_comparisons_pair_the_right_periods() -> None:
    frame = _answers()
    prev = report_from_frame(frame, "nps", period="half", compare_to="previous")
    assert [(c["period"], c["versus"]) for c in prev["changes"]] == [
        ("2023-H2", "2023-H1"),
        ("2024-H1", "2023-H2"),
        ("2024-H2", "2024-H1"),
    ]
    yoy = report_from_frame(frame, "nps", period="quarter", compare_to="yoy")
    assert [(c["period"], c["versus"]) for c in yoy["changes"]] == [
        ("2024-Q1", "2023-Q1"),
        ("2024-Q2", "2023-Q2"),
        ("2024-Q3", "2023-Q3"),
        ("2024-Q4", "2023-Q4"),
    ]
    q = frame.timestamp.dt.quarter
    before = frame[(frame.timestamp.dt.year == 2023) & (q == 2)].score
    after = frame[(frame.timestamp.dt.year == 2024) & (q == 2)].score
    expected = scores.compare(scores.tally(before, "nps"), scores.tally(after, "nps"), "nps")
    assert yoy["changes"][1]["p_value"] == pytest.approx(expected.p_value)
    assert all(c["verdict"] in ("significant", "noise") for c in yoy["changes"])


def test_input_problems_are_named() -> None:
    frame = _answers(n=20)
    with pytest.raises(InvalidInputError, match="unknown column 'segment'"):
        report_from_frame(frame, "nps", by=["segment"])
    frame.loc[7, "score"] = 12
    with pytest.raises(InvalidInputError, match="row 7"):
        tallies_from_frame(frame, "nps")
    frame = _answers(n=20).astype({"timestamp": str})
    frame.loc[4, "timestamp"] = "yesterday"
    with pytest.raises(InvalidInputError, match="'yesterday' in row 4"):
        tallies_from_frame(frame, "nps", period="month")
    with pytest.raises(InvalidInputError, match="needs a --period"):
        report_from_frame(_answers(n=20), "nps", compare_to="previous")


def _load(store, frame: pd.DataFrame, metric: str) -> None:
    rows = [
        (f"m{i}", ts.to_pydatetime(), metric, float(s), ch, f'{{"segment": "{"vip" if i % 3 else "std"}"}}')
        for i, (ts, s, ch) in enumerate(zip(frame.timestamp, frame.score, frame.channel, strict=True))
    ]
    store.executemany(
        "INSERT INTO feedback (message_id, timestamp, metric, score, channel, properties) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )


def test_store_queries_give_the_same_report_as_the_table(store) -> None:
    frame = _answers(n=400)
    _load(store, frame, "nps")
    store.execute(
        "INSERT INTO feedback (message_id, timestamp, metric, score) VALUES ('x', now(), 'csat', 9)"
    )
    from_store = report_from_store(store, "nps", by=["channel"], period="quarter", compare_to="yoy")
    from_frame = report_from_frame(frame, "nps", by=["channel"], period="quarter", compare_to="yoy")
    assert len(from_store["rows"]) == len(from_frame["rows"]) == 16
    for a, b in zip(from_store["rows"], from_frame["rows"], strict=True):
        assert (a["channel"], a["period"], a["n"]) == (b["channel"], b["period"], b["n"])
        assert a["score"] == pytest.approx(b["score"]) and a["margin"] == pytest.approx(b["margin"])
    assert [c["p_value"] for c in from_store["changes"]] == pytest.approx(
        [c["p_value"] for c in from_frame["changes"]]
    )
    segments = report_from_store(store, "nps", by=["properties.segment"])
    assert {r["properties.segment"] for r in segments["rows"]} == {"vip", "std"}


def test_store_names_the_off_scale_answer(store) -> None:
    _load(store, _answers(n=30), "csat")  # 0..10 answers are off the 1..5 CSAT scale
    with pytest.raises(InvalidInputError, match="message_id m"):
        report_from_store(store, "csat")
    with pytest.raises(InvalidInputError, match="unknown group column"):
        report_from_store(store, "csat", by=["score; DROP TABLE feedback"])
    with pytest.raises(InvalidInputError, match="no ces answers"):
        report_from_store(store, "ces")
