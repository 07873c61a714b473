"""Anonymization: what is left of an event when its person refused analytics.

The event keeps what it says happened (type, name, time, channel, non-personal properties) and
loses everything that identifies someone: user and anonymous ids, traits, and the personal parts of
``context`` and ``properties``. One function serves both the request path (``ConsentGate``) and the
batch path (``unify``, which calls it only for the refused rows).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cxlens import jsonutil
from cxlens.identity.identifiers import as_mapping

# context keys that identify a person or a device outright
PERSONAL_CONTEXT = frozenset({"ip", "traits", "externalIds", "userAgent", "userAgentData", "location",
                              "consent", "groupId", "network"})
# device keys that identify the device
PERSONAL_DEVICE = frozenset({"id", "advertisingId", "token", "adTrackingEnabled"})
# property names that carry personal data (compared lower-case, without _ and -)
PERSONAL_PROPERTIES = frozenset({"email", "phone", "phonenumber", "mobile", "name", "firstname",
                                 "lastname", "address", "street", "ip", "userid", "anonymousid",
                                 "birthday", "dateofbirth", "ssn"})
_EMAIL_LIKE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _personal_property(name: str, value: Any) -> bool:
    key = name.lower().replace("_", "").replace("-", "")
    return key in PERSONAL_PROPERTIES or (isinstance(value, str) and bool(_EMAIL_LIKE.search(value)))


def anonymize_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``record`` with nothing personal left, marked ``anonymized``.

    JSON columns come back in the form they came in (dict or JSON string).
    """
    out = dict(record)
    for key in ("user_id", "anonymous_id", "previous_id", "id_kind", "id_value", "customer_id",
                "traits", "group_id"):
        out[key] = None
    context = {k: v for k, v in as_mapping(record.get("context")).items() if k not in PERSONAL_CONTEXT}
    if isinstance(context.get("device"), Mapping):
        context["device"] = {k: v for k, v in context["device"].items() if k not in PERSONAL_DEVICE}
    properties = {k: v for k, v in as_mapping(record.get("properties")).items()
                  if not _personal_property(k, v)}
    for key, value in (("context", context), ("properties", properties)):
        original = record.get(key)
        if original is not None:
            out[key] = jsonutil.dumps_str(value) if isinstance(original, str) else value
    out["anonymized"] = True
    return out
