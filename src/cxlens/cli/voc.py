"""`cxlens voc ...`: scores, text analytics, drivers and measurement models."""

from __future__ import annotations

import typer

from cxlens.cli import voc_loop, voc_measure, voc_text

voc_app = typer.Typer(help="Voice of the customer: scores, sentiment, themes, drivers, models.",
                      no_args_is_help=True)
voc_measure.register(voc_app)
voc_text.register(voc_app)
voc_loop.register(voc_app)


def register(app: typer.Typer) -> None:
    app.add_typer(voc_app, name="voc")
