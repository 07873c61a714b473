"""What each feature means, in words a person reads: for docs, reports and per-customer reasons."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FeatureInfo:
    """``label`` completes "... is high/low"; ``unit`` formats a value for a sentence."""

    label: str
    unit: str = ""
    group: str = "engagement"

    def show(self, value: float) -> str:
        """A value as a person would say it: ``45 days``, ``3 orders``, ``62%``."""
        if value != value:  # NaN
            return "none"
        if self.unit == "%":
            return f"{100 * value:.0f}%"
        number = f"{value:,.0f}" if abs(value) >= 10 or float(value).is_integer() else f"{value:,.2f}"
        return f"{number} {self.unit}".strip()


CATALOG: dict[str, FeatureInfo] = {
    "recency_days": FeatureInfo("time since the last purchase", "days", "rfm"),
    "frequency": FeatureInfo("number of orders", "orders", "rfm"),
    "monetary": FeatureInfo("total spend", "", "rfm"),
    "avg_order_value": FeatureInfo("average order value", "", "rfm"),
    "purchase_days": FeatureInfo("days with a purchase", "days", "rfm"),
    "first_purchase_days": FeatureInfo("time since the first purchase", "days", "rfm"),
    "tenure_days": FeatureInfo("time since first seen", "days", "tenure"),
    "ipt_mean_days": FeatureInfo("average time between orders", "days", "rhythm"),
    "ipt_std_days": FeatureInfo("irregularity of time between orders", "days", "rhythm"),
    "orders_per_month": FeatureInfo("orders per month since the first purchase", "orders", "rhythm"),
    "recency_over_interval": FeatureInfo("time since the last order, in usual gaps between orders", "gaps",
                                         "rhythm"),
    "orders_30d": FeatureInfo("orders in the last 30 days", "orders", "rfm"),
    "orders_90d": FeatureInfo("orders in the last 90 days", "orders", "rfm"),
    "revenue_90d": FeatureInfo("spend in the last 90 days", "", "rfm"),
    "events": FeatureInfo("interactions recorded", "events"),
    "events_30d": FeatureInfo("interactions in the last 30 days", "events"),
    "events_90d": FeatureInfo("interactions in the last 90 days", "events"),
    "sessions": FeatureInfo("visits (sessions of activity 30 minutes apart)", "sessions"),
    "active_days": FeatureInfo("days with any activity", "days"),
    "page_views": FeatureInfo("web pages viewed", "pages"),
    "screen_views": FeatureInfo("app screens viewed", "screens"),
    "days_since_last_event": FeatureInfo("time since the last interaction", "days"),
    "email_opens": FeatureInfo("e-mails opened", "opens", "email"),
    "email_clicks": FeatureInfo("e-mail links clicked", "clicks", "email"),
    "email_click_rate": FeatureInfo("e-mail link clicks per e-mail opened", "", "email"),
    "support_tickets": FeatureInfo("support tickets opened", "tickets", "service"),
    "feedback_responses": FeatureInfo("survey answers and reviews given", "answers", "feedback"),
    "latest_nps": FeatureInfo("latest likelihood-to-recommend score (0-10)", "", "feedback"),
    "latest_csat": FeatureInfo("latest satisfaction score", "", "feedback"),
    "mean_sentiment": FeatureInfo("average sentiment of comments (-1 to 1)", "", "feedback"),
    "consent_analytics": FeatureInfo("consent to analytics (1 yes, 0 no)", "", "consent"),
    "consent_personalization": FeatureInfo("consent to personalization (1 yes, 0 no)", "", "consent"),
    "consent_marketing": FeatureInfo("consent to marketing (1 yes, 0 no)", "", "consent"),
}


def describe(name: str) -> FeatureInfo:
    """The catalogue entry of ``name``, including the per-category and per-channel share columns."""
    if name in CATALOG:
        return CATALOG[name]
    for prefix, what, group in (("category_share_", "share of spend on", "category"),
                                ("channel_share_", "share of interactions in channel", "channel")):
        if name.startswith(prefix):
            return FeatureInfo(f"{what} {name.removeprefix(prefix).replace('_', ' ')}", "%", group)
    return FeatureInfo(name.replace("_", " "), "", "model")
