"""CLI commands: voc_text."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add these commands to ``app``."""
