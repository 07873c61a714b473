"""CLI: ``cxlens churn train|score`` and ``cxlens timing score`` — propensity and timing traits."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Group

from cxlens.cli.common import DataDirOption, JsonOption, emit, settings_for, table
from cxlens.features import open_engine
from cxlens.predict.churn_report import evaluate_churn, save_training, score_churn
from cxlens.predict.timing import score_timing
from cxlens.privacy.consent import sync_defaults
from cxlens.profiles.computed import write_computed_traits
from cxlens.store import Store

churn_app = typer.Typer(help="Churn propensity: train (time-split, judged against RFM) and score.",
                        no_args_is_help=True)
timing_app = typer.Typer(help="Timing: expected next purchase and best contact time per customer.",
                         no_args_is_help=True)

AsOfOption = Annotated[str | None, typer.Option(
    "--as-of", help="End of the data to use (default: just after the latest event).")]
HorizonOption = Annotated[int, typer.Option(
    "--horizon-days", help="Churned = no order within this many days.")]


def _render_report(report: dict[str, Any]) -> Group:
    m, b = report["metrics"], report["baseline"]["metrics"]
    rows = [{"measure": k, "model": m[k], "rfm_logistic": b[k]}
            for k in ("auc", "pr_auc", "brier", "top_decile_lift")]
    return Group(
        table(rows, ["measure", "model", "rfm_logistic"],
              title=f"churn model {report.get('model_version', '')}: "
              f"holdout from {report['holdout']['cutoff']} "
              f"({report['holdout']['customers']} buyers, churn rate {report['holdout']['churn_rate']:.1%})"),
        table(m["lift_by_decile"], ["decile", "customers", "mean_score", "churn_rate", "lift"],
              title="lift by decile (1 = highest risk)"),
        table(m["reliability"], ["bin", "customers", "mean_predicted", "observed_rate"], title="reliability"),
        table(report["importances"][:8], ["feature", "label", "importance"], title="what the model uses"),
        f"[bold]{report['comparison']['verdict']}[/bold]",
    )


@churn_app.command("train")
def train(as_of: AsOfOption = None, horizon_days: HorizonOption = 90, data_dir: DataDirOption = None,
          as_json: JsonOption = False) -> None:
    """Train on an earlier cutoff, judge on a later one against RFM-only logistic regression, keep it."""
    settings = settings_for(data_dir)
    with Store(settings.store_path) as store:
        with open_engine(store) as engine:
            training = evaluate_churn(engine, as_of=as_of, horizon_days=horizon_days,
                                      consent_defaults=settings.consent_defaults)
        report = save_training(store, settings.data_dir / "models", training)
    emit(report, as_json=as_json, render=_render_report)


def _render_scores(result: dict[str, Any]) -> Group:
    rows = [{"customer_id": r["customer_id"], "churn_risk": r["churn_risk"],
             "contactable": "yes" if r["contactable"] else "no",
             "reasons": "; ".join(x["text"] for x in r["reasons"])} for r in result["top"]]
    return Group(table(rows, ["customer_id", "churn_risk", "contactable", "reasons"],
                       title=f"top at-risk of {result['customers']} buyers as of {result['as_of']} "
                       f"(mean risk {result['mean_risk']:.1%}); "
                       f"{result['written']} traits written (churn_risk and churn_reasons)"))


@churn_app.command("score")
def score(as_of: AsOfOption = None,
          top: Annotated[int, typer.Option("--top", help="How many to list.")] = 10,
          data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """Score every buyer with the latest model, write churn_risk traits, list the most at risk."""
    settings = settings_for(data_dir)
    with Store(settings.store_path) as store:
        sync_defaults(store, settings)
        with open_engine(store) as engine:
            result = score_churn(store, engine, as_of=as_of, top=top,
                                 consent_defaults=settings.consent_defaults)
        result["written"] = write_computed_traits(store, result.pop("traits"))
    emit(result, as_json=as_json, render=_render_scores)


@timing_app.command("score")
def timing_score(as_of: AsOfOption = None, horizon_days: HorizonOption = 90, data_dir: DataDirOption = None,
                 as_json: JsonOption = False) -> None:
    """Write next_purchase and best_contact_time traits for customers who allow marketing."""
    settings = settings_for(data_dir)
    with Store(settings.store_path) as store:
        sync_defaults(store, settings)
        with open_engine(store) as engine:
            result = score_timing(store, engine, as_of=as_of, horizon_days=horizon_days,
                                  consent_defaults=settings.consent_defaults)
        result["written"] = write_computed_traits(store, result.pop("traits"))
    emit(result, as_json=as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(churn_app, name="churn")
    app.add_typer(timing_app, name="timing")
