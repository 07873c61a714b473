"""The house rules that keep the code livable, checked mechanically.

Imports run one way (config → store → collect/identity/profiles/privacy → features → analytics →
decide → faces); nothing imports a face; only ``store`` imports the database driver.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "cxlens"

# Each package may import the packages listed (plus the shared leaf modules below).
ALLOWED: dict[str, set[str]] = {
    "store": set(),
    "collect": {"store", "privacy", "identity", "profiles"},
    "identity": {"store"},
    "profiles": {"store", "identity", "privacy"},
    "privacy": {"store", "identity"},
    "features": {"store"},
    "segments": {"features", "store", "profiles", "privacy"},
    "predict": {"features", "store", "profiles", "privacy"},
    "recommend": {"features", "store", "profiles", "privacy"},
    "voc": {"features", "store", "profiles", "privacy"},
    "journeys": {"features", "store", "profiles", "privacy"},
    "experiments": {"features", "store", "profiles", "privacy"},
    "decide": {"profiles", "recommend", "segments", "privacy", "store", "features", "identity"},
    # The demo showcases everything: it loads data, then runs the learning job over it.
    "demo": {"collect", "store", "identity", "profiles", "privacy", "voc", "learn", "experiments"},
}
LEAVES = {"config", "errors", "jsonutil", "keys"}
FACES = {"cli", "api", "web"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_imports_run_one_way(path: Path) -> None:
    rel = path.relative_to(SRC)
    package = rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 else None
    for name in _imports(path):
        parts = name.split(".")
        if parts[0] == "duckdb":
            assert package == "store", f"{rel} imports duckdb: only cxlens.store may"
        if parts[0] != "cxlens" or len(parts) < 2:
            continue
        target = parts[1]
        if package is None or package == target or package in FACES or target in LEAVES:
            assert package in FACES or target not in FACES, f"{rel} imports face {name}"
            continue
        assert target not in FACES, f"{rel} imports the face {name}"
        assert target in ALLOWED.get(package, set()), (
            f"{rel} (package {package}) imports {name}; allowed: {sorted(ALLOWED.get(package, set()))}"
        )
