"""cxlens.decide: real-time decisions — candidates, consent, eligibility, rules, diversity, next best
action, contact fatigue, bandits and the decision journal."""

from cxlens.decide.bandit import LinUCB
from cxlens.decide.engine import DecisionEngine
from cxlens.decide.request import PLACEMENTS, DecideRequest, FeedbackRequest
from cxlens.decide.service import decide_once, recommend_for

__all__ = ["PLACEMENTS", "DecideRequest", "DecisionEngine", "FeedbackRequest", "LinUCB", "decide_once",
           "recommend_for"]
