"""CLI commands: text analytics of comments — sentiment, emotions, themes, evaluation, training."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.text import Text

from cxlens import jsonutil
from cxlens.cli.common import JsonOption, emit, err_console, table
from cxlens.errors import InvalidInputError
from cxlens.voc.corpora import check_texts, read_text_table
from cxlens.voc.emotions import EMOTIONS, score_emotions
from cxlens.voc.guided_themes import classify_comments
from cxlens.voc.sentiment import MODELS, SHIPPED_HEAD, score_texts
from cxlens.voc.text_eval import evaluate_emotions, evaluate_sentiment, train_sentiment_head
from cxlens.voc.themes import summarize_themes

DEFAULT_CORPORA = Path("../shared/data/sentiment")

TextOption = Annotated[str | None, typer.Option("--text", help="One comment to analyze.")]
DataOption = Annotated[
    Path | None, typer.Option("--data", help="A .csv, .tsv, .jsonl, .json or .parquet file of comments.")
]
ColumnOption = Annotated[str, typer.Option("--column", help="The column holding the comments.")]
CorporaOption = Annotated[
    Path, typer.Option("--corpora", help="Folder with the four *_GroundTruth.txt files of the VADER paper.")
]


def _comments(text: str | None, data: Path | None, column: str) -> list[str]:
    if (text is None) == (data is None):
        raise InvalidInputError("give exactly one of --text \"...\" or --data FILE")
    if text is not None:
        return check_texts([text], source="--text")
    return read_text_table(data, column)["text"].tolist()  # type: ignore[arg-type]


def _short(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _bar(share: float, width: int = 30) -> str:
    return "█" * round(share * width)


def _records(frame: Any) -> list[dict[str, Any]]:
    return jsonutil.loads(frame.to_json(orient="records"))


def sentiment(
    text: TextOption = None,
    data: DataOption = None,
    column: ColumnOption = "text",
    model: Annotated[str, typer.Option("--model", help=f"One of {', '.join(MODELS)}.")] = "vader",
    head: Annotated[Path | None, typer.Option("--head", help="A trained head (embedding model).")] = None,
    explain: Annotated[bool, typer.Option("--explain/--no-explain",
                                          help="Show the words that drove each score.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Sentiment of comments: score, label (positive/neutral/negative) and the words behind it."""
    comments = _comments(text, data, column)
    result = _records(score_texts(comments, model, explain=explain or text is not None, head=head))

    def render(rows: list[dict[str, Any]]) -> Any:
        for row in rows:
            row["text"] = _short(row["text"])
            if "drivers" in row:
                row["drivers"] = ", ".join(f"{d['word']} {d['contribution']:+.2f}" for d in row["drivers"])
        columns = ["text", "score", "label"] + (["drivers"] if "drivers" in rows[0] else [])
        counts = {label: sum(r["label"] == label for r in rows)
                  for label in ("positive", "neutral", "negative")}
        summary = Text("\n".join(f"{label:>8} {_bar(n / len(rows))} {n}" for label, n in counts.items()))
        return Group(table(rows[:50], columns, title=f"sentiment ({rows[0]['model']})"), summary)

    emit(result, as_json=as_json, render=render)


def emotions(
    text: TextOption = None,
    data: DataOption = None,
    column: ColumnOption = "text",
    as_json: JsonOption = False,
) -> None:
    """Emotions in comments (joy, trust, anger, frustration, sadness, surprise) and their triggers."""
    result = _records(score_emotions(_comments(text, data, column)))

    def render(rows: list[dict[str, Any]]) -> Any:
        if len(rows) == 1:  # one comment: an emotion per line, with a bar and its triggers
            row = rows[0]
            return table([{"emotion": e, "score": row[e], "": _bar(row[e], 20),
                           "triggers": ", ".join(row["triggers"].get(e, []))} for e in EMOTIONS],
                         ["emotion", "score", "", "triggers"], title=_short(row["text"], 70))
        shown = [{"text": _short(r["text"], 50), "dominant": r["dominant"] or "",
                  "score": r[r["dominant"]] if r["dominant"] else 0.0,
                  "triggers": "; ".join(f"{e}: {', '.join(t)}" for e, t in r["triggers"].items())}
                 for r in rows[:50]]
        return table(shown, ["text", "dominant", "score", "triggers"], title="emotions (first 50)")

    emit(result, as_json=as_json, render=render)


