-- profile read path: the single-column indexes a profile look-up (identity/lookup.py,
-- profiles/view.py) needs on other rooms' tables; this file sorts after 20_identity and 40_privacy.
-- DuckDB uses an ART index only for an equality on its one column (docs/adr/0003), so these, not
-- the tables' composite keys, make every read of a look-up an index point read. Same names and
-- definitions as in the owning rooms' files: while those declare them this is a no-op (no second
-- index to maintain on load); if a room drops one to speed up loading, the read path keeps it.
CREATE INDEX IF NOT EXISTS identities_value ON identities (value);
CREATE INDEX IF NOT EXISTS identities_customer ON identities (customer_id);
CREATE INDEX IF NOT EXISTS merges_from ON merges (from_customer_id);
CREATE INDEX IF NOT EXISTS merges_into ON merges (into_customer_id);
CREATE INDEX IF NOT EXISTS consent_events_customer ON consent_events (customer_id);
