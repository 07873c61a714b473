"""Keyed hashes: stable customer ids and pseudonymous identifier references.

A customer id is an HMAC-SHA256 of the customer's anchor identifier under a per-installation
secret. It is deterministic (the same evidence always names the same customer, whatever the order
it arrived in) yet cannot be recomputed from an e-mail address by anyone without the secret. The
same keyed hash names identifiers in the merge log and in suppressions, so neither holds raw PII.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

log = logging.getLogger(__name__)

SECRET_FILE = "identity.key"


def installation_secret(data_dir: Path) -> bytes:
    """The installation's secret, created (mode 0600) on first use."""
    path = Path(data_dir) / SECRET_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32))
    log.info("created identity secret %s", path)
    return bytes.fromhex(path.read_text().strip())


class Hasher:
    """HMAC-SHA256 under the installation secret, one domain per use."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> Hasher:
        return cls(installation_secret(data_dir))

    def digest(self, domain: str, kind: str, value: str) -> str:
        message = f"{domain}\x1f{kind}\x1f{value}".encode()
        return hmac.digest(self._secret, message, hashlib.sha256).hex()

    def customer_id(self, kind: str, value: str) -> str:
        """The id of the customer whose anchor (strongest identifier) is (kind, value)."""
        return "cus_" + self.digest("customer", kind, value)[:24]

    def cluster_id(self, kind: str, value: str) -> str:
        return "cl_" + self.digest("cluster", kind, value)[:16]

    def identifier(self, kind: str, value: str) -> str:
        """A pseudonymous reference to one identifier (merge evidence, suppressions)."""
        return self.digest("identifier", kind, value)
