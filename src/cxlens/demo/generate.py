"""Simulates the synthetic retailer, vectorized with numpy, and writes it as import-ready Parquet.

Customers are simulated in fixed-size chunks, each with its own generator seeded by
``(seed, chunk)``: memory stays bounded at a million customers and a seed always gives the same
data. Per customer: a latent segment, λ, p and mean order value (see ``business``); purchases are
a Poisson process at rate λ from the first purchase, each followed by dropout with probability p
(BG/NBD), cut at the end of the window; order values are Gamma around the customer's mean
(Gamma-Gamma) and filled with catalogue products near that price.

Output, one Parquet file per import kind (the importer's own formats, so the demo uses the same
path users use) plus ground truth: ``products``, ``customers`` (one identify row per device),
``events`` (browsing, e-mail, support), ``orders`` (one row per line item), ``feedback``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cxlens.demo import business as biz

CHUNK_CUSTOMERS = 50_000
KINDS = ("products", "customers", "events", "orders", "feedback")
TRUTH = ("customers", "comments")
_US_PER_DAY = 86_400 * 1_000_000
_START_US = int(biz.START.timestamp() * 1_000_000)
_TS = pa.timestamp("us", tz="UTC")
_SEG = {name: np.array([getattr(s, name) for s in biz.SEGMENTS], dtype=float)
        for name in ("share", "rate_shape", "rate_scale", "dropout_a", "dropout_b", "spend_mean",
                     "spend_shape", "late_rate", "mood", "devices", "price_focus")}
_CHANNEL_CUM = np.cumsum([s.channels for s in biz.SEGMENTS], axis=1)
_ONLINE = np.array([c in ("web", "app", "social") for c in biz.ORDER_CHANNELS])


@dataclass
class DemoFiles:
    """Where the generated files are, and how many rows each holds."""

    directory: Path
    files: dict[str, Path] = field(default_factory=dict)
    truth: dict[str, Path] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)


def _ts(days: np.ndarray) -> pa.Array:
    return pa.array(_START_US + (days * _US_PER_DAY).astype(np.int64), type=_TS)


def _ids(prefix: str, *parts: np.ndarray | pa.Array, sep: str = "-") -> pa.Array:
    """``prefix<part1>-<part2>...`` as an Arrow string array, without a Python loop."""
    cols = [pc.cast(pa.array(p), pa.string()) for p in parts]
    joined = cols[0] if len(cols) == 1 else pc.binary_join_element_wise(*cols, sep)
    return pc.binary_join_element_wise(prefix, joined, "")


def _pick(rng: np.random.Generator, cumulative: np.ndarray) -> np.ndarray:
    """One index per row of a cumulative-probability matrix."""
    u = rng.random(len(cumulative))
    return np.minimum((u[:, None] > cumulative).sum(axis=1), cumulative.shape[1] - 1)


def _within(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Position of each element inside its group (groups laid out contiguously)."""
    total = int(counts.sum())
    return np.arange(total) - np.repeat(starts, counts)


def _month(days: np.ndarray) -> np.ndarray:
    base = np.datetime64(biz.START.date())
    return (base + days.astype("timedelta64[D]")).astype("datetime64[M]").astype(str)


def _json_object(**members: pa.Array) -> pa.Array:
    """``{"k": "v", ...}`` strings from string arrays (values JSON-safe by construction)."""
    parts: list[pa.Array | str] = []
    for i, (key, values) in enumerate(members.items()):
        parts += [("{" if i == 0 else ",") + f'"{key}":"', values, '"']
    parts.append("}")
    return pc.binary_join_element_wise(*parts, "")


