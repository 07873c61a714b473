"""Next best action: offer, content, service follow-up or nothing, by expected value.

``expected value = propensity × value − fatigue cost``. An open service issue (a recent detractor
score or support ticket) rules out promotions: the only contact worth making is a follow-up, valued
by what the person is worth and how likely they are to leave.
"""

from __future__ import annotations

from dataclasses import dataclass

from cxlens.decide.state import Facts


@dataclass(frozen=True)
class NBAConfig:
    """The economics of each action (currency units and rates); documented in docs/decide.md."""

    default_value: float = 50.0  # a person's value when no CLV is known
    content_conversion: float = 0.02  # chance recommendations lead to an order
    content_margin: float = 0.2  # share of a person's value one order is worth
    recovery_rate: float = 0.3  # share of at-risk value a follow-up saves
    default_churn_risk: float = 0.3
    contact_cost: float = 0.1  # cost of one outbound contact, before fatigue
    min_offer_propensity: float = 0.01


@dataclass(frozen=True)
class ActionValue:
    action: str
    propensity: float
    value: float
    fatigue_cost: float
    reason: str

    @property
    def expected_value(self) -> float:
        return self.propensity * self.value - self.fatigue_cost

    def to_dict(self) -> dict[str, object]:
        return {"action": self.action, "propensity": self.propensity, "value": self.value,
                "fatigue_cost": self.fatigue_cost, "reason": self.reason,
                "expected_value": round(self.expected_value, 4)}


def next_best_action(facts: Facts, offer_propensity: float | None, offer_value: float | None,
                     has_content: bool, outbound: bool, fatigue: float,
                     config: NBAConfig = NBAConfig()) -> list[ActionValue]:
    """Every action with its expected value, best first. ``fatigue`` is the share of the person's
    tightest cap already used (0–1); it raises the cost of contacting them again."""
    value = facts.clv if facts.clv is not None and facts.clv > 0 else config.default_value
    risk = facts.churn_risk if facts.churn_risk is not None else config.default_churn_risk
    cost = config.contact_cost * (1 + fatigue) if outbound else 0.0
    actions = [ActionValue("nothing", 0.0, 0.0, 0.0, "no action is worth more than leaving them be")]
    if facts.open_issue:
        actions.append(ActionValue("service_follow_up", risk, value * config.recovery_rate, cost,
                                   f"{facts.open_issue}: a follow-up, not a promotion"))
    else:
        if offer_propensity is not None and offer_value is not None:
            propensity = max(offer_propensity, config.min_offer_propensity)
            actions.append(ActionValue("offer", propensity, offer_value, cost,
                                       "the offer most likely to help now"))
        if has_content:
            actions.append(ActionValue("content", config.content_conversion,
                                       value * config.content_margin, cost,
                                       "recommendations matched to them"))
    return sorted(actions, key=lambda a: (-a.expected_value, a.action != "nothing"))
