"""What a running server holds: settings, the store, the key ring, and the collector."""

from __future__ import annotations

from dataclasses import dataclass

from cxlens.config import Settings
from cxlens.keys import KeyRing
from cxlens.store import Store


@dataclass
class Runtime:
    settings: Settings
    store: Store
    keyring: KeyRing

    @classmethod
    def open(cls, settings: Settings) -> Runtime:
        store = Store(settings.store_path)
        return cls(settings=settings, store=store, keyring=KeyRing(store))

    async def start(self) -> None:
        """Start background work (the collector's WAL writer and loader)."""

    async def stop(self) -> None:
        self.store.close()