class ChunkSimulator:
    """One chunk of customers: draws their latent state, then everything they do."""

    def __init__(self, rng: np.random.Generator, first: int, n: int, cat: dict[str, np.ndarray],
                 tag: str) -> None:
        self.rng, self.first, self.n, self.cat, self.tag = rng, first, n, cat, tag
        self.events: list[dict[str, pa.Array]] = []
        self._customers()
        self._orders()

    # -- the people ----------------------------------------------------------------------------------
    def _customers(self) -> None:
        rng, n = self.rng, self.n
        self.seg = _pick(rng, np.tile(np.cumsum(_SEG["share"]), (n, 1)))
        s = {k: v[self.seg] for k, v in _SEG.items()}
        self.lam = rng.gamma(s["rate_shape"], 1.0 / s["rate_scale"])
        self.p = rng.beta(s["dropout_a"], s["dropout_b"])
        self.aov = rng.gamma(s["spend_shape"], s["spend_mean"] / s["spend_shape"])
        self.birth = rng.uniform(0, biz.DAYS * 0.85, n)
        self.user_id = _ids("u", np.arange(self.first, self.first + n))
        self.consent = {k: rng.random(n) < v for k, v in biz.CONSENT.items()}
        self.n_dev = 1 + np.minimum(rng.poisson(s["devices"]), 2)
        later = self.birth[:, None] + rng.uniform(0, 1, (n, 2)) * (biz.DAYS - self.birth)[:, None]
        self.dev_time = np.column_stack([self.birth - 0.01, later])
        self.dev_time[np.arange(3)[None, :] >= self.n_dev[:, None]] = np.inf
        self.dev_time[:, 1:] = np.sort(self.dev_time[:, 1:], axis=1)

    # -- purchases (BG/NBD) and what follows them ---------------------------------------------------
    def _orders(self) -> None:
        rng = self.rng
        k = rng.geometric(self.p)  # purchases until dropout, if time allowed
        horizon = biz.DAYS - self.birth
        cap = np.ceil(self.lam * horizon + 4 * np.sqrt(self.lam * horizon) + 3).astype(np.int64)
        draws = np.minimum(k, cap)
        owner = np.repeat(np.arange(self.n), draws)
        starts = np.cumsum(draws) - draws
        gaps = rng.exponential(1.0, int(draws.sum())) / self.lam[owner]
        gaps[starts] = 0.0
        csum = np.cumsum(gaps)
        t = self.birth[owner] + csum - np.repeat(csum[starts], draws)
        keep = t < biz.DAYS
        self.n_orders = np.bincount(owner[keep], minlength=self.n)
        self.alive = self.n_orders < k
        self.last_order = np.full(self.n, -np.inf)
        np.maximum.at(self.last_order, owner[keep], t[keep])
        self.o_owner, self.o_time = owner[keep], t[keep]
        self.o_seq = _within(np.cumsum(self.n_orders) - self.n_orders, self.n_orders)
        m = len(self.o_owner)
        self.o_channel = _pick(rng, _CHANNEL_CUM[self.seg[self.o_owner]])
        self.o_online = _ONLINE[self.o_channel]
        avail = (self.dev_time[self.o_owner] <= self.o_time[:, None]).sum(axis=1).clip(min=1)
        self.o_device = np.floor(rng.random(m) * avail).astype(np.int64)
        self.o_id = _ids(f"o{self.tag}-", self.user_id.take(pa.array(self.o_owner)), self.o_seq)
        self.o_anon = pc.if_else(pa.array(self.o_online), self._anon(self.o_owner, self.o_device), None)
        self.o_campaign = (self.o_online & self.consent["marketing"][self.o_owner]
                           & (rng.random(m) < biz.CAMPAIGN_SHARE))
        self.o_late = self.o_online & (rng.random(m) < _SEG["late_rate"][self.seg[self.o_owner]])

    def _anon(self, owners: np.ndarray, devices: np.ndarray) -> pa.Array:
        return _ids("a", np.arange(self.first, self.first + self.n)[owners], devices)

    def order_items(self) -> pa.Table:
        rng, m = self.rng, len(self.o_owner)
        n_items = 1 + np.minimum(rng.poisson(0.7, m), 4)
        value = rng.gamma(4.0, self.aov[self.o_owner] / 4.0)
        item_order = np.repeat(np.arange(m), n_items)
        weights = rng.gamma(1.0, 1.0, len(item_order))
        sums = np.add.reduceat(weights, np.cumsum(n_items) - n_items)
        target = value[item_order] * weights / sums[item_order]
        prices = self.cat["price"]
        idx = np.clip(np.searchsorted(prices, target), 1, len(prices) - 1)
        idx -= (target - prices[idx - 1]) < (prices[idx] - target)
        owner = self.o_owner[item_order]
        campaign = pa.array(self.o_campaign[item_order])
        month = pa.array(_month(self.o_time[item_order]))
        take = pa.array(item_order)
        return pa.table({
            "order_id": self.o_id.take(take), "user_id": self.user_id.take(pa.array(owner)),
            "anonymous_id": self.o_anon.take(take), "timestamp": _ts(self.o_time[item_order]),
            "channel": pa.array(np.array(biz.ORDER_CHANNELS)[self.o_channel[item_order]]),
            "currency": pa.array(np.full(len(item_order), biz.CURRENCY)),
            "product_id": pa.array(self.cat["product_id"][idx]),
            "product_name": pa.array(self.cat["name"][idx]),
            "category": pa.array(self.cat["category"][idx]), "price": pa.array(prices[idx]),
            "quantity": pa.array(np.ones(len(item_order), dtype=np.int32)),
            "utm_source": pc.if_else(campaign, "newsletter", None),
            "utm_medium": pc.if_else(campaign, "email", None),
            "utm_campaign": pc.if_else(campaign, pc.binary_join_element_wise("newsletter-", month, ""), None),
        })

    def identifies(self) -> pa.Table:
        """One identify per device (linking it to the person), when the device first shows up."""
        rng = self.rng
        cust, dev = np.nonzero(np.isfinite(self.dev_time) & (self.dev_time < biz.DAYS))
        first = np.array(biz.FIRST_NAMES)[rng.integers(0, len(biz.FIRST_NAMES), self.n)]
        last = np.array(biz.LAST_NAMES)[rng.integers(0, len(biz.LAST_NAMES), self.n)]
        city = np.array(biz.CITIES)[rng.integers(0, len(biz.CITIES), self.n)]
        number = np.arange(self.first, self.first + self.n)
        email = _ids("", pc.utf8_lower(pa.array(first)), pc.replace_substring(
            pc.utf8_lower(pa.array(last)), " ", ""), number, sep=".")
        email = pc.binary_join_element_wise(email, "@demo-mail.test", "")
        phone = _ids("+4930", pa.array(np.char.zfill((number % 10_000_000).astype(str), 7)))
        take = pa.array(cust)
        return pa.table({
            "user_id": self.user_id.take(take), "anonymous_id": self._anon(cust, dev),
            "timestamp": _ts(np.maximum(self.dev_time[cust, dev], 0.0)),
            "email": email.take(take), "phone": phone.take(take),
            "first_name": pa.array(first[cust]), "last_name": pa.array(last[cust]),
            "city": pa.array(city[cust]),
            **{f"consent_{k}": pa.array(v[cust]) for k, v in self.consent.items()},
            "channel": pa.array(np.where(dev == 0, "web", "app")),
        })

    # -- events file: browsing, e-mail, support --------------------------------------------------------
    def _add(self, kind: str, name: str | pa.Array, days: np.ndarray, channel: str | np.ndarray,
             user: pa.Array | None, anon: pa.Array | None, properties: pa.Array,
             campaign: pa.Array | None = None) -> None:
        size = len(days)
        if size == 0:
            return
        none = pa.nulls(size, pa.string())
        self.events.append({
            "type": pa.array(np.full(size, kind)) if isinstance(kind, str) else kind,
            "event": pa.array(np.full(size, name)) if isinstance(name, str) else name,
            "userId": none if user is None else user, "anonymousId": none if anon is None else anon,
            "timestamp": _ts(days),
            "channel": pa.array(np.full(size, channel) if isinstance(channel, str) else channel),
            "properties": properties,
            "utm_source": none if campaign is None else pc.if_else(pc.is_valid(campaign), "newsletter", None),
            "utm_medium": none if campaign is None else pc.if_else(pc.is_valid(campaign), "email", None),
            "utm_campaign": none if campaign is None else campaign,
        })

    def browsing(self, items: pa.Table) -> None:
        rng = self.rng
        online = np.flatnonzero(self.o_online)
        views = 1 + rng.poisson(2.0, len(online))
        order = np.repeat(online, views)
        days = self.o_time[order] - rng.uniform(1, 40, len(order)) / 1440
        app = np.array(biz.ORDER_CHANNELS)[self.o_channel[order]] == "app"
        paths = pa.array(np.array(biz.PAGES)[rng.integers(0, len(biz.PAGES), len(order))])
        anon = self.o_anon.take(pa.array(order))
        self._add(pa.array(np.where(app, "screen", "page")), paths, days,
                  np.where(app, "app", "web"), None, anon, _json_object(path=paths))
        first_item = np.cumsum(np.bincount(
            pc.index_in(items["order_id"], self.o_id).to_numpy(), minlength=len(self.o_owner))) - 1
        product = items["product_id"].take(pa.array(first_item[online]))
        self._add("track", "Product Viewed", self.o_time[online] - 0.5 / 1440,
                  np.where(app[np.cumsum(views) - 1], "app", "web"), None,
                  self.o_anon.take(pa.array(online)), _json_object(product_id=product))
        visitors = int(self.n * biz.ANONYMOUS_VISITORS)
        per = 1 + rng.poisson(1.5, visitors)
        who = np.repeat(np.arange(visitors), per)
        paths = pa.array(np.array(biz.PAGES)[rng.integers(0, len(biz.PAGES), len(who))])
        self._add("page", paths, rng.uniform(0, biz.DAYS, len(who)), "web", None,
                  _ids(f"v{self.tag}-", who), _json_object(path=paths))

    def email_and_support(self) -> None:
        rng = self.rng
        clicked = np.flatnonzero(self.o_campaign)
        month = pa.array(_month(self.o_time[clicked]))
        campaign = pc.binary_join_element_wise("newsletter-", month, "")
        self._add("track", "Email Clicked", self.o_time[clicked] - rng.uniform(5, 60, len(clicked)) / 1440,
                  "email", self.user_id.take(pa.array(self.o_owner[clicked])), None,
                  _json_object(campaign=campaign), campaign)
        marketing = np.flatnonzero(self.consent["marketing"])
        months = np.arange(0, biz.DAYS, 30.4)
        end = np.where(self.alive | (self.n_orders == 0), biz.DAYS, self.last_order)
        opened = ((rng.random((len(marketing), len(months))) < biz.NEWSLETTER_OPEN_RATE)
                  & (months[None, :] >= self.birth[marketing, None])
                  & (months[None, :] <= end[marketing, None]))
        who, which = np.nonzero(opened)
        days = np.minimum(months[which] + rng.uniform(0, 5, len(which)), biz.DAYS - 0.001)
        campaign = pc.binary_join_element_wise("newsletter-", pa.array(_month(months[which])), "")
        self._add("track", "Email Opened", days, "email",
                  self.user_id.take(pa.array(marketing[who])), None, _json_object(campaign=campaign),
                  campaign)
        calls = np.flatnonzero(self.o_late & (rng.random(len(self.o_late)) < 0.4))
        days = self.o_time[calls] + rng.uniform(3, 6, len(calls))
        calls, days = calls[days < biz.DAYS], days[days < biz.DAYS]
        self._add("track", "Support Ticket Created", days, "call_center",
                  self.user_id.take(pa.array(self.o_owner[calls])), None,
                  _json_object(topic=pa.array(np.full(len(calls), "late_delivery")),
                               order_id=self.o_id.take(pa.array(calls))))

    def events_table(self) -> pa.Table:
        table = pa.concat_tables(pa.table(e) for e in self.events)
        ids = _ids(f"demo{self.tag}-", np.arange(table.num_rows))
        return table.add_column(0, "messageId", ids)

    # -- surveys with comments whose tone follows the experience ---------------------------------------
    def feedback(self) -> tuple[pa.Table, pa.Table]:
        rng = self.rng
        asked = np.flatnonzero(rng.random(len(self.o_owner)) < biz.SURVEY_RATE)
        days = self.o_time[asked] + rng.uniform(1, 5, len(asked))
        asked, days = asked[days < biz.DAYS], days[days < biz.DAYS]
        r, owner, late = len(asked), self.o_owner[asked], self.o_late[asked]
        experience = _SEG["mood"][self.seg[owner]] + rng.normal(0, 1, r) - 2.5 * late
        sentiment = np.digitize(experience, [-0.5, 0.7])  # 0 negative, 1 neutral, 2 positive
        focus = _SEG["price_focus"][self.seg[owner]]
        other = (1 - focus) / 4
        probs = np.column_stack([other, focus, other, other, other])
        store = ~self.o_online[asked]
        probs[store, 2] += probs[store, 4]
        probs[store, 4] = 0
        theme = _pick(rng, np.cumsum(probs, axis=1))
        theme[late & (rng.random(r) < 0.85)] = 0
        metric = _pick(rng, np.tile(np.cumsum([w for _, w in biz.METRICS]), (r, 1)))
        noise = rng.normal(0, 0.6, r)
        score = np.select([metric == 0, metric == 1],
                          [np.clip(np.round(7 + 2 * experience + noise), 0, 10),
                           np.clip(np.round(3.7 + 0.9 * experience + noise), 1, 5)],
                          np.clip(np.round(5 + 1.2 * experience + noise), 1, 7))
        comment = self._comments(theme, sentiment)
        has_comment = rng.random(r) < biz.COMMENT_RATE
        response_id = _ids(f"r{self.tag}-", np.arange(r))
        themes, sentiments = np.array(biz.THEMES)[theme], np.array(biz.SENTIMENTS)[sentiment]
        table = pa.table({
            "response_id": response_id, "user_id": self.user_id.take(pa.array(owner)),
            "timestamp": _ts(days), "survey_id": pa.array(np.array([m for m, _ in biz.METRICS])[metric]),
            "metric": pa.array(np.array([m for m, _ in biz.METRICS])[metric]), "score": pa.array(score),
            "comment": pc.if_else(pa.array(has_comment), comment, None),
            "touchpoint": pa.array(np.array([biz.TOUCHPOINTS[t] for t in biz.THEMES])[theme]),
            "order_id": self.o_id.take(pa.array(asked)),
            "channel": pa.array(np.array(biz.ORDER_CHANNELS)[self.o_channel[asked]]),
        })
        truth = pa.table({"response_id": response_id, "user_id": table["user_id"],
                          "theme": pa.array(themes), "sentiment": pa.array(sentiments),
                          "has_comment": pa.array(has_comment), "late_delivery": pa.array(late),
                          "experience": pa.array(experience), "metric": table["metric"],
                          "score": table["score"]})
        return table, truth

    def _comments(self, theme: np.ndarray, sentiment: np.ndarray) -> pa.Array:
        texts: list[str] = []
        offsets, counts = np.zeros((5, 3), int), np.zeros((5, 3), int)
        for i, t in enumerate(biz.THEMES):
            for j, s in enumerate(biz.SENTIMENTS):
                offsets[i, j], counts[i, j] = len(texts), len(biz.COMMENTS[t][s])
                texts.extend(biz.COMMENTS[t][s])
        pick = offsets[theme, sentiment] + np.floor(self.rng.random(len(theme)) * counts[theme, sentiment])
        body = pa.array(np.array(texts)[pick.astype(int)])
        parts = []
        for table in (biz.OPENERS, biz.CLOSERS):
            flat = [(j, text) for j, s in enumerate(biz.SENTIMENTS) for text in table[s]]
            starts = np.array([next(i for i, (j, _) in enumerate(flat) if j == k) for k in range(3)])
            sizes = np.array([len(table[s]) for s in biz.SENTIMENTS])
            chosen = starts[sentiment] + np.floor(self.rng.random(len(theme)) * sizes[sentiment]).astype(int)
            parts.append(pa.array(np.array([t for _, t in flat])[chosen]))
        text = pc.binary_join_element_wise(parts[0], body, parts[1], "")
        head = pc.utf8_upper(pc.utf8_slice_codeunits(text, 0, 1))
        return pc.binary_join_element_wise(head, pc.utf8_slice_codeunits(text, 1), "")

    def truth_customers(self) -> pa.Table:
        names = np.array([s.name for s in biz.SEGMENTS])
        return pa.table({
            "user_id": self.user_id, "segment": pa.array(names[self.seg]), "lam": self.lam, "p": self.p,
            "expected_order_value": self.aov, "first_purchase": _ts(self.birth), "orders": self.n_orders,
            "alive_at_end": self.alive, "devices": self.n_dev,
            **{f"consent_{k}": v for k, v in self.consent.items()},
        })


