"""The decision engine: one ranked, explained, logged answer per request, from memory.

Steps, in this order (each that changes the answer is recorded in the decision's ``rules``):

1. identity — any identifier (or an anonymous id) → customer id, from an in-memory map refreshed with
   the consent snapshot (``decide.identities``); unknown → treated as anonymous;
2. consent — no ``personalization`` consent → non-personalized candidates (popular, locally when the
   request names a location; no profile data shapes them or the offer); outbound channels also need
   ``marketing`` consent and a known person;
3. candidates — the hybrid recommender's best items (precomputed per person), plus what goes with the
   product page or cart;
4. eligibility — out of stock, already purchased (unless due for re-order), the context items;
5. business rules — exclude, boost, bury, pin;
6. diversity — at most ``max_per_category`` items of one category;
7. next best action — offer (LinUCB), content, service follow-up or nothing, by expected value;
8. contact fatigue — quiet hours in the person's local time and frequency caps (atomic reservation);
9. journal — the decision with model versions, rules fired and the bandit context.
"""

from __future__ import annotations

import gc
import logging
import secrets
import threading
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

import numpy as np

from cxlens import jsonutil
from cxlens.config import Settings
from cxlens.decide.bandit import LinUCB, context_features
from cxlens.decide.fatigue import FatigueLedger, local_time
from cxlens.decide.identities import IdentityMap
from cxlens.decide.journal import Journal
from cxlens.decide.nba import NBAConfig, next_best_action
from cxlens.decide.request import FEEDBACK_REWARD, PLACEMENTS, DecideRequest, FeedbackRequest
from cxlens.decide.rules import apply_rules, load_offers, load_rules, out_of_stock, rank
from cxlens.decide.state import CustomerState
from cxlens.errors import NotFoundError
from cxlens.recommend.content import Replenishment
from cxlens.recommend.service import Candidates, Recommend
from cxlens.store import Store

log = logging.getLogger(__name__)

CANDIDATES = 300  # at most what the serving index holds per person (``recommend.serving.CANDIDATES``)
CONTEXT_EXTRA = 50  # items that go with the page or cart, added to the person's candidates
CACHE_SIZE = 100_000
REORDER_DUE = (0.8, 2.0)  # due-ness at which an already-bought item is offered again


class _Scratch(threading.local):
    """Per-thread arrays over the catalogue for a decision's set operations on a few hundred items.

    Membership marks ``among`` in a boolean array, reads ``values``, and unmarks: three small
    fancy-index operations. ``np.isin(kind="table")``, used before, allocated and zeroed a table
    spanning the index range and ran its Python bookkeeping on every call (4–5 calls a decision) —
    the largest numpy cost per decision, and per-decision CPU is what decides how fast the event loop
    catches up after the machine takes the CPU away (ADR 0007, stalls addendum). Per thread because
    previews may run off the event loop.
    """

    def __init__(self, size: int) -> None:
        self.marks = np.zeros(size, bool)
        self.values = np.zeros(size)

    def member(self, values: np.ndarray, among: np.ndarray | list[int]) -> np.ndarray:
        """``np.isin(values, among)`` for item indices (all within the catalogue)."""
        wanted = np.asarray(among, dtype=np.int64)
        if not len(wanted) or not len(values):
            return np.zeros(len(values), bool)
        self.marks[wanted] = True
        try:
            return self.marks[values]
        finally:
            self.marks[wanted] = False

    def lookup(self, values: np.ndarray, keys: np.ndarray, found: np.ndarray) -> np.ndarray:
        """``found[keys == v]`` for each of ``values``, 0.0 where absent: a dict lookup per item,
        vectorised."""
        self.values[keys] = found
        try:
            return self.values[values]
        finally:
            self.values[keys] = 0.0


