"""What a running server holds: settings, the store, the key ring, and the collector.

``start`` recovers the WAL (truncating a torn tail), starts its writer and the loader (which
replays from the store's checkpoint); ``stop`` writes what is pending, loads everything committed,
then closes the store — so a graceful stop leaves an empty WAL behind.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from cxlens.collect.collector import Collector
from cxlens.collect.loader import Loader
from cxlens.collect.wal import WalWriter
from cxlens.config import Settings
from cxlens.keys import KeyRing
from cxlens.privacy.gate import ConsentGate
from cxlens.store import Store


@dataclass
class Runtime:
    settings: Settings
    store: Store
    keyring: KeyRing
    writer: WalWriter | None = field(default=None)
    loader: Loader | None = field(default=None)
    collector: Collector | None = field(default=None)

    @classmethod
    def open(cls, settings: Settings) -> Runtime:
        store = Store(settings.store_path)
        return cls(settings=settings, store=store, keyring=KeyRing(store))

    async def start(self) -> None:
        """Start background work (the collector's WAL writer and loader)."""
        settings = self.settings
        gate = ConsentGate(self.store, settings)
        gate.refresh()
        writer = WalWriter(settings.wal_dir, settings.wal_segment_bytes, settings.wal_max_wait_ms)
        writer.start()
        self.writer = writer
        self.loader = Loader(self.store, settings, lambda: writer.committed, after_load=gate.refresh)
        self.loader.start()
        self.collector = Collector(settings, self.keyring, writer,
                                   screen=lambda records: gate.screen(records).kept)

    async def stop(self) -> None:
        if self.writer is not None:
            await asyncio.to_thread(self.writer.stop)
        if self.loader is not None:
            await asyncio.to_thread(self.loader.stop)
        self.store.close()