def themes(
    data: Annotated[Path, typer.Option("--data", help="A file of comments (.csv, .jsonl, .parquet).")],
    column: ColumnOption = "text",
    time_column: Annotated[str | None, typer.Option("--time-column",
                                                    help="Dates, for emerging themes.")] = None,
    n_themes: Annotated[int, typer.Option("--n-themes", help="Number of themes.")] = 8,
    seeds: Annotated[Path | None, typer.Option(
        "--seeds", help='JSON file naming themes by keywords: {"delivery": ["late", "courier"]}.')] = None,
    freq: Annotated[str | None, typer.Option("--freq",
                                             help="Period for growth: W or M (default auto).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Discover themes: labels, share, sentiment per theme, quotes and emerging themes."""
    frame = read_text_table(data, column, time_column=time_column)
    seed_map = _read_seeds(seeds) if seeds else None
    report = summarize_themes(frame["text"].tolist(), n_themes=n_themes, seeds=seed_map, freq=freq,
                              times=frame["time"] if time_column else None)

    def render(value: dict[str, Any]) -> Any:
        rows = [{"theme": t["name"], "share": f"{t['share']:.1%} {_bar(t['share'], 20)}",
                 "n": t["n"], "sentiment": t["sentiment"], "negative": t["share_negative"],
                 "terms": ", ".join(t["terms"][:6]),
                 "quote": _short(t["quotes"][0], 70) if t["quotes"] else ""}
                for t in value["themes"]]
        parts: list[Any] = [table(rows, list(rows[0]), title="themes")]
        if value["emerging"]:
            keys = ("name", "previous_share", "share", "growth", "p_value", "emerging")
            growth = [{k: e[k] for k in keys} for e in value["emerging"]]
            latest = value["emerging"][0]
            parts.append(table(growth, list(growth[0]),
                               title=f"growth: {latest['period']} vs {latest['previous_period']} (Holm)"))
        return Group(*parts)

    emit(report.to_dict(), as_json=as_json, render=render)


def taxonomy(
    data: Annotated[Path, typer.Option("--data", help="A file of comments (.csv, .jsonl, .parquet).")],
    taxonomy_file: Annotated[Path, typer.Option(
        "--taxonomy", help='JSON file of your themes and keywords: {"delivery": ["late", "courier"]}.')],
    column: ColumnOption = "text",
    as_json: JsonOption = False,
) -> None:
    """Apply your own theme taxonomy to every comment (keywords label, a classifier generalizes)."""
    frame = read_text_table(data, column)
    result = classify_comments(frame["text"].tolist(), _read_seeds(taxonomy_file))

    def render(value: dict[str, Any]) -> Any:
        rows = [{"theme": t["theme"], "share": f"{t['share']:.1%} {_bar(t['share'], 20)}", "n": t["n"],
                 "signals": ", ".join(t["signals"])} for t in value["themes"]]
        return Group(table(rows, list(rows[0]), title=f"{value['comments']} comments, "
                                                      f"{value['keyword_share']:.0%} labelled by keywords, "
                                                      f"{value['unassigned']} unassigned"))

    emit(result, as_json=as_json, render=render)


def _read_seeds(path: Path) -> dict[str, list[str]]:
    try:
        seeds = jsonutil.loads(path.read_bytes())
    except (OSError, jsonutil.JSONDecodeError) as exc:
        raise InvalidInputError(f"--seeds {path}: not a readable JSON file ({exc})") from exc
    if not isinstance(seeds, dict) or not all(
        isinstance(v, list) and all(isinstance(w, str) for w in v) for v in seeds.values()
    ):
        raise InvalidInputError(f"--seeds {path}: expected {{\"theme\": [\"keyword\", ...], ...}}")
    return seeds


def evaluate_sentiment_cmd(
    corpora: CorporaOption = DEFAULT_CORPORA,
    models: Annotated[str, typer.Option("--models", help="Comma-separated: vader,embedding.")] = (
        "vader,embedding"),
    limit: Annotated[int | None, typer.Option("--limit",
                                              help="Sample this many snippets per corpus.")] = None,
    cache_dir: Annotated[Path | None, typer.Option("--cache-dir", help="Keep embeddings here.")] = None,
    as_json: JsonOption = False,
) -> None:
    """The evaluation table: Pearson r and 3-class F1 per corpus, VADER beside the embedding model."""
    rows = evaluate_sentiment(corpora, models=[m.strip() for m in models.split(",") if m.strip()],
                              limit=limit, cache_dir=cache_dir, progress=lambda m: err_console.log(m))
    emit(rows, as_json=as_json, render=_evaluation_table)


_EVALUATION_COLUMNS = {
    "corpus": "corpus", "n": "n", "vader_published_r": "paper r", "vader_published_f1": "paper F1",
    "vader_r": "VADER r", "vader_f1": "VADER F1", "embedding_r": "ours r", "embedding_f1": "ours F1",
    "embedding_only_r": "emb-only r", "embedding_only_f1": "emb-only F1",
}


def _evaluation_table(rows: list[dict[str, Any]]) -> Any:
    keys = [k for k in _EVALUATION_COLUMNS if k in rows[0]]
    return table([[row[k] for k in keys] for row in rows], [_EVALUATION_COLUMNS[k] for k in keys],
                 title="Pearson r and 3-class F1 with the human mean (paper = VADER as published; "
                       "ours = cross-corpus)")


def evaluate_emotions_cmd(
    corpora: CorporaOption = DEFAULT_CORPORA,
    labelled: Annotated[Path | None, typer.Option(
        "--labelled", help="JSON lines of {text, emotions: [...]} labelled by hand.")] = None,
    as_json: JsonOption = False,
) -> None:
    """How well the emotion lexicon agrees with human sentiment, and with hand labels when given."""
    report = evaluate_emotions(corpora, labelled)

    def render(value: dict[str, Any]) -> Any:
        parts = [table(value["direction"], list(value["direction"][0]), title="emotion direction vs raters")]
        if "labelled" in value:
            parts.append(table(value["labelled"], list(value["labelled"][0]), title="hand-labelled set"))
        return Group(*parts)

    emit(report, as_json=as_json, render=render)


def train_sentiment(
    corpora: CorporaOption = DEFAULT_CORPORA,
    out: Annotated[Path, typer.Option("--out", help="Where to write the head (JSON).")] = SHIPPED_HEAD,
    cache_dir: Annotated[Path | None, typer.Option("--cache-dir", help="Keep embeddings here.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Train the embedding model's head on all four corpora (after a cross-corpus evaluation)."""
    metrics = train_sentiment_head(corpora, out, cache_dir=cache_dir,
                                   progress=lambda m: err_console.log(m))
    emit({**metrics, "out": str(out)}, as_json=as_json,
         render=lambda m: table(m["cross_corpus"], list(m["cross_corpus"][0]),
                                title=f"head written to {m['out']}; cross-corpus results"))


def register(app: typer.Typer) -> None:
    """Add these commands to ``app``."""
    app.command("sentiment")(sentiment)
    app.command("emotions")(emotions)
    app.command("themes")(themes)
    app.command("taxonomy")(taxonomy)
    app.command("evaluate-sentiment")(evaluate_sentiment_cmd)
    app.command("evaluate-emotions")(evaluate_emotions_cmd)
    app.command("train-sentiment")(train_sentiment)
