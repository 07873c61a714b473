"""The whole demo: build the business, plant an experiment, switch on a closed loop, learn.

``build_demo`` only loads data; a person trying cxlens wants to see it understood too, so the
showcase also installs example follow-up rules (detractors, unhappy CSAT, late deliveries) and
runs :func:`cxlens.learn.run_learning` — CLV, churn, timing, segments, recommendations,
sentiment and the closed loop — so every console page has something to show.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from cxlens import jsonutil
from cxlens.config import Settings
from cxlens.demo.experiment import PlantedExperiment, plant_experiment
from cxlens.demo.run import DemoProgress, DemoResult, build_demo, summarize
from cxlens.learn import StageResult, run_learning
from cxlens.store import Store
from cxlens.voc.loop import save_rules
from cxlens.voc.loop_rules import parse_rules


@dataclass
class Showcase:
    demo: DemoResult
    experiment: PlantedExperiment
    learning: list[StageResult]


def demo_loop_rules() -> list:
    raw = resources.files("cxlens.demo").joinpath("loop_rules.json").read_bytes()
    return parse_rules(jsonutil.loads(raw))


def run_showcase(settings: Settings, *, customers: int = 1_000, seed: int = 7,
                 on_progress: DemoProgress | None = None) -> Showcase:
    report = on_progress or (lambda step, done: None)
    demo = build_demo(settings, customers=customers, seed=seed, on_progress=on_progress)
    with Store(settings.store_path) as store:
        save_rules(store, demo_loop_rules())
        experiment = plant_experiment(store, settings, seed)
        demo.summary = summarize(store)  # the experiment's conversions are events too
        stages = run_learning(store, settings, on_stage=lambda name: report(f"learn: {name}", 0.5))
    report("learn", 1.0)
    return Showcase(demo=demo, experiment=experiment, learning=stages)
