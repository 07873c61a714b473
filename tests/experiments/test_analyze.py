"""Plant an experiment with a known effect in a store, and recover it from the store: lift, interval,
SRM, guardrails, verdicts, and the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pytest

from cxlens.cli.main import run
from cxlens.errors import InvalidInputError, NotFoundError
from cxlens.experiments.analyze import analyze
from cxlens.experiments.assignment import exposures, record_exposures
from cxlens.experiments.registry import create_experiment, get_experiment
from cxlens.store import Store

T0 = datetime(2025, 1, 1, tzinfo=UTC)
UNITS = 20_000
BASE, TREATED = 0.10, 0.13  # planted conversion rates: a +30% relative lift


def plant(
    store: Store,
    key: str,
    *,
    rates: tuple[float, float] = (BASE, TREATED),
    tickets: tuple[float, float] = (0.05, 0.05),
    drop_treated: float = 0.0,
) -> None:
    """Expose UNITS units with the landed assignment, then write conversions and support tickets with
    the planted rates (deterministic hash draws per unit). ``drop_treated`` loses treated exposures."""
    definition = create_experiment(
        store,
        {
            "key": key,
            "metrics": [
                {"name": "purchase", "kind": "conversion", "event": "Order Completed"},
                {
                    "name": "tickets",
                    "kind": "conversion",
                    "event": "Support Ticket Created",
                    "guardrail": True,
                    "inverse": True,
                },
            ],
        },
    )
    table = exposures(definition.to_experiment(), np.array([f"u{i}" for i in range(UNITS)]), T0)
    record_exposures(store, table)
    if drop_treated:
        store.execute(
            "DELETE FROM exposures WHERE experiment_key = ? AND variant = 'treatment' AND "
            "hash(unit_id || 'drop') % 1000 < ?",
            [key, int(drop_treated * 1000)],
        )
    for event, (control, treated), salt in (
        ("Order Completed", rates, "buy"),
        ("Support Ticket Created", tickets, "tix"),
    ):
        store.execute(
            f"""INSERT INTO events (message_id, type, event, customer_id, channel, timestamp, received_at)
            SELECT '{salt}-' || unit_id, 'track', ?, unit_id, 'web', exposed_at + INTERVAL 1 DAY,
                   exposed_at + INTERVAL 1 DAY
            FROM exposures WHERE experiment_key = ? AND (hash(unit_id || '{salt}') % 100000) / 100000.0 <
                 CASE variant WHEN 'treatment' THEN ? ELSE ? END""",
            [event, key, treated, control],
        )


def test_a_planted_lift_is_recovered_and_shipped(store):
    plant(store, "checkout-v2")
    result = analyze(store, "checkout-v2")
    purchase = result["metrics"][0]
    assert purchase["control"]["mean"] == pytest.approx(BASE, abs=0.01)
    effect = purchase["results"][0]["relative"]
    assert effect["ci"][0] < TREATED / BASE - 1 < effect["ci"][1]  # the planted +30% is inside the interval
    assert effect["expected"] == pytest.approx(0.30, abs=0.1)
    assert purchase["results"][0]["significant"]
    assert not result["srm"]["mismatch"] and result["guardrail_breaches"] == []
    assert result["verdict"] == "ship" and result["variant"] == "treatment"


def test_a_harmed_guardrail_blocks_shipping(store):
    plant(store, "pushy-popup", tickets=(0.05, 0.09))
    result = analyze(store, "pushy-popup")
    assert result["guardrail_breaches"][0]["metric"] == "tickets"
    assert result["verdict"] == "harmful"


def test_lost_exposures_are_caught_by_the_sample_ratio_check(store):
    plant(store, "leaky-logging", drop_treated=0.1)
    result = analyze(store, "leaky-logging")
    assert result["srm"]["mismatch"] and result["verdict"] == "invalid"


def test_no_effect_is_inconclusive(store):
    plant(store, "same-same", rates=(BASE, BASE))
    assert analyze(store, "same-same")["verdict"] == "inconclusive"


def test_input_is_checked(store):
    with pytest.raises(NotFoundError, match="unknown experiment"):
        analyze(store, "nope")
    create_experiment(store, {"key": "quiet", "metrics": [{"name": "p", "kind": "conversion", "event": "x"}]})
    with pytest.raises(NotFoundError, match="no exposures"):
        analyze(store, "quiet")
    with pytest.raises(InvalidInputError, match="no rollout"):
        analyze(store, "quiet", phase="rollout")
    with pytest.raises(InvalidInputError, match="unknown phase"):
        analyze(store, "quiet", phase="later")


@pytest.mark.slow
def test_cli_create_list_analyze(settings, tmp_path, capsys):
    definition = tmp_path / "exp.toml"
    definition.write_text(
        'key = "cli-exp"\n[[metrics]]\nname = "purchase"\nkind = "conversion"\nevent = "Order Completed"\n'
    )
    data = ["--data-dir", str(settings.data_dir)]
    assert run(["experiments", "create", "--definition", str(definition), *data]) == 0
    with Store(settings.store_path) as store:
        experiment = get_experiment(store, "cli-exp").to_experiment()
        record_exposures(store, exposures(experiment, np.array([f"u{i}" for i in range(2000)]), T0))
    capsys.readouterr()
    assert run(["experiments", "list", "--json", *data]) == 0
    assert json.loads(capsys.readouterr().out)[0]["units"] == 2000
    assert run(["experiments", "analyze", "cli-exp", "--json", *data]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] == "inconclusive" and out["srm"]["users"][0] + out["srm"]["users"][1] == 2000
    assert run(["experiments", "analyze", "cli-exp", *data]) == 0
    assert "verdict: inconclusive" in capsys.readouterr().out
    assert run(["experiments", "analyze", "missing", *data]) == 4
