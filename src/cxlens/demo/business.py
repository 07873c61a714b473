"""The synthetic retailer's fixed world: its segments, catalogue, campaigns and how people talk.

Everything random is drawn in ``cxlens.demo.generate`` from these parameters, so the ground truth
is explicit and documented (``docs/demo.md``): each latent segment has its own purchase rate
λ ~ Gamma(r, α) per day, dropout probability p ~ Beta(a, b) after each purchase (the BG/NBD story,
Fader, Hardie & Lee 2005) and mean order value ~ Gamma (the Gamma-Gamma spend model).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

# A fixed window keeps a seed's data identical on every run and every day.
END = datetime(2025, 6, 30, tzinfo=UTC)
DAYS = 730
START = END - timedelta(days=DAYS)


@dataclass(frozen=True)
class Segment:
    name: str
    share: float
    rate_shape: float          # λ ~ Gamma(rate_shape, scale=1/rate_scale), purchases per day
    rate_scale: float
    dropout_a: float           # p ~ Beta(dropout_a, dropout_b)
    dropout_b: float
    spend_mean: float          # mean order value ~ Gamma(spend_shape, spend_mean/spend_shape)
    spend_shape: float
    late_rate: float           # share of shipped orders that arrive late
    mood: float                # baseline experience (+ happier)
    channels: tuple[float, ...]  # order channel weights, in ORDER_CHANNELS order
    devices: float             # mean extra devices beyond the first
    price_focus: float         # how often price is the theme of their comments


ORDER_CHANNELS = ("web", "app", "store", "call_center", "social")
SEGMENTS = (
    Segment("loyal_premium", 0.15, 4.0, 80.0, 1.0, 30.0, 150.0, 6.0, 0.05, 1.0,
            (0.35, 0.40, 0.20, 0.03, 0.02), 1.2, 0.05),
    Segment("bargain_hunter", 0.30, 3.0, 120.0, 2.0, 20.0, 35.0, 4.0, 0.08, 0.0,
            (0.55, 0.25, 0.10, 0.02, 0.08), 0.6, 0.45),
    Segment("occasional", 0.40, 2.0, 240.0, 2.0, 10.0, 70.0, 3.0, 0.08, 0.3,
            (0.45, 0.15, 0.33, 0.05, 0.02), 0.3, 0.15),
    Segment("at_risk", 0.15, 2.0, 120.0, 5.0, 8.0, 60.0, 3.0, 0.25, -1.0,
            (0.50, 0.25, 0.10, 0.12, 0.03), 0.5, 0.20),
)

CATEGORIES = {  # name: (lowest price, highest price, nouns)
    "apparel": (12, 160, ("T-shirt", "Hoodie", "Jacket", "Jeans", "Sneakers")),
    "home": (8, 400, ("Mug", "Lamp", "Rug", "Vase", "Armchair")),
    "kitchen": (6, 300, ("Pan", "Knife", "Kettle", "Blender", "Cutting board")),
    "beauty": (5, 90, ("Serum", "Lipstick", "Shampoo", "Face mask", "Perfume")),
    "electronics": (15, 900, ("Headphones", "Speaker", "Charger", "Smartwatch", "Tablet")),
    "grocery": (2, 40, ("Coffee", "Tea", "Olive oil", "Chocolate", "Granola")),
    "sports": (10, 500, ("Yoga mat", "Dumbbell", "Bike light", "Tent", "Running shoes")),
    "toys": (5, 120, ("Puzzle", "Robot kit", "Board game", "Plush bear", "Kite")),
}
ADJECTIVES = ("Classic", "Eco", "Premium", "Everyday", "Deluxe")
CURRENCY = "EUR"

PAGES = ("/", "/category", "/product", "/cart", "/checkout", "/search", "/account")
CITIES = ("Berlin", "Paris", "Madrid", "Rome", "Amsterdam", "Vienna", "Lisbon", "Dublin")
FIRST_NAMES = ("Ana", "Ben", "Chloe", "David", "Ella", "Felix", "Grace", "Hugo", "Ines", "Jonas",
               "Kira", "Liam", "Mia", "Noah", "Olga", "Paul", "Rosa", "Sam", "Tara", "Umar")
LAST_NAMES = ("Meyer", "Dubois", "Garcia", "Rossi", "de Vries", "Novak", "Silva", "Murphy",
              "Berg", "Costa", "Keller", "Laurent")

CONSENT = {"analytics": 0.95, "personalization": 0.60, "marketing": 0.40}  # P(granted)
SURVEY_RATE = 0.30           # share of orders followed by a survey
COMMENT_RATE = 0.75          # share of survey responses with a comment
METRICS = (("nps", 0.5), ("csat", 0.3), ("ces", 0.2))
CAMPAIGN_SHARE = 0.30        # share of online orders of marketing-consenting people from an e-mail
NEWSLETTER_OPEN_RATE = 0.15  # monthly open probability for marketing-consenting customers
ANONYMOUS_VISITORS = 0.5     # never-identified visitors per customer

THEMES = ("delivery", "price", "product_quality", "support", "app_usability")
SENTIMENTS = ("negative", "neutral", "positive")

# Varied wording per theme and sentiment; a random opener and closer vary it further.
COMMENTS: dict[str, dict[str, tuple[str, ...]]] = {
    "delivery": {
        "negative": ("the parcel arrived a week late", "delivery was late and nobody told me why",
                     "my order showed up days after the promised date",
                     "the courier lost my package for four days", "shipping took forever"),
        "neutral": ("delivery took about as long as announced", "the parcel came on the last promised day",
                    "shipping was okay, nothing special"),
        "positive": ("super fast delivery, arrived the next day", "the parcel came earlier than promised",
                     "quick shipping and careful packaging", "delivery was right on time"),
    },
    "price": {
        "negative": ("way too expensive for what you get", "prices went up again, not worth it",
                     "I found the same item much cheaper elsewhere", "shipping fees are outrageous"),
        "neutral": ("prices are about average", "fair price, nothing more",
                    "the discount was smaller than I hoped"),
        "positive": ("great value for money", "the sale prices were excellent",
                     "cheaper than anywhere else I looked", "loved the discount code"),
    },
    "product_quality": {
        "negative": ("the item broke after two days", "poor quality, the fabric tore at once",
                     "it looks nothing like the pictures", "cheap material, very disappointed"),
        "neutral": ("the product is fine, does the job", "quality is acceptable for the price",
                    "it is okay but not as sturdy as expected"),
        "positive": ("excellent quality, feels premium", "the product is beautiful and well made",
                     "works perfectly, exactly as described", "really happy with the build quality"),
    },
    "support": {
        "negative": ("customer service never answered my emails", "the hotline kept me waiting for an hour",
                     "support was rude and unhelpful", "nobody could solve my problem"),
        "neutral": ("support answered eventually", "the agent was polite but slow",
                    "my issue was handled, it took a while"),
        "positive": ("the support team was incredibly helpful", "the agent solved my issue in minutes",
                     "friendly and quick customer service", "great help from the call center"),
    },
    "app_usability": {
        "negative": ("the app keeps crashing at checkout", "the website is confusing and slow",
                     "I could not find the search filter anywhere", "checkout failed three times"),
        "neutral": ("the app works, could be faster", "the site is usable but cluttered",
                    "navigation is okay once you get used to it"),
        "positive": ("the app is smooth and easy to use", "checkout was quick and simple",
                     "love the new website design", "finding products is really easy"),
    },
}
OPENERS = {"negative": ("Honestly, ", "Sadly, ", "Not happy: ", "", ""),
           "neutral": ("", "Well, ", "Overall ", ""),
           "positive": ("Wow, ", "", "Really pleased: ", "")}
CLOSERS = {"negative": (".", "!", ". Very frustrating.", ". I expected better."),
           "neutral": (".", ". Fine.", ""),
           "positive": ("!", ".", ". Thank you!", ". Will buy again.")}
TOUCHPOINTS = {"delivery": "delivery", "price": "checkout", "product_quality": "product",
               "support": "support", "app_usability": "app"}


def catalogue(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Products sorted by price: ids, names, categories, list prices (log-uniform per category)."""
    ids, names, cats, prices = [], [], [], []
    for c, (name, (low, high, nouns)) in enumerate(CATEGORIES.items()):
        for a, adjective in enumerate(ADJECTIVES):
            for n, noun in enumerate(nouns):
                ids.append(f"SKU-{c:02d}{a}{n}")
                names.append(f"{adjective} {noun}")
                cats.append(name)
                prices.append(round(float(np.exp(rng.uniform(np.log(low), np.log(high)))), 2))
    order = np.argsort(prices, kind="stable")
    return {"product_id": np.array(ids)[order], "name": np.array(names)[order],
            "category": np.array(cats)[order], "price": np.array(prices)[order]}
