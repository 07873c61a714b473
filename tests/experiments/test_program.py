"""The CX program: an initiative's pilot, decision with evidence, staged rollout behind guardrail
checks, playbooks applied to another segment, the searchable log, and KPIs on the calendar."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_analyze import BASE, T0, TREATED  # noqa: E402

from cxlens.cli.main import run  # noqa: E402
from cxlens.errors import ConflictError, InvalidInputError, NotFoundError  # noqa: E402
from cxlens.experiments import program  # noqa: E402
from cxlens.experiments.assignment import exposures, hash_units, record_exposures  # noqa: E402
from cxlens.experiments.program_kpis import create_kpi, kpi_progress  # noqa: E402
from cxlens.experiments.registry import assign, get_experiment  # noqa: E402

PILOT = {
    "key": "delivery-sms",
    "hypothesis": "telling people when the parcel comes makes them buy again",
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
}


def outcomes(store, key: str, rates: tuple[float, float] = (BASE, TREATED), tickets: float = 0.05) -> None:
    """Planted conversions (and a harmless ticket rate) for the units exposed under ``key``."""
    for event, (control, treated), salt in (
        ("Order Completed", rates, "buy"),
        ("Support Ticket Created", (tickets, tickets), "tix"),
    ):
        store.execute(
            f"""INSERT INTO events (message_id, type, event, customer_id, channel, timestamp, received_at)
            SELECT '{salt}-' || experiment_key || unit_id, 'track', ?, unit_id, 'web',
                   exposed_at + INTERVAL 1 DAY,
                   exposed_at + INTERVAL 1 DAY FROM exposures
            WHERE experiment_key = ? AND (hash(unit_id || '{salt}') % 100000) / 100000.0 <
                  CASE WHEN variant = 'control' THEN ? ELSE ? END""",
            [event, key, control, treated],
        )


def rollout_traffic(store, coverage: float) -> None:
    """A rollout stage's exposures in bulk (the rollout hash, as ``assign`` uses) and their outcomes."""
    key = f"delivery-sms:rollout:{round(coverage * 100)}"
    units = np.array([f"r{i}" for i in range(20_000)])
    rolled = hash_units("delivery-sms:rollout", units) < coverage
    store.register(
        "_rollout",
        pa.table(
            {
                "experiment_key": [key] * len(units),
                "variant": np.where(rolled, "treatment", "control"),
                "unit_id": units,
                "exposed_at": [T0] * len(units),
            }
        ),
    )
    store.execute("INSERT INTO exposures SELECT * FROM _rollout")
    store.unregister("_rollout")
    outcomes(store, key)  # the same planted effect


def pilot_with_results(store, rates=(BASE, TREATED)) -> dict:
    create_kpi(store, key="repeat", name="Repeat purchase rate", measure="repeat_rate", target=0.3)
    initiative = program.create_initiative(
        store,
        title="Delivery SMS",
        objective="Fewer anxious customers",
        pilot=PILOT,
        kpi_key="repeat",
        kpi_target=0.3,
        tags="delivery sms",
    )
    experiment = get_experiment(store, "delivery-sms")
    record_exposures(
        store, exposures(experiment.to_experiment(), np.array([f"u{i}" for i in range(20_000)]), T0)
    )
    outcomes(store, "delivery-sms", rates)
    return initiative


