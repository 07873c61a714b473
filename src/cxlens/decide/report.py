"""What personalization has done, read from the store: offers with their feedback, contacts per channel,
and decisions withheld by caps, quiet hours or consent.

The console's personalization page and its tests read these; they are plain queries over the decision
journal (``decide_log``, ``decide_contacts``, ``decide_feedback``), so they count what was really
decided and never previews (which are not journaled).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cxlens import jsonutil
from cxlens.recommend.models import MODELS_DIR
from cxlens.store import Store

# Why a decision was withheld: the prefix of the rule that suppressed it (``engine.decide``).
WITHHELD = {"frequency_cap": "frequency cap", "quiet_hours": "quiet hours",
            "consent": "no marketing consent", "outbound": "unknown person"}


def trained_version(data_dir: Path) -> str | None:
    """The version of the latest trained recommenders (``latest.json``), without loading the models."""
    pointer = Path(data_dir) / MODELS_DIR / "latest.json"
    if not pointer.is_file():
        return None
    return str(jsonutil.loads(pointer.read_bytes())["version"])


def offer_report(store: Store) -> list[dict[str, Any]]:
    """Per offer: decisions that showed it, impressions, clicks, conversions and the reward rate.

    As the bandit counts them (``engine.feedback``): each decision's first feedback on an offer is its
    impression (a click without an impression implies one), a click or a conversion adds a reward of
    1, so the estimated rate is rewards per impression.
    """
    return store.records("""
        WITH per_decision AS (
            SELECT decision_id, item_id,
                   count(*) FILTER (WHERE event = 'click') AS clicks,
                   count(*) FILTER (WHERE event = 'conversion') AS conversions
            FROM decide_feedback GROUP BY ALL),
        shown AS (
            SELECT json_extract_string(item, '$.item_id') AS offer_id, count(*) AS decisions
            FROM (SELECT unnest(CAST(items AS JSON[])) AS item FROM decide_log WHERE action = 'offer')
            WHERE json_extract_string(item, '$.kind') = 'offer' GROUP BY ALL)
        SELECT o.offer_id, o.name, o.active, coalesce(s.decisions, 0) AS decisions,
               count(p.decision_id) AS impressions,
               coalesce(sum(p.clicks), 0)::BIGINT AS clicks,
               coalesce(sum(p.conversions), 0)::BIGINT AS conversions,
               CASE WHEN count(p.decision_id) > 0
                    THEN (sum(p.clicks) + sum(p.conversions)) / count(p.decision_id) END AS rate
        FROM decide_offers o
        LEFT JOIN per_decision p ON p.item_id = o.offer_id
        LEFT JOIN shown s ON s.offer_id = o.offer_id
        GROUP BY o.offer_id, o.name, o.active, s.decisions
        ORDER BY o.offer_id""")


def fatigue_report(store: Store, now: datetime, days: int = 7) -> dict[str, Any]:
    """Contacts per channel (all time and the last ``days``) and withheld outbound decisions by reason."""
    since = now - timedelta(days=days)
    contacts = store.records("""
        SELECT channel, count(*) AS contacts, count(*) FILTER (WHERE contacted_at >= ?) AS recent,
               count(DISTINCT customer_id) AS people
        FROM decide_contacts GROUP BY channel ORDER BY channel""", [since])
    rows = store.fetchall("""
        SELECT channel, split_part(rule, ':', 1) AS why, count(*)
        FROM (SELECT channel, unnest(CAST(rules AS VARCHAR[])) AS rule FROM decide_log
              WHERE action = 'suppressed')
        WHERE split_part(rule, ':', 1) IN ('frequency_cap', 'quiet_hours', 'consent', 'outbound')
        GROUP BY ALL ORDER BY channel, why""")
    withheld = [{"channel": channel, "reason": WITHHELD[why], "decisions": n} for channel, why, n in rows]
    caps = store.records("SELECT channel, window_seconds, max_contacts FROM decide_caps "
                         "ORDER BY channel, window_seconds")
    quiet = store.records("SELECT channel, start_minute, end_minute FROM decide_quiet_hours ORDER BY channel")
    decisions = store.records("""
        SELECT channel, count(*) AS decisions, count(*) FILTER (WHERE action = 'suppressed') AS suppressed
        FROM decide_log GROUP BY channel ORDER BY channel""")
    return {"days": days, "contacts": contacts, "withheld": withheld, "caps": caps, "quiet_hours": quiet,
            "decisions": decisions}
