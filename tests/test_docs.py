"""Documentation that cannot drift: every setting is documented."""

from __future__ import annotations

from pathlib import Path

from cxlens.config import IdentityConfig, Settings

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text()
    missing = [name for name in Settings.model_fields if f"`{name}`" not in text]
    missing += [
        f"identity.{name}" for name in IdentityConfig.model_fields if f"`identity.{name}`" not in text
    ]
    assert not missing, f"settings missing from docs/configuration.md: {missing}"


def test_every_setting_has_a_description() -> None:
    for model in (Settings, IdentityConfig):
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"
