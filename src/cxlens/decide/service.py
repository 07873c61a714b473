"""One-call entry points the faces use: a decision, a person's recommendations, the engine of a server."""

from __future__ import annotations

import gc
import threading
from typing import Any

from pydantic import ValidationError

from cxlens.config import Settings
from cxlens.decide.engine import DecisionEngine
from cxlens.decide.request import DecideRequest, FeedbackRequest
from cxlens.decide.state import CustomerState
from cxlens.errors import InvalidInputError, validation_problems
from cxlens.identity.lookup import find_customer
from cxlens.recommend.service import Recommend
from cxlens.store import Store


def parse(model: type[DecideRequest] | type[FeedbackRequest], payload: Any) -> Any:
    """Validate a payload into ``model``; every problem named in one ``InvalidInputError``."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        problems = validation_problems(exc.errors())
        raise InvalidInputError("; ".join(f"{p['field']}: {p['message']}" for p in problems),
                                problems=problems) from exc


def decide_once(store: Store, settings: Settings, payload: dict[str, Any]) -> dict[str, Any]:
    """One decision outside a server (the CLI): loads the models, decides, writes the journal."""
    engine = DecisionEngine.open(store, settings)
    try:
        return engine.decide(parse(DecideRequest, payload))
    finally:
        engine.stop()


def recommend_for(store: Store, settings: Settings, identifier: str, k: int = 10,
                  model: str = "hybrid") -> dict[str, Any]:
    """A person's recommendations with reasons — personalized only with their consent."""
    customer = find_customer(store, settings, identifier)
    state = CustomerState(store, settings)
    state.refresh(facts=False)
    personalized = state.granted("personalization", customer)
    recommend = Recommend.load(settings.data_dir)
    items = recommend.recommend(customer, k=k, model=model, personalized=personalized)
    return {"customer_id": customer, "personalized": personalized, "model_version": recommend.bundle.version,
            "items": [i.to_dict() for i in items]}


class EngineHolder:
    """Creates a server's engine on first use (models may be trained after the server started)."""

    def __init__(self) -> None:
        self._engine: DecisionEngine | None = None
        self._lock = threading.Lock()

    @staticmethod
    def of(state: Any) -> EngineHolder:
        """The holder kept on an app's ``state``: the API and the console share one engine, so one
        fatigue ledger and one bandit."""
        holder = getattr(state, "decide", None)
        if holder is None:
            holder = state.decide = EngineHolder()
        return holder

    def loaded(self) -> DecisionEngine | None:
        """The engine if it is loaded already (the hot path need not take the lock)."""
        return self._engine

    def get(self, store: Store, settings: Settings) -> DecisionEngine:
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    engine = DecisionEngine.open(store, settings)
                    engine.start()
                    # Millions of long-lived objects (identity map, snapshots, model dicts) would
                    # otherwise be traversed by every full collection: pauses of 100s of ms on the
                    # event loop. Frozen, the collector skips them (they stay alive with the engine).
                    gc.freeze()
                    self._engine = engine
        return self._engine

    def stop(self) -> None:
        if self._engine is not None:
            self._engine.stop()
            self._engine = None