def _products_table(cat: dict[str, np.ndarray]) -> pa.Table:
    return pa.table({"product_id": cat["product_id"], "name": cat["name"], "category": cat["category"],
                     "price": cat["price"], "currency": np.full(len(cat["price"]), biz.CURRENCY)})


def generate(directory: Path, customers: int, seed: int) -> DemoFiles:
    """Write the demo files for ``customers`` people under ``directory``; same seed, same bytes."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ground_truth").mkdir(exist_ok=True)
    out = DemoFiles(directory=directory)
    out.files = {k: directory / f"{k}.parquet" for k in KINDS}
    out.truth = {k: directory / "ground_truth" / f"{k}.parquet" for k in TRUTH}
    cat = biz.catalogue(np.random.default_rng([seed, 0]))
    products = _products_table(cat)
    pq.write_table(products, out.files["products"])
    out.rows["products"] = products.num_rows
    writers: dict[str, pq.ParquetWriter] = {}
    try:
        for chunk, first in enumerate(range(0, customers, CHUNK_CUSTOMERS)):
            n = min(CHUNK_CUSTOMERS, customers - first)
            sim = ChunkSimulator(np.random.default_rng([seed, chunk + 1]), first, n, cat, tag=str(chunk))
            items = sim.order_items()
            sim.browsing(items)
            sim.email_and_support()
            feedback, comments = sim.feedback()
            tables = {"customers": sim.identifies(), "events": sim.events_table(), "orders": items,
                      "feedback": feedback, "truth:customers": sim.truth_customers(),
                      "truth:comments": comments}
            for key, table in tables.items():
                path = out.truth[key[6:]] if key.startswith("truth:") else out.files[key]
                if key not in writers:
                    writers[key] = pq.ParquetWriter(path, table.schema)
                writers[key].write_table(table)
                out.rows[key] = out.rows.get(key, 0) + table.num_rows
    finally:
        for writer in writers.values():
            writer.close()
    return out
