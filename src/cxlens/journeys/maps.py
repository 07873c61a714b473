"""Journey maps and stage flows from the store's events.

A **journey map** answers, per stage of the stage model: how many customers reached it (reach), how
many of them went on to the next stage (conversion, drop-off), how long they took (median time in
stage, first entry to first entry of the next stage), and which touchpoints served the stage (events,
reach, owner, and — when the caller passes them — experience scores). Journey length (events and
distinct touchpoints per customer, days to first purchase) and quality indicators (purchase, repeat
and service-contact rates) summarise the whole.

**Flows** are each customer's sequence of stage changes (consecutive events in the same stage
collapse into one step), cut at ``max_steps``: the top paths, and the links between step *i* and
step *i + 1* that a Sankey diagram draws.

Everything is aggregated in the store (one scan for stage entries, one for touchpoints, one for
flows); only per-stage and per-touchpoint numbers reach Python.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cxlens.errors import InvalidInputError
from cxlens.journeys.population import Population
from cxlens.journeys.stages import sql_literal
from cxlens.journeys.touchpoints import JourneyConfig
from cxlens.store import Store

END = "(end)"


def _events_sql(store: Store, config: JourneyConfig, population: Population) -> tuple[str, list[Any]]:
    """Journey events: customer, time, stage, touchpoint (only events some stage rule matches)."""
    where, params = population.where(store)
    return (
        f"""SELECT customer_id AS cid, timestamp AS ts, {config.model.case_sql()} AS stage,
                    {config.catalogue.case_sql()} AS touchpoint, event
                FROM events WHERE {where}""",
        params,
    )


def stage_entries_sql(store: Store, config: JourneyConfig, population: Population) -> tuple[str, list[Any]]:
    """Per customer and stage: first entry and events; a repeat purchase also enters the repeat stage."""
    events, params = _events_sql(store, config, population)
    model = config.model
    repeat = ""
    if model.repeat_purchase_stage:
        repeat = f"""UNION ALL
            SELECT cid, {sql_literal(model.repeat_purchase_stage)} AS stage, min(ts) AS first_at,
                   count(*) AS n
            FROM (SELECT cid, ts, min(ts) OVER (PARTITION BY cid) AS f FROM ev
                  WHERE event = {sql_literal(model.purchase_event)})
            WHERE ts > f GROUP BY cid"""
    sql = f"""WITH ev AS ({events}),
        j AS (SELECT * FROM ev WHERE stage IS NOT NULL)
        SELECT cid, stage, min(first_at) AS first_at, sum(n) AS n FROM (
            SELECT cid, stage, min(ts) AS first_at, count(*) AS n FROM j GROUP BY ALL {repeat})
        GROUP BY ALL"""
    return sql, params


def _stage_rows(store: Store, config: JourneyConfig, population: Population) -> tuple[list[dict], int]:
    entries, params = stage_entries_sql(store, config, population)
    stages = list(config.model.stages)
    order = "CASE stage " + " ".join(f"WHEN {sql_literal(s)} THEN {i}" for i, s in enumerate(stages)) + " END"
    rows = store.records(
        f"""
        WITH e AS ({entries}), o AS (SELECT *, {order} AS i FROM e),
        nxt AS (SELECT a.stage, a.cid, epoch(b.first_at) - epoch(a.first_at) AS secs
                FROM o a JOIN o b ON a.cid = b.cid AND b.i = a.i + 1 AND b.first_at >= a.first_at)
        SELECT o.stage, count(*) AS reach, sum(o.n) AS events,
               (SELECT count(*) FROM nxt WHERE nxt.stage = o.stage) AS converted,
               (SELECT median(secs) FROM nxt WHERE nxt.stage = o.stage) / 86400.0 AS median_days
        FROM o GROUP BY o.stage""",
        params,
    )
    population_size = int(store.scalar(f"SELECT count(DISTINCT cid) FROM ({entries})", params) or 0)
    by_stage = {r["stage"]: r for r in rows}
    out = []
    for i, stage in enumerate(stages):
        r = by_stage.get(stage, {})
        reach = int(r.get("reach") or 0)
        last = i == len(stages) - 1
        converted = None if last else int(r.get("converted") or 0)
        conversion = None if converted is None or not reach else converted / reach
        out.append(
            {
                "stage": stage,
                "reach": reach,
                "reach_share": reach / population_size if population_size else 0.0,
                "events": int(r.get("events") or 0),
                "converted_to_next": converted,
                "conversion": conversion,
                "drop_off": None if conversion is None else 1 - conversion,
                "median_days_in_stage": None if last else r.get("median_days"),
            }
        )
    return out, population_size


def _touchpoint_rows(
    store: Store, config: JourneyConfig, population: Population, experience: Mapping[str, Mapping[str, Any]]
) -> list[dict]:
    events, params = _events_sql(store, config, population)
    rows = store.records(
        f"""SELECT touchpoint, mode(stage) AS stage, count(*) AS events,
                                    count(DISTINCT cid) AS reach
                             FROM ({events}) WHERE stage IS NOT NULL GROUP BY touchpoint
                             ORDER BY events DESC""",
        params,
    )
    for row in rows:
        entry = config.catalogue.get(row["touchpoint"])
        row["owner"] = entry.owner if entry else "unknown"
        if entry and entry.stage:
            row["stage"] = entry.stage
        row["experience"] = dict(experience.get(row["touchpoint"], {}))
    seen = {r["touchpoint"] for r in rows}
    for name, scores in experience.items():  # touchpoints only feedback mentions (delivery ...)
        if name not in seen:
            entry = config.catalogue.get(name)
            rows.append(
                {
                    "touchpoint": name,
                    "stage": entry.stage if entry else None,
                    "events": 0,
                    "reach": 0,
                    "owner": entry.owner if entry else "unknown",
                    "experience": dict(scores),
                }
            )
    return rows


def _length_and_quality(
    store: Store, config: JourneyConfig, population: Population, stages: list[dict], size: int
) -> tuple[dict, dict]:
    events, params = _events_sql(store, config, population)
    model = config.model
    length = store.records(
        f"""
        WITH per AS (SELECT cid, count(*) AS n, count(DISTINCT touchpoint) AS tps, min(ts) AS first_ts,
                            min(ts) FILTER (WHERE event = {sql_literal(model.purchase_event)}) AS bought
                     FROM ({events}) WHERE stage IS NOT NULL GROUP BY cid)
        SELECT median(n) AS median_events, quantile_cont(n, 0.9) AS p90_events,
               median(tps) AS median_touchpoints,
               median(epoch(bought) - epoch(first_ts)) / 86400.0 AS median_days_to_purchase FROM per""",
        params,
    )[0]
    reach = {s["stage"]: s["reach"] for s in stages}
    purchasers = reach.get("purchase", 0)
    quality: dict[str, Any] = {"purchase_rate": purchasers / size if size else None}
    if "purchase" in reach and purchasers:
        for stage, name in (
            (model.repeat_purchase_stage, "repeat_or_loyal_rate"),
            ("service", "service_rate"),
        ):
            if stage is not None and stage in reach:
                quality[name] = (
                    store.scalar(
                        f"""
                    WITH e AS ({stage_entries_sql(store, config, population)[0]})
                    SELECT count(*) FROM e a JOIN e b ON a.cid = b.cid
                    WHERE a.stage = 'purchase' AND b.stage = {sql_literal(stage)}
                      AND b.first_at >= a.first_at""",
                        params,
                    )
                    / purchasers
                )
    return length, quality


def journey_map(
    store: Store,
    config: JourneyConfig | None = None,
    population: Population | None = None,
    experience: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Reach, conversion, time and drop-off per stage; touchpoints; journey length and quality.

    ``experience`` maps a touchpoint name to its scores (for example ``{"delivery": {"csat": 71.2}}``,
    from the voc room's score reports); they are shown beside the touchpoint.
    """
    config = config or JourneyConfig()
    population = population or Population()
    stages, size = _stage_rows(store, config, population)
    length, quality = _length_and_quality(store, config, population, stages, size) if size else ({}, {})
    return {
        "segment": population.segment or "all",
        "customers": size,
        "stages": stages,
        "touchpoints": _touchpoint_rows(store, config, population, experience or {}),
        "length": length,
        "quality": quality,
    }