def test_pilot_decide_roll_out_in_stages_and_keep_as_playbook(store):
    initiative = pilot_with_results(store)
    assert initiative["status"] == "piloting"
    assert get_experiment(store, "delivery-sms").holdout.fraction == 0.1  # a pilot always has a holdout
    iid = initiative["initiative_id"]
    decided = program.decide(store, iid, "scale", "lift is clear and tickets are flat", decided_by="ana")
    evidence = decided["decisions"][0]["evidence"]
    assert evidence["verdict"] == "ship" and evidence["metrics"][0]["results"][0]["significant"]
    assert decided["status"] == "scaling"
    assert get_experiment(store, "delivery-sms").rollout.model_dump() == {
        "variant": "treatment",
        "coverage": 0.0,
    }

    first = program.advance_rollout(store, iid)  # the check runs on the pilot (no rollout traffic yet)
    assert first["passed"] and first["phase"] == "pilot" and first["coverage"] == 0.1
    rollout_traffic(store, 0.1)
    answers = [assign(store, "delivery-sms", f"r{i}") for i in range(30)]  # client traffic uses the same hash
    assert {a["phase"] for a in answers} == {"rollout"}
    assert (
        store.scalar("SELECT count(*) FROM exposures WHERE experiment_key = 'delivery-sms:rollout:10'")
        == 20_000
    )
    second = program.advance_rollout(store, iid)
    assert second["passed"] and second["phase"] == "rollout" and second["coverage"] == 0.5
    rollout_traffic(store, 0.5)
    third = program.advance_rollout(store, iid)
    assert third["initiative"]["status"] == "scaled" and third["initiative"]["rollout_stage"] == 3
    assert [r["coverage"] for r in third["initiative"]["rollouts"]] == [0.1, 0.5, 1.0]
    with pytest.raises(ConflictError, match="only a scaling initiative"):
        program.advance_rollout(store, iid)

    book = program.save_playbook(store, iid, "Delivery SMS")
    assert book["pilot"]["hypothesis"] == PILOT["hypothesis"] and book["evidence"]["verdict"] == "ship"
    store.execute(
        """INSERT INTO computed_traits VALUES ('x', 'rfm_segment', '"at risk"', 'rfm', '1', now())"""
    )
    applied = program.apply_playbook(store, book["playbook_id"], "rfm_segment=at risk")
    assert applied["segment"] == "rfm_segment=at risk" and applied["playbook_id"] == book["playbook_id"]
    assert get_experiment(store, applied["experiment_key"]).segment == "rfm_segment=at risk"
    assert [r["initiative_id"] for r in program.search_initiatives(store, "tickets FLAT")] == [iid]
    assert len(program.search_initiatives(store, "delivery")) == 2
    assert program.search_initiatives(store, "pricing") == []


def test_a_harmful_pilot_cannot_be_scaled_but_can_be_stopped(store):
    iid = pilot_with_results(store, rates=(BASE, 0.07))["initiative_id"]
    store.execute(
        "UPDATE experiment_definitions SET definition = json_merge_patch(definition, ?)",
        [
            json.dumps(
                {
                    "metrics": [
                        PILOT["metrics"][1] | {"guardrail": True},
                        {
                            "name": "purchase",
                            "kind": "conversion",
                            "event": "Order Completed",
                            "guardrail": True,
                        },
                    ]
                }
            )
        ],
    )
    with pytest.raises(ConflictError, match="refusing to scale: the pilot is harmful"):
        program.decide(store, iid, "scale", "ship it anyway")
    stopped = program.decide(store, iid, "stop", "it lowers purchases")
    assert stopped["status"] == "stopped" and get_experiment(store, "delivery-sms").status == "stopped"
    with pytest.raises(ConflictError, match="already stopped"):
        program.decide(store, iid, "iterate", "again")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"decision": "maybe", "rationale": "x"}, InvalidInputError, "unknown decision"),
        ({"decision": "scale", "rationale": " "}, InvalidInputError, "needs a rationale"),
    ],
)
def test_decisions_are_checked(store, kwargs, error, message):
    iid = program.create_initiative(store, title="t", objective="o", pilot=PILOT)["initiative_id"]
    with pytest.raises(error, match=message):
        program.decide(store, iid, **kwargs)


def test_initiative_input_is_checked(store):
    with pytest.raises(NotFoundError, match="unknown KPI"):
        program.create_initiative(store, title="t", objective="o", pilot=PILOT, kpi_key="nps")
    with pytest.raises(InvalidInputError, match="rollout stages"):
        program.create_initiative(store, title="t", objective="o", pilot=PILOT, stages=[0.5, 0.2, 1])
    with pytest.raises(NotFoundError, match="unknown initiative"):
        program.get_initiative(store, "ini_nope")
    with pytest.raises(NotFoundError, match="unknown playbook"):
        program.apply_playbook(store, "pb_nope", "a=b")
    with pytest.raises(InvalidInputError, match="unknown status 'foo'; use piloting, iterating, scaling"):
        program.list_initiatives(store, "foo")  # was an empty list, as if there were none


