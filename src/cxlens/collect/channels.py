"""Which channel a message came through, in cxlens' vocabulary.

Order of evidence: an explicit ``channel`` (top level, then ``context.channel``), then the sending
library (``context.library.name``), then device hints (``context.os``/``context.device`` → app,
``context.page``/``context.userAgent`` → web); with no evidence, ``server``. An explicit value that
is neither a channel nor a known synonym becomes ``other`` so the column stays a closed vocabulary
(the raw value is still in ``context``). The table is documented in ``docs/collect.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

CHANNELS = ("web", "app", "email", "store", "call_center", "social", "iot", "server", "other")

_SYNONYMS = {
    "web": "web", "website": "web", "browser": "web", "client": "web",
    "app": "app", "mobile": "app", "ios": "app", "android": "app", "mobile_app": "app",
    "email": "email", "mail": "email", "e-mail": "email",
    "store": "store", "pos": "store", "retail": "store", "in_store": "store", "in-store": "store",
    "call_center": "call_center", "call-center": "call_center", "callcenter": "call_center",
    "phone": "call_center", "contact_center": "call_center", "support": "call_center",
    "social": "social",
    "iot": "iot", "device": "iot",
    "server": "server", "backend": "server", "api": "server",
    "other": "other",
}

# Segment and RudderStack library names (context.library.name) by where they run.
_LIBRARY_PREFIXES = (
    ("analytics.js", "web"), ("analytics-next", "web"), ("@segment/analytics-next", "web"),
    ("rudderlabs.javascript", "web"), ("rudder-sdk-js", "web"), ("rudderstack-javascript", "web"),
    ("analytics-ios", "app"), ("analytics-android", "app"), ("analytics-swift", "app"),
    ("analytics-kotlin", "app"), ("analytics-react-native", "app"), ("analytics-flutter", "app"),
    ("@segment/analytics-react-native", "app"), ("com.rudderstack.android", "app"),
    ("rudder-ios", "app"), ("rudder-sdk-react-native", "app"), ("rudder-sdk-flutter", "app"),
)


def channel_of(msg: Mapping[str, Any], context: Mapping[str, Any]) -> str:
    """The message's channel; see the module docstring for the order of evidence."""
    explicit = msg.get("channel") or context.get("channel")
    if isinstance(explicit, str) and explicit:
        return _SYNONYMS.get(explicit.strip().lower().replace(" ", "_"), "other")
    library = context.get("library")
    if isinstance(library, dict):
        name = library.get("name")
        if isinstance(name, str) and (channel := _library_channel(name)) is not None:
            return channel
    if context.get("os") or context.get("device") or context.get("app"):
        return "app"
    if context.get("page") or context.get("userAgent"):
        return "web"
    return "server"


@lru_cache(maxsize=1024)
def _library_channel(name: str) -> str | None:
    """The channel a library name implies, if any. Cached: a server sees a handful of SDK names,
    and matching every message against the whole prefix table was the costliest step of
    ``channel_of`` (ADR 0005)."""
    lowered = name.lower()
    for prefix, channel in _LIBRARY_PREFIXES:
        if lowered.startswith(prefix):
            return channel
    return None
