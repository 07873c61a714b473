"""Reading text inputs: the human-rated sentiment ground truth, and comment files given by users.

The ground-truth corpora are the four sets published with Hutto & Gilbert (2014): one line per
snippet, ``id<TAB>mean_rating<TAB>text``, the rating being the mean of about 20 raters on -4..+4.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cxlens.errors import InvalidInputError, NotFoundError

log = logging.getLogger(__name__)

#: Short corpus names, in the order the VADER paper reports them, and their file names.
CORPUS_FILES: dict[str, str] = {
    "tweets": "tweets_GroundTruth.txt",
    "movies": "movieReviewSnippets_GroundTruth.txt",
    "amazon": "amazonReviewSnippets_GroundTruth.txt",
    "nyt": "nytEditorialSnippets_GroundTruth.txt",
}
RATING_RANGE = (-4.0, 4.0)


@dataclass(frozen=True)
class Corpus:
    """One ground-truth corpus: snippet ids, human mean ratings (-4..+4) and texts."""

    name: str
    ids: list[str]
    ratings: np.ndarray
    texts: list[str]

    def __len__(self) -> int:
        return len(self.texts)

    def head(self, n: int) -> Corpus:
        """The first ``n`` snippets (for quick runs)."""
        return Corpus(self.name, self.ids[:n], self.ratings[:n], self.texts[:n])


def read_ground_truth(path: Path | str, name: str | None = None) -> Corpus:
    """Read one ``*_GroundTruth.txt`` file; malformed lines are an error naming the line."""
    path = Path(path)
    if not path.is_file():
        raise NotFoundError(f"ground-truth file not found: {path}", path=str(path))
    ids: list[str] = []
    ratings: list[float] = []
    texts: list[str] = []
    # The files are UTF-8 with CRLF endings; a few movie snippets carry stray bytes.
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        for lineno, raw in enumerate(handle, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip():
                continue
            parts = line.split("\t", 2)
            if len(parts) != 3:
                raise InvalidInputError(
                    f"{path.name} line {lineno}: expected id<TAB>mean_rating<TAB>text",
                    path=str(path), line=lineno,
                )
            try:
                rating = float(parts[1])
            except ValueError as exc:
                raise InvalidInputError(
                    f"{path.name} line {lineno}: rating {parts[1]!r} is not a number",
                    path=str(path), line=lineno,
                ) from exc
            ids.append(parts[0])
            ratings.append(rating)
            texts.append(parts[2])
    if not texts:
        raise InvalidInputError(f"{path.name} holds no snippets", path=str(path))
    return Corpus(name or path.stem, ids, np.asarray(ratings, dtype=float), texts)


def read_corpora(directory: Path | str, names: list[str] | None = None) -> dict[str, Corpus]:
    """Read the four corpora (or ``names`` of them) from ``directory``, keyed by short name."""
    directory = Path(directory)
    if not directory.is_dir():
        raise NotFoundError(
            f"sentiment corpora folder not found: {directory} (expected the four *_GroundTruth.txt "
            "files of the VADER paper; pass --corpora DIR)",
            path=str(directory),
        )
    wanted = names or list(CORPUS_FILES)
    unknown = [n for n in wanted if n not in CORPUS_FILES]
    if unknown:
        raise InvalidInputError(f"unknown corpus {unknown[0]!r}; choose from {sorted(CORPUS_FILES)}")
    return {n: read_ground_truth(directory / CORPUS_FILES[n], n) for n in wanted}


def read_text_table(
    path: Path | str, column: str, *, time_column: str | None = None
) -> pd.DataFrame:
    """Read comments from a CSV, JSON-lines or Parquet file, checked for use by the text models.

    Returns a frame with a ``text`` column (and ``time`` as UTC timestamps when ``time_column`` is
    given), indexed like the file's rows. An unknown column or an empty comment is an error that
    names the column or the row (1-based, as a spreadsheet shows it).
    """
    path = Path(path)
    if not path.is_file():
        raise NotFoundError(f"data file not found: {path}", path=str(path))
    suffix = path.suffix.lower()
    try:
        if suffix in {".csv", ".tsv", ".txt"}:
            frame = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", dtype=str,
                                keep_default_na=False)
        elif suffix in {".jsonl", ".ndjson"}:
            frame = pd.read_json(path, lines=True, dtype=False)
        elif suffix == ".json":
            frame = pd.read_json(path, dtype=False)
        elif suffix in {".parquet", ".pq"}:
            frame = pd.read_parquet(path)
        else:
            raise InvalidInputError(
                f"{path.name}: unsupported file type {suffix!r}; use .csv, .tsv, .jsonl, .json or .parquet"
            )
    except (ValueError, OSError) as exc:
        raise InvalidInputError(f"{path.name}: cannot be read ({exc})", path=str(path)) from exc
    for name in (column, time_column):
        if name is not None and name not in frame.columns:
            raise InvalidInputError(
                f"{path.name} has no column {name!r}; columns are {list(map(str, frame.columns))}",
                column=name,
            )
    out = pd.DataFrame({"text": check_texts(frame[column].tolist(), source=path.name)})
    if time_column is not None:
        try:
            out["time"] = pd.to_datetime(frame[time_column], utc=True, format="mixed").to_numpy()
        except (ValueError, TypeError) as exc:
            raise InvalidInputError(
                f"{path.name}: column {time_column!r} holds values that are not dates ({exc})",
                column=time_column,
            ) from exc
        out["time"] = pd.to_datetime(out["time"], utc=True)
    log.info("read %d comments from %s", len(out), path.name)
    return out


def check_texts(texts: object, *, source: str = "input") -> list[str]:
    """Validate a sequence of comments: each a non-empty string; the error names the first bad row."""
    if isinstance(texts, str) or not hasattr(texts, "__iter__"):
        raise InvalidInputError(f"{source}: expected a list of texts, got {type(texts).__name__}")
    checked = list(texts)
    if not checked:
        raise InvalidInputError(f"{source}: no texts given")
    for row, text in enumerate(checked, start=1):
        if not isinstance(text, str) or not text.strip():
            what = "empty" if isinstance(text, str) or text is None else f"a {type(text).__name__}"
            raise InvalidInputError(f"{source}: text in row {row} is {what}", row=row)
    return checked
