"""Each unit's first exposure, kept beside the raw exposures so an analysis never regroups them.

Grouping ten million exposure rows by a string unit id costs seconds on every analysis; the first
exposure of a unit never changes once recorded, so the recorders (``record_exposures`` and the
registry's ``assign``) fold each batch into ``experiment_units`` as they write it: new units are
inserted (an anti-join against the table), units seen again keep their earliest exposure and are
flagged ``is_multi_variant`` when the new rows carry another variant.

Exposures written around the recorders (a plain ``INSERT``/``DELETE`` on ``exposures``) are noticed by
:func:`ensure_units`: the stored ``n_exposures`` no longer add up to the key's exposure rows, and the
key is rebuilt from ``exposures``. Both counts come from a filtered scan of narrow columns, so the check
costs milliseconds. An edit that deletes and inserts the same number of rows goes unnoticed; write
exposures through the recorders.
"""

from __future__ import annotations

import logging

from cxlens.store import Store

log = logging.getLogger(__name__)

_PER_UNIT = """SELECT experiment_key, unit_id, arg_min(variant, exposed_at) AS variant,
           min(exposed_at) AS first_exposed_at, min(variant) <> max(variant) AS is_multi_variant,
           count(*) AS n_exposures
    FROM {source} {where} GROUP BY experiment_key, unit_id"""


def record_first_exposures(store: Store, relation: str) -> None:
    """Fold a batch of exposure rows (a table or view named ``relation``) into ``experiment_units``."""
    batch = _PER_UNIT.format(source=relation, where="")
    # No transaction of its own (callers may hold one): a half-folded batch leaves the counts unequal,
    # and ensure_units rebuilds the key.
    store.execute(f"""UPDATE experiment_units u SET
            first_exposed_at = least(u.first_exposed_at, b.first_exposed_at),
            variant = CASE WHEN b.first_exposed_at < u.first_exposed_at THEN b.variant ELSE u.variant END,
            is_multi_variant = u.is_multi_variant OR b.is_multi_variant OR b.variant <> u.variant,
            n_exposures = u.n_exposures + b.n_exposures
            FROM ({batch}) b
        WHERE u.experiment_key = b.experiment_key AND u.unit_id = b.unit_id""")
    store.execute(f"""INSERT INTO experiment_units
        SELECT b.* FROM ({batch}) b ANTI JOIN experiment_units u
            ON u.experiment_key = b.experiment_key AND u.unit_id = b.unit_id""")


def ensure_units(store: Store, experiment_key: str) -> None:
    """Rebuild the key's first exposures when ``exposures`` was changed around the recorders."""
    recorded = store.scalar("SELECT count(*) FROM exposures WHERE experiment_key = ?", [experiment_key])
    folded = store.scalar(
        "SELECT coalesce(sum(n_exposures), 0) FROM experiment_units WHERE experiment_key = ?",
        [experiment_key])
    if recorded == folded:
        return
    log.info("experiment %s: exposures changed outside the recorders (%d rows, %d folded); rebuilding "
             "its first exposures", experiment_key, recorded, folded)
    with store.transaction():  # readers never see the key half rebuilt
        store.execute("DELETE FROM experiment_units WHERE experiment_key = ?", [experiment_key])
        store.execute("INSERT INTO experiment_units "
                      + _PER_UNIT.format(source="exposures", where="WHERE experiment_key = ?"),
                      [experiment_key])
