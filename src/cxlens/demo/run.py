"""``cxlens demo``: generate the synthetic business, import it the way users import, summarize it.

Generation writes Parquet files under ``<data_dir>/demo`` (ground truth in ``demo/ground_truth``);
each file then goes through ``cxlens.collect.importer.import_file`` — the same path as
``cxlens import`` — so the demo exercises validation, identity, consent and extraction for real.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cxlens import keys
from cxlens.collect.importer import import_file
from cxlens.config import Settings
from cxlens.demo.generate import KINDS, generate
from cxlens.errors import InvalidInputError
from cxlens.store import Store

log = logging.getLogger(__name__)

MAX_CUSTOMERS = 5_000_000
DemoProgress = Callable[[str, float], None]  # (step, fraction of the step done)


@dataclass
class DemoResult:
    customers: int
    seed: int
    directory: str
    files: dict[str, int]                   # rows written per file
    imports: list[dict[str, Any]]           # each import's report, without the rejected-row list
    summary: dict[str, Any]
    keys: dict[str, str] = field(default_factory=dict)  # secrets, shown once
    seconds: dict[str, float] = field(default_factory=dict)


def summarize(store: Store) -> dict[str, Any]:
    """What the store holds after the demo: computed from the store, not from the generator."""
    def one(sql: str) -> Any:
        return store.fetchall(sql)[0][0]

    profiles = one("SELECT count(*) FROM profiles")
    identified = one("SELECT count(DISTINCT customer_id) FROM identities WHERE kind = 'user_id'")
    by_channel = {c or "(none)": n for c, n in store.fetchall(
        "SELECT channel, count(*) FROM events GROUP BY channel ORDER BY count(*) DESC")}
    return {
        "profiles": profiles,
        "identified_customers": identified,
        "identified_share": round(identified / profiles, 4) if profiles else 0.0,
        "events": one("SELECT count(*) FROM events"),
        "events_by_channel": by_channel,
        "orders": one("SELECT count(*) FROM orders"),
        "revenue": float(one("SELECT coalesce(sum(revenue), 0) FROM orders")),
        "survey_responses": one("SELECT count(*) FROM feedback"),
        "products": one("SELECT count(*) FROM products"),
        "rejected": one("SELECT count(*) FROM rejected_events WHERE source LIKE 'demo:%'"),
    }


def build_demo(settings: Settings, *, customers: int = 1_000, seed: int = 7,
               on_progress: DemoProgress | None = None, create_keys: bool = True) -> DemoResult:
    """Generate, import and summarize the demo business into ``settings.data_dir``."""
    if not 1 <= customers <= MAX_CUSTOMERS:
        raise InvalidInputError(f"--customers must be between 1 and {MAX_CUSTOMERS:,}, not {customers}",
                                field="customers")
    if seed < 0:
        raise InvalidInputError(f"--seed must be 0 or more, not {seed}", field="seed")
    report = on_progress or (lambda step, done: None)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    report("generate", 0.0)
    files = generate(settings.data_dir / "demo", customers, seed)
    report("generate", 1.0)
    seconds["generate"] = time.perf_counter() - started
    imports = []
    with Store(settings.store_path) as store:
        # A small business may simulate none of a kind (one customer, no survey answer); an empty
        # file is nothing to import, and the importer rightly refuses one.
        for kind in (k for k in KINDS if files.rows[k]):
            started = time.perf_counter()
            def on_import(done: float, k: str = kind) -> None:
                report(f"import {k}", done)

            result = import_file(store, settings, kind, files.files[kind], source=f"demo:{kind}",
                                 on_progress=on_import)
            seconds[f"import {kind}"] = time.perf_counter() - started
            summary = result.to_dict()
            summary.pop("rejected")
            imports.append(summary)
        created = {}
        if create_keys:
            for kind in ("write", "admin"):
                created[kind] = keys.create_key(store, kind, f"demo {kind}").secret
        overview = summarize(store)
    log.info("demo built: %d customers, seed %d", customers, seed)
    return DemoResult(customers=customers, seed=seed, directory=str(files.directory),
                      files=dict(files.rows), imports=imports, summary=overview, keys=created,
                      seconds={k: round(v, 2) for k, v in seconds.items()})
