"""Eligibility, business rules and diversity: the steps between candidate scores and a shown list."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxlens import jsonutil
from cxlens.errors import InvalidInputError
from cxlens.recommend.data import Catalogue
from cxlens.store import Store

ACTIONS = ("boost", "bury", "pin", "exclude")


@dataclass(frozen=True)
class BusinessRule:
    rule_id: str
    action: str
    target_kind: str
    target: str
    strength: float
    placements: tuple[str, ...] | None
    mask: np.ndarray  # per catalogue item: does the rule target it
    targets: np.ndarray  # the targeted items' indices

    def applies(self, placement: str) -> bool:
        return self.placements is None or placement in self.placements


@dataclass(frozen=True)
class Offer:
    offer_id: str
    name: str
    message: str
    value: float
    placements: tuple[str, ...] | None
    category: str | None

    def eligible(self, placement: str, bought_categories: set[str]) -> bool:
        if self.placements is not None and placement not in self.placements:
            return False
        return self.category is None or self.category in bought_categories


def _placements(raw: object) -> tuple[str, ...] | None:
    value = jsonutil.loads(raw) if isinstance(raw, str | bytes) else raw
    return tuple(str(v) for v in value) if isinstance(value, list) else None


def load_rules(store: Store, catalogue: Catalogue) -> list[BusinessRule]:
    rules = []
    for rule_id, action, kind, target, strength, placements in store.fetchall(
            "SELECT rule_id, action, target_kind, target, strength, placements FROM decide_rules "
            "WHERE active ORDER BY rule_id"):
        if action not in ACTIONS or kind not in ("item", "category"):
            raise InvalidInputError(f"decide rule {rule_id!r}: action must be one of {ACTIONS} and "
                                    "target_kind "
                                    "item or category", field="decide_rules", rule_id=rule_id)
        values = catalogue.item_ids if kind == "item" else catalogue.categories
        mask = np.asarray(values == target, bool)
        rules.append(BusinessRule(rule_id, action, kind, target, float(strength), _placements(placements),
                                  mask=mask, targets=np.flatnonzero(mask)))
    return rules


def load_offers(store: Store) -> list[Offer]:
    return [Offer(o, n, m, float(v), _placements(p), c) for o, n, m, v, p, c in store.fetchall(
        "SELECT offer_id, name, message, value, placements, category FROM decide_offers WHERE active "
        "ORDER BY offer_id")]


def out_of_stock(catalogue: Catalogue) -> np.ndarray:
    """Items whose attributes say they cannot be sold now (``in_stock: false`` or ``stock <= 0``)."""
    flags = np.zeros(catalogue.n_items, bool)
    for i, attributes in enumerate(catalogue.attributes):
        stock = attributes.get("stock")
        flags[i] = attributes.get("in_stock") is False or (isinstance(stock, int | float) and stock <= 0)
    return flags


def apply_rules(items: np.ndarray, scores: np.ndarray, rules: list[BusinessRule], placement: str,
                fired: list[str]) -> list[tuple[int, int]]:
    """Boost, bury and exclude in place on the candidates' scores (O(candidates) per rule, whatever
    the catalogue's size); returns pins as (position, item). A rule fires when it applies here and
    targets anything in the catalogue."""
    finite = scores[np.isfinite(scores)]
    spread = float(finite.std()) if len(finite) > 1 and finite.std() > 0 else 1.0
    pins: list[tuple[int, int]] = []
    for rule in rules:
        if not rule.applies(placement) or not len(rule.targets):
            continue
        hit = rule.mask[items]
        if rule.action == "exclude":
            scores[hit] = -np.inf
        elif rule.action == "boost":
            scores[hit] += rule.strength * spread
        elif rule.action == "bury":
            scores[hit] -= rule.strength * spread
        else:
            pins.extend((max(int(rule.strength), 1), int(i)) for i in rule.targets)
        fired.append(f"{rule.action}:{rule.rule_id}")
    return pins


def rank(items: np.ndarray, scores: np.ndarray, k: int, categories: np.ndarray, max_per_category: int | None,
         pins: list[tuple[int, int]], fired: list[str]) -> list[int]:
    """The best ``k`` eligible candidates, at most ``max_per_category`` of a category, pins at their
    place. ``items`` must contain every pinned item (with a finite score unless it is excluded)."""
    finite = dict(zip(items.tolist(), np.isfinite(scores).tolist(), strict=True))
    pinned = [i for _, i in sorted(pins) if finite.get(i, False)]
    by_score = np.argsort(-scores, kind="stable")
    chosen: list[int] = []
    per_category: dict[str, int] = {}
    capped = False
    for item, ok in zip(items[by_score].tolist(), np.isfinite(scores[by_score]).tolist(), strict=True):
        if len(chosen) >= k:
            break
        if not ok or item in pinned:
            continue
        category = str(categories[item])
        if max_per_category is not None and category and per_category.get(category, 0) >= max_per_category:
            capped = True
            continue
        per_category[category] = per_category.get(category, 0) + 1
        chosen.append(item)
    if capped:
        fired.append(f"diversity:max_{max_per_category}_per_category")
    for position, item in sorted((p, i) for p, i in pins if i in pinned):
        chosen.insert(min(position - 1, len(chosen)), item)
    return chosen[:k]