def test_kpi_progress_per_quarter_with_target_and_year_on_year(store):
    rows = [
        ("o1", "a", "2024-02-10", 100),
        ("o2", "b", "2024-05-01", 50),
        ("o3", "a", "2025-02-01", 30),
        ("o4", "b", "2025-02-15", 70),
        ("o5", "c", "2025-03-01", 20),
    ]
    store.executemany(
        "INSERT INTO orders (order_id, message_id, customer_id, timestamp, revenue) "
        "VALUES (?, ?, ?, ?::TIMESTAMPTZ, ?)",
        [(o, o, c, t, r) for o, c, t, r in rows],
    )
    create_kpi(
        store, key="rev", name="Revenue", measure="revenue", target=110, period="quarter", objective="Grow"
    )
    progress = kpi_progress(store, "rev")
    assert [(r["period"], r["value"], r["met"]) for r in progress["rows"]] == [
        ("2024-Q1", 100.0, False),
        ("2024-Q2", 50.0, False),
        ("2025-Q1", 120.0, True),
    ]
    latest = progress["latest"]
    assert latest["change_yoy"] == 20.0 and latest["change_previous"] is None  # 2024-Q4 had no orders
    assert latest["progress"] == pytest.approx(120 / 110)
    create_kpi(store, key="repeat", name="Repeat", measure="repeat_rate", target=0.5, period="year")
    repeat = kpi_progress(store, "repeat")["rows"]
    assert [(r["period"], r["value"]) for r in repeat] == [
        ("2024", 0.0),
        ("2025", pytest.approx(2 / 3)),
    ]  # 2025: a and b had bought before, c had not
    # a value of 0 is 0 % of the way to the target, not unknown
    assert [r["progress"] for r in repeat] == [0.0, pytest.approx((2 / 3) / 0.5)]
    create_kpi(store, key="nps", name="NPS", measure="nps", target=30, period="month")
    scores = kpi_progress(store, "nps", scores=lambda metric, period: [{"period": "2025-03", "score": 35.0}])
    assert scores["latest"]["met"] and scores["latest"]["period"] == "2025-03"
    with pytest.raises(InvalidInputError, match="voc score source"):
        kpi_progress(store, "nps")
    with pytest.raises(InvalidInputError, match="unknown measure"):
        create_kpi(store, key="x", name="x", measure="happiness", target=1)


@pytest.mark.slow
def test_cli_program(settings, tmp_path, capsys):
    pilot = tmp_path / "pilot.json"
    pilot.write_text(json.dumps(PILOT))
    data = ["--data-dir", str(settings.data_dir)]
    assert (
        run(
            [
                "program",
                "kpis",
                "create",
                "orders",
                "--name",
                "Orders",
                "--measure",
                "orders",
                "--target",
                "10",
                *data,
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert (
        run(
            [
                "program",
                "initiatives",
                "create",
                "--title",
                "Delivery SMS",
                "--objective",
                "calmer customers",
                "--pilot",
                str(pilot),
                "--kpi",
                "orders",
                "--json",
                *data,
            ]
        )
        == 0
    )
    iid = json.loads(capsys.readouterr().out)["initiative_id"]
    assert run(["program", "initiatives", "search", "calmer", "--json", *data]) == 0
    assert json.loads(capsys.readouterr().out)[0]["initiative_id"] == iid
    assert run(["program", "kpis", "progress", "orders", "--json", *data]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == []
    assert (
        run(["program", "initiatives", "decide", iid, "--decision", "scale", "--rationale", "x", *data]) == 4
    )
    assert run(["program", "initiatives", "advance", iid, *data]) == 5  # not scaling yet: a conflict


def test_cli_program_input_mistakes_are_named(settings, tmp_path, capsys):
    """A stage that is not a number, and a pilot file that does not parse, are input errors that
    say so — not an "unexpected error" crash, nor a complaint about a "journey config"."""
    pilot = tmp_path / "pilot.json"
    pilot.write_text(json.dumps(PILOT))
    data = ["--data-dir", str(settings.data_dir)]
    create = ["program", "initiatives", "create", "--title", "SMS", "--objective", "calm", *data]
    assert run([*create, "--pilot", str(pilot), "--stages", "0.1,half,1"]) == 2
    err = capsys.readouterr().err
    assert "rollout stage 'half' is not a number" in err and "unexpected" not in err
    broken = tmp_path / "pilot.toml"
    broken.write_text("key = \n")
    assert run([*create, "--pilot", str(broken)]) == 2
    err = " ".join(capsys.readouterr().err.split())  # the console wraps long lines
    assert f"pilot definition {broken}: not valid toml" in err and "journey" not in err
    assert run(["experiments", "create", "--definition", str(broken), *data]) == 2
    assert f"experiment definition {broken}: not valid toml" in " ".join(capsys.readouterr().err.split())
    assert run(["program", "initiatives", "list", "--status", "foo", *data]) == 2
    assert "unknown status 'foo'; use piloting, iterating, scaling, scaled, stopped" in " ".join(
        capsys.readouterr().err.split())