class DecisionEngine:
    """Holds models, snapshots, the fatigue ledger, the bandit and the journal of one server."""

    def __init__(self, store: Store, settings: Settings, recommend: Recommend, *,
                 max_per_category: int | None = 3, nba: NBAConfig = NBAConfig(),
                 refresh_seconds: float = 1.0, facts_every: int = 60) -> None:
        self.store = store
        self.settings = settings
        self.recommend = recommend
        self.max_per_category = max_per_category
        self.nba = nba
        self.refresh_seconds = refresh_seconds
        self.facts_every = facts_every
        catalogue = recommend.catalogue
        self.unavailable = out_of_stock(catalogue)
        self.rules = load_rules(store, catalogue)
        self.offers = {o.offer_id: o for o in load_offers(store)}
        self.bandit = LinUCB().load_state(store, list(self.offers)) if self.offers else None
        self.state = CustomerState(store, settings)
        self.state.refresh()
        self.identities = IdentityMap(store, settings)
        self.identities.refresh()
        self.ledger = FatigueLedger.from_store(store, datetime.now(UTC))
        self.journal = Journal(store)
        self._scratch = _Scratch(catalogue.n_items)
        self._cache_lock = threading.Lock()
        self._recent: OrderedDict[str, tuple[np.ndarray | None, str | None, set[str]]] = OrderedDict()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def open(cls, store: Store, settings: Settings, **options: Any) -> DecisionEngine:
        return cls(store, settings, Recommend.load(settings.data_dir), **options)

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        self.journal.start()
        self._thread = threading.Thread(target=self._refresh_loop, name="decide-refresh", daemon=True)
        self._thread.start()

    def _refresh_loop(self) -> None:
        ticks = 0
        while not self._stop.wait(self.refresh_seconds):
            ticks += 1
            try:
                reloaded = self.state.refresh(facts=ticks % self.facts_every == 0)
                if self.identities.refresh() or reloaded:
                    gc.freeze()  # new snapshots: out of the collector's way, like the first (service.py)
            except Exception:  # the store may be closing under us; keep serving the last snapshot
                log.warning("refreshing decision state failed", exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.journal.stop()
        if self.bandit is not None:
            self.bandit.save_state(self.store)

    # -- identity and candidates --------------------------------------------------------------------
    def _resolve(self, identifier: str | None) -> str | None:
        """From the in-memory identity map (``decide.identities``): no query on the event loop, and an
        erased person stops resolving within one refresh interval."""
        return self.identities.resolve(identifier) if identifier else None

    # -- the decision -------------------------------------------------------------------------------
    def decide(self, request: DecideRequest, now: datetime | None = None, *,
               preview: bool = False) -> dict[str, Any]:
        """Answer one request (see the module docstring for the order of steps).

        With ``preview`` the answer is the same but nothing happens: no contact is reserved against
        the frequency caps (a full cap still withholds it) and nothing is journaled, so the console
        can show what a person would see without changing what they will see.
        """
        now = now or datetime.now(UTC)
        ctx = request.context
        placement = PLACEMENTS[request.placement]
        fired: list[str] = []
        customer = self._resolve(request.identifier)
        if customer is None and request.anonymous_id:
            customer = self._resolve(f"anonymous_id:{request.anonymous_id}")
        if customer is None and (request.identifier or request.anonymous_id):
            fired.append("identity:unknown_person")
        facts = self.state.facts(customer)
        personalized = self.state.granted("personalization", customer, ctx.consent)
        if not personalized:
            fired.append("consent:non_personalized")
        decision_id = ("preview_" if preview else "dec_") + secrets.token_hex(12)
        base = {"decision_id": decision_id, "customer_id": customer, "placement": request.placement,
                "channel": placement.channel, "personalized": personalized}
        if preview:
            base["preview"] = True

        if placement.outbound:
            blocked = None
            if customer is None:
                blocked = "outbound:unknown_person"
            elif not self.state.granted("marketing", customer, ctx.consent):
                blocked = "consent:no_marketing"
            else:
                local = local_time(now, ctx.local_time, ctx.timezone or facts.timezone)
                quiet = self.ledger.quiet_now(placement.channel, local)
                if quiet is not None:
                    blocked = f"quiet_hours:{quiet.describe()}"
            if blocked:
                fired.append(blocked)
                return self._finish(base, "suppressed", [], fired, request, now, None, None, [])

        # Without personalization consent only the request itself may shape the answer: the stored
        # city trait is profile data, the request's location is context.
        segment = ctx.location or (facts.city if personalized else None)
        cands = self.recommend.candidates(customer, CANDIDATES, personalized=personalized, segment=segment)
        items, scores, reasons = self._score(cands, request, fired)
        chosen = self._rank(items, scores, request, fired)
        shown = self._items(chosen, reasons, cands)

        offer, x = self._offer(customer, cands, request, facts, now, fired, personalized)
        fatigue = self._fatigue_share(customer, placement.channel, now) if placement.outbound else 0.0
        actions = next_best_action(facts, offer[1] if offer else None,
                                   self.offers[offer[0]].value if offer else None,
                                   bool(shown), placement.outbound, fatigue, self.nba)
        best = actions[0]
        if best.action == "service_follow_up":
            fired.append("nba:open_issue_no_promotion")
            shown = [{"kind": "service", "item_id": "service_follow_up", "name": "We'd like to help",
                      "reason": facts.open_issue}] + ([] if placement.outbound else shown)
        elif best.action == "offer" and offer:
            o = self.offers[offer[0]]
            shown = [{"kind": "offer", "item_id": o.offer_id, "name": o.name, "message": o.message,
                      "reason": "picked for this moment from our current offers"}] + shown
        elif best.action == "nothing":
            shown = []

        contact = None
        if placement.outbound and shown and customer is not None:
            full = (self.ledger.full if preview else self.ledger.reserve)(customer, placement.channel, now)
            if full is not None:
                fired.append(f"frequency_cap:{full.describe()}")
                return self._finish(base, "suppressed", [], fired, request, now, x, None, actions)
            contact = {"customer_id": customer, "channel": placement.channel, "contacted_at": now,
                       "decision_id": decision_id}
        action = "recommend" if best.action == "content" else best.action
        return self._finish(base, action, shown, fired, request, now, x, contact, actions)

    def _score(self, cands: Candidates, request: DecideRequest,
               fired: list[str]) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
        """Candidate items and scores after context and eligibility; reasons set by this step.
        O(candidates): the lists are precomputed (``recommend.serving``)."""
        ctx = request.context
        items, scores = cands.items, cands.scores.copy()
        member = self._scratch.member
        reasons: dict[int, str] = {}
        context_ids = ([ctx.product_id] if ctx.product_id else []) + list(ctx.cart)
        context_items = [i for i in (self.recommend.item_index(p) for p in context_ids) if i is not None]
        if len(context_items) < len(context_ids):
            fired.append("context:unknown_product_ignored")
        goes = self.recommend.goes_with(context_items) if PLACEMENTS[request.placement].context_item else {}
        if goes:
            keys = np.fromiter(goes, np.int64, len(goes))
            strength = np.fromiter(goes.values(), float, len(goes))
            best = keys[np.argsort(-strength, kind="stable")[:CONTEXT_EXTRA]]  # ties keep dict order
            extra = best[~member(best, items)]
            items = np.concatenate([items, extra])
            scores = np.concatenate([scores, np.full(len(extra), scores.min() if len(scores) else 0.0)])
            spread = scores.std() or 1.0
            boost = self._scratch.lookup(items, keys, strength) / strength.max()
            scores = scores + 2 * spread * boost
            names = ", ".join(self.recommend.catalogue.name(i) for i in context_items[:2])
            for item in items[boost > 0.2].tolist():
                reasons[item] = f"often bought together with {names}"
            fired.append("context:bought_together")
        drop = self.unavailable[items]
        if drop.any():
            fired.append("eligibility:out_of_stock")
        drop |= member(items, context_items)
        bought = cands.seen[cands.weights >= 1]
        if len(bought):
            due = self._due(cands, reasons)
            already = member(items, bought) & ~member(items, due)
            if already.any():
                fired.append("eligibility:already_purchased")
            drop |= already
        return items[~drop], scores[~drop], reasons

    def _due(self, cands: Candidates, reasons: dict[int, str]) -> list[int]:
        replenish = self.recommend.bundle.models.get("replenishment")
        if replenish is None or cands.user < 0:
            return []
        assert isinstance(replenish, Replenishment), "'replenishment' is always a Replenishment model"
        due = []
        for item, gap, ratio in replenish.due(cands.user, now_days=datetime.now(UTC).timestamp() / 86_400):
            if REORDER_DUE[0] <= ratio <= REORDER_DUE[1]:
                due.append(item)
                reasons[item] = f"time to re-order: you buy {self.recommend.catalogue.name(item)} " \
                                f"about every {gap:.0f} days"
        return due

    def _rank(self, items: np.ndarray, scores: np.ndarray, request: DecideRequest,
              fired: list[str]) -> list[int]:
        pins = apply_rules(items, scores, self.rules, request.placement, fired)
        member = self._scratch.member
        pinned = np.array([i for _, i in pins if not self.unavailable[i]], np.int64)
        pins = [(p, i) for p, i in pins if not self.unavailable[i]]
        if len(pinned):  # a pin shows its item even when it was not a candidate
            missing = pinned[~member(pinned, items)]
            items = np.concatenate([items, missing])
            scores = np.concatenate([scores, np.zeros(len(missing))])
            scores[member(items, pinned) & ~np.isfinite(scores)] = 0.0
        categories = self.recommend.catalogue.categories
        return rank(items, scores, request.k, categories, self.max_per_category, pins, fired)

    def _items(self, chosen: list[int], reasons: dict[int, str], cands: Candidates) -> list[dict[str, Any]]:
        """The shown items with their reasons: formatted for these k items only."""
        rec, cat = self.recommend, self.recommend.catalogue
        position = {item: n for n, item in enumerate(cands.items.tolist())}
        out = []
        for item in chosen:
            at = position.get(item)
            reason = reasons.get(item) or (rec.reason(cands, at) if at is not None else "featured")
            out.append({"kind": "product", "item_id": str(cat.item_ids[item]), "name": cat.name(item),
                        "category": str(cat.categories[item]), "reason": reason})
        return out

    def _offer(self, customer: str | None, cands: Candidates, request: DecideRequest, facts: Any,
               now: datetime, fired: list[str], personalized: bool,
               ) -> tuple[tuple[str, float] | None, np.ndarray | None]:
        """The bandit's offer. Purchase history, churn risk and value (profile data) feed it only with
        personalization consent; otherwise it sees the request's context alone."""
        if self.bandit is None:
            return None, None
        seen = cands.seen if personalized else cands.seen[:0]
        bought_categories = {str(c) for c in self.recommend.catalogue.categories[seen].tolist()}
        eligible = [o for o, offer in self.offers.items()
                    if offer.eligible(request.placement, bought_categories)]
        if not eligible:
            return None, None
        local = local_time(now, request.context.local_time, request.context.timezone or facts.timezone)
        value = None if facts.clv is None or not personalized else min(facts.clv / 1_000.0, 1.0)
        risk = facts.churn_risk if personalized else None
        x = context_features(request.context.device, risk, value, local.hour >= 18,
                             PLACEMENTS[request.placement].outbound)
        arm, expected = self.bandit.choose(x, eligible)
        fired.append(f"bandit:linucb:{arm}")
        return (arm, expected), x

    def _fatigue_share(self, customer: str | None, channel: str, now: datetime) -> float:
        caps = self.ledger.caps.get(channel, [])
        if customer is None or not caps:
            return 0.0
        return max(self.ledger.count(customer, channel, c.window_seconds, now) / c.max_contacts for c in caps)

    def _finish(self, base: dict[str, Any], action: str, shown: list[dict[str, Any]], fired: list[str],
                request: DecideRequest, now: datetime, x: np.ndarray | None, contact: dict[str, Any] | None,
                actions: list[Any]) -> dict[str, Any]:
        models = {"recommend": self.recommend.bundle.version}
        if self.bandit is not None:
            models["bandit"] = "linucb"
        result = {**base, "action": action, "items": shown, "rules": fired, "models": models,
                  "actions": [a.to_dict() for a in actions], "decided_at": now}
        if base.get("preview"):
            return result
        context = request.context.model_dump(exclude={"consent"}, exclude_none=True, mode="json")
        context.pop("location", None)
        self.journal.record({**base, "decided_at": now, "action": action, "items": shown, "models": models,
                             "rules": fired, "context": context,
                             "features": None if x is None else x.tolist()}, contact)
        if x is not None:
            with self._cache_lock:
                self._recent[base["decision_id"]] = (x, base["customer_id"], set())
                while len(self._recent) > CACHE_SIZE:
                    self._recent.popitem(last=False)
        return result

    # -- feedback -----------------------------------------------------------------------------------
    def feedback(self, request: FeedbackRequest, now: datetime | None = None) -> dict[str, Any]:
        """Record an impression, click or conversion; an offer's outcome teaches the bandit."""
        now = now or datetime.now(UTC)
        with self._cache_lock:
            remembered = self._recent.get(request.decision_id)
        if remembered is None:
            self.journal.flush()
            row = self.store.fetchone("SELECT features, customer_id FROM decide_log WHERE decision_id = ?",
                                      [request.decision_id])
            if row is None:
                raise NotFoundError(f"no decision {request.decision_id!r}; use the decision_id /v1/decide "
                                    "returned", decision_id=request.decision_id)
            remembered = (None if row[0] is None else np.array(jsonutil.loads(row[0])), row[1], set())
            with self._cache_lock:
                self._recent[request.decision_id] = remembered
        x, _, seen = remembered
        reward = FEEDBACK_REWARD[request.event]
        learned = False
        if self.bandit is not None and request.item_id in self.offers and x is not None:
            with self._cache_lock:
                first = request.item_id not in seen
                seen.add(request.item_id)
            if first:  # the impression is the one observation; a click without one implies it
                self.bandit.update(request.item_id, x, 0.0)
            if reward:  # a click or conversion raises that observation's reward
                self.bandit.reward(request.item_id, x, reward)
            learned = True
        self.store.execute("INSERT INTO decide_feedback VALUES (?, ?, ?, ?, ?)",
                           [request.decision_id, request.item_id, request.event, now, reward])
        return {"decision_id": request.decision_id, "item_id": request.item_id, "event": request.event,
                "learned": learned}
