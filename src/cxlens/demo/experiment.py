"""A checkout experiment planted in the demo, with a known effect, so its analysis can be checked.

The experiment's unit is the customer id, which only exists once identity resolution has run, so
the experiment is simulated after the business is loaded: every identified customer still alive
at the end of the demo is assigned by the real assignment code (GrowthBook hashing), exposed at a
time in the last four weeks, and converts ("Express Checkout Used") with a probability that the
treatment truly raises by ``TRUE_LIFT``. Conversions are loaded through the same pipeline as
everything else; the truth is saved beside the rest of the ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd
import pyarrow as pa

from cxlens import jsonutil
from cxlens.collect.pipeline import load_events
from cxlens.collect.records import to_arrow
from cxlens.config import Settings
from cxlens.demo import business as biz
from cxlens.errors import ConflictError
from cxlens.experiments.assignment import EXPOSURE_SCHEMA, record_exposures
from cxlens.experiments.registry import create_experiment
from cxlens.store import Store

KEY = "checkout-flow"
CONVERSION_EVENT = "Express Checkout Used"
BASE_RATE = 0.20
TRUE_LIFT = 0.50  # relative: treatment converts at 0.30
WINDOW_DAYS = 7
DEFINITION = {
    "key": KEY,
    "name": "One-page express checkout",
    "hypothesis": "An express checkout button makes more customers finish checkout quickly.",
    "variants": ["control", "express"],
    "metrics": [{"name": "express_checkout", "kind": "conversion", "event": CONVERSION_EVENT,
                 "window_days": WINDOW_DAYS}],
}


@dataclass(frozen=True)
class PlantedExperiment:
    key: str
    units: int
    conversions: int
    true_relative_lift: float


def plant_experiment(store: Store, settings: Settings, seed: int) -> PlantedExperiment:
    """Register, assign, expose and simulate the experiment; idempotent for a store it ran on."""
    truth_file = settings.data_dir / "demo" / "ground_truth" / "experiment.json"
    try:
        definition = create_experiment(store, DEFINITION)
    except ConflictError:  # already planted in this store: nothing to add
        saved = jsonutil.loads(truth_file.read_bytes())
        return PlantedExperiment(KEY, saved["units"], saved["conversions"], saved["true_relative_lift"])
    truth = pd.read_parquet(settings.data_dir / "demo" / "ground_truth" / "customers.parquet")
    alive = truth.loc[truth["alive_at_end"], "user_id"]
    units = pd.DataFrame(store.fetchall("SELECT value, customer_id FROM identities WHERE kind = 'user_id'"),
                         columns=["user_id", "customer_id"]).merge(alive.to_frame(), on="user_id")
    units = units.sort_values("customer_id", ignore_index=True)
    variant = definition.to_experiment().assign_many(units["customer_id"].to_numpy(dtype=str))
    units = units[variant >= 0].assign(variant=variant[variant >= 0])

    rng = np.random.default_rng([seed, 20250602])
    start = biz.END - timedelta(days=28)
    exposed = (pd.to_datetime(start) + pd.to_timedelta(rng.uniform(0, 21, len(units)), unit="D")).floor("us")
    rate = BASE_RATE * np.where(units["variant"].to_numpy() > 0, 1 + TRUE_LIFT, 1.0)
    converts = rng.random(len(units)) < rate
    converted_at = (exposed + pd.to_timedelta(rng.uniform(0, WINDOW_DAYS * 0.9, len(units)), unit="D")
                    ).floor("us")

    record_exposures(store, pa.table(
        [pa.array([KEY] * len(units)), pa.array(np.asarray(definition.variants)[units["variant"]]),
         pa.array(units["customer_id"]), pa.array(exposed, pa.timestamp("us", tz="UTC"))],
        schema=EXPOSURE_SCHEMA))
    events = [{"message_id": f"exp-{KEY}-{user}", "type": "track", "event": CONVERSION_EVENT,
               "user_id": user, "channel": "web", "source": "demo:experiment", "timestamp": when,
               "received_at": when, "properties": {"experiment_id": KEY}}
              for user, when in zip(units.loc[converts, "user_id"], converted_at[converts], strict=True)]
    if events:
        load_events(store, settings, to_arrow(events))
    planted = PlantedExperiment(KEY, len(units), len(events), TRUE_LIFT)
    truth_file.write_bytes(jsonutil.dumps({
        "key": KEY, "variants": definition.variants, "metric": "express_checkout",
        "base_rate": BASE_RATE, "true_relative_lift": TRUE_LIFT, "window_days": WINDOW_DAYS,
        "units": planted.units, "conversions": planted.conversions}, indent=True))
    return planted
