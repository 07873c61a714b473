"""The experiment planted in the demo is recovered by the experiments analysis."""

from __future__ import annotations

from cxlens import jsonutil
from cxlens.demo.experiment import CONVERSION_EVENT, KEY, TRUE_LIFT, plant_experiment
from cxlens.demo.run import build_demo
from cxlens.experiments.analyze import analyze
from cxlens.identity.keyed import SECRET_FILE
from cxlens.store import Store


def test_the_planted_lift_is_recovered_without_sample_ratio_mismatch(settings) -> None:
    # Customer ids are keyed by the installation's secret, and the experiment assigns by customer
    # id: a fixed secret makes this run the same everywhere (a random one would leave the truth
    # outside the 95% interval about one run in twenty).
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / SECRET_FILE).write_text("5eed" * 16)
    build_demo(settings, customers=1500, seed=4, create_keys=False)
    with Store(settings.store_path) as store:
        planted = plant_experiment(store, settings, seed=4)
        again = plant_experiment(store, settings, seed=4)  # idempotent on the same store
        result = analyze(store, KEY)
        loaded = store.scalar("SELECT count(*) FROM events WHERE event = ?", [CONVERSION_EVENT])
    assert again == planted and loaded == planted.conversions
    truth = jsonutil.loads((settings.data_dir / "demo" / "ground_truth" / "experiment.json").read_bytes())
    assert truth["true_relative_lift"] == TRUE_LIFT and truth["units"] == planted.units
    assert not result["srm"]["mismatch"]
    (metric,) = result["metrics"]
    (treatment,) = metric["results"]
    low, high = treatment["relative"]["ci"]
    assert low < TRUE_LIFT < high  # the truth lies in the interval ...
    assert low > 0                 # ... and the effect is found, not just allowed
