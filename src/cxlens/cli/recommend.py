"""`cxlens recommend train|evaluate|for`: train the recommenders, compare them, ask for one person."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Group
from rich.text import Text

from cxlens.cli.common import DataDirOption, JsonOption, emit, settings_for, table
from cxlens.decide.service import recommend_for
from cxlens.recommend.service import evaluation_report, train
from cxlens.store import Store

recommend_app = typer.Typer(help="Recommenders: train, evaluate against popularity, recommend.",
                            no_args_is_help=True)
KOption = Annotated[int, typer.Option("--k", help="List length (top-k).")]
COLUMNS = ["model", "recall", "ndcg", "map", "coverage", "novelty", "popularity_bias", "fit_seconds"]


@recommend_app.command("train")
def train_cmd(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """Train every recommender from the store and save them (versioned) in the data dir."""
    settings = settings_for(data_dir)
    with Store(settings.store_path, read_only=True) as store:
        emit(train(store, settings.data_dir), as_json=as_json)


def _render_report(report: dict[str, Any]) -> Group:
    parts: list[Any] = []
    for ds in report["datasets"]:
        parts.append(table(ds["models"], COLUMNS, title=f"{ds['dataset']}: {ds['users']:,} users, "
                           f"{ds['items']:,} items, {ds['interactions']:,} interactions, "
                           f"{ds['test_users']:,} test users (metrics @{ds['k']})"))
        parts.extend(Text(f"  {note}") for note in ds["notes"])
    return Group(*parts)


@recommend_app.command("evaluate")
def evaluate_cmd(k: KOption = 10, data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """Every model and the popularity baseline on a time split: the store's data and a synthetic set."""
    settings = settings_for(data_dir)
    with Store(settings.store_path, read_only=True) as store:
        emit(evaluation_report(store, k=k), as_json=as_json, render=_render_report)


@recommend_app.command("for")
def for_cmd(
    identifier: Annotated[str, typer.Argument(help="customer id, email:…, user_id:…, or a value.")],
    k: KOption = 10,
    model: Annotated[str, typer.Option("--model", help="hybrid, als, ease, item_knn …")] = "hybrid",
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Recommendations for one person, each with its reason (personalized only with their consent)."""
    settings = settings_for(data_dir)
    with Store(settings.store_path, read_only=True) as store:
        result = recommend_for(store, settings, identifier, k=k, model=model)
    emit(result, as_json=as_json, render=lambda r: table(
        r["items"], ["item_id", "name", "category", "score", "reason"],
        title=f"{r['customer_id']} "
              f"({'personalized' if r['personalized'] else 'not personalized: no consent'})"))


def register(app: typer.Typer) -> None:
    app.add_typer(recommend_app, name="recommend")