def stage_flows(
    store: Store,
    config: JourneyConfig | None = None,
    population: Population | None = None,
    *,
    max_steps: int = 5,
    top: int = 10,
) -> dict[str, Any]:
    """Top stage paths and the step-to-step links of a Sankey diagram (``(end)`` where paths stop)."""
    if not 2 <= max_steps <= 20:
        raise InvalidInputError(f"max_steps must be between 2 and 20, got {max_steps}", field="max_steps")
    if top < 1:
        raise InvalidInputError(f"top must be at least 1, got {top}", field="top")
    config = config or JourneyConfig()
    population = population or Population()
    events, params = _events_sql(store, config, population)
    paths = store.records(
        f"""
        WITH j AS (SELECT cid, ts, stage, lag(stage) OVER (PARTITION BY cid ORDER BY ts) AS prev
                   FROM ({events}) WHERE stage IS NOT NULL),
        steps AS (SELECT cid, stage, row_number() OVER (PARTITION BY cid ORDER BY ts) AS k
                  FROM j WHERE prev IS NULL OR prev <> stage),
        per AS (SELECT cid, string_agg(stage, '>' ORDER BY k) AS path FROM steps WHERE k <= ? GROUP BY cid)
        SELECT path, count(*) AS customers FROM per GROUP BY path ORDER BY customers DESC, path""",
        [*params, max_steps],
    )
    total = sum(p["customers"] for p in paths)
    links: dict[tuple[int, str, str], int] = {}
    for p in paths:
        steps = p["path"].split(">")
        for i, source in enumerate(steps):
            target = steps[i + 1] if i + 1 < len(steps) else END
            if target == END and i + 1 >= max_steps:
                continue  # cut at max_steps: the path did not end here
            key = (i + 1, source, target)
            links[key] = links.get(key, 0) + p["customers"]
    return {
        "segment": population.segment or "all",
        "customers": total,
        "max_steps": max_steps,
        "paths": [{**p, "share": p["customers"] / total} for p in paths[:top]],
        "links": [
            {"step": k[0], "source": k[1], "target": k[2], "customers": v}
            for k, v in sorted(links.items(), key=lambda kv: (kv[0][0], -kv[1]))
        ],
    }
