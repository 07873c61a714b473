"""The write-ahead log: a 2xx means the messages are on disk (fsync'd) before the answer leaves.

Layout: ``<wal_dir>/<segment:012d>.wal`` files, appended to and never rewritten. Each record is
framed as ``length (u32) | crc32 (u32) | kind (u8) | payload`` (little-endian; the CRC covers kind
and payload), so a record torn by a crash — short header, short payload, or wrong checksum — is
detected, and ``recover`` truncates the segment there. Every start opens a fresh segment; old
segments are only read (by the loader) and deleted once loaded.

Group commit: request handlers ``await append(...)``; one writer thread takes everything pending,
frames it (the CRC is computed there, off the event loop), writes it with one ``write``, calls
``os.fsync`` once, then completes every waiter's asyncio future through its loop's
``call_soon_threadsafe``. While the disk is busy with one fsync the next group
gathers, so the fsync cost is shared by all concurrent requests. An idle writer lingers up to
``max_wait_ms`` after a group's first record to gather more; a group that gathered during an
fsync has waited already and is written at once.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cxlens.collect.exceptions import WalUnavailableError

log = logging.getLogger(__name__)

HEADER = struct.Struct("<IIB")
KIND_EVENTS = 1  # a JSON array of records: written by earlier versions, still read on replay
KIND_REJECTED = 2  # a JSON array of rejected_events rows
KIND_EVENT_LINES = 3  # records as JSON lines (``records.to_json_lines``): one per request
_SUFFIX = ".wal"
_LINGER_BYTES = 1 << 20  # a group this large is written without waiting for more


@dataclass(frozen=True, order=True, slots=True)
class WalPosition:
    """A place in the log: just after the record ending at ``offset`` of ``segment``."""

    segment: int
    offset: int


@dataclass(frozen=True, slots=True)
class WalRecord:
    kind: int
    payload: bytes
    end: WalPosition  # the position right after this record


def frame(kind: int, payload: bytes) -> bytes:
    crc = zlib.crc32(payload, zlib.crc32(bytes((kind,))))
    return HEADER.pack(len(payload), crc, kind) + payload


def segment_path(wal_dir: Path, segment: int) -> Path:
    return wal_dir / f"{segment:012d}{_SUFFIX}"


def list_segments(wal_dir: Path) -> list[int]:
    if not wal_dir.is_dir():
        return []
    return sorted(int(p.stem) for p in wal_dir.glob(f"*{_SUFFIX}") if p.stem.isdigit())


def scan(path: Path, start: int = 0, end: int | None = None) -> Iterator[tuple[int, bytes, int]]:
    """``(kind, payload, end_offset)`` of each intact record from ``start``; stops at a torn one."""
    with path.open("rb") as f:
        f.seek(start)
        pos = start
        while end is None or pos + HEADER.size <= end:
            header = f.read(HEADER.size)
            if len(header) < HEADER.size:
                return
            length, crc, kind = HEADER.unpack(header)
            if end is not None and pos + HEADER.size + length > end:
                return
            payload = f.read(length)
            if len(payload) < length or zlib.crc32(payload, zlib.crc32(bytes((kind,)))) != crc:
                return
            pos += HEADER.size + length
            yield kind, payload, pos


def recover(wal_dir: Path) -> int:
    """Truncate torn tails of every segment; returns the number for the next new segment."""
    wal_dir.mkdir(parents=True, exist_ok=True)
    segments = list_segments(wal_dir)
    for segment in segments:
        path = segment_path(wal_dir, segment)
        good = 0
        for _, _, end in scan(path):
            good = end
        size = path.stat().st_size
        if good < size:
            log.warning("WAL segment %s: truncating %d bytes of a torn record at offset %d",
                        path.name, size - good, good)
            with path.open("r+b") as f:
                f.truncate(good)
                os.fsync(f.fileno())
    return (segments[-1] + 1) if segments else 1


def read_from(wal_dir: Path, start: WalPosition, committed: WalPosition) -> Iterator[WalRecord]:
    """Every record from ``start`` up to (not past) ``committed``, across segments, in order."""
    for segment in list_segments(wal_dir):
        if segment < start.segment or segment > committed.segment:
            continue
        offset = start.offset if segment == start.segment else 0
        end = committed.offset if segment == committed.segment else None
        path = segment_path(wal_dir, segment)
        for kind, payload, record_end in scan(path, offset, end):
            yield WalRecord(kind, payload, WalPosition(segment, record_end))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _complete(waiters: list[asyncio.Future], result: WalPosition | BaseException) -> None:
    for fut in waiters:
        if fut.done():
            continue
        if isinstance(result, BaseException):
            fut.set_exception(result)
        else:
            fut.set_result(result)


class WalWriter:
    """Appends framed records with group commit; see the module docstring."""

    def __init__(self, wal_dir: Path, segment_bytes: int, max_wait_ms: float) -> None:
        self._dir = wal_dir
        self._segment_bytes = segment_bytes
        self._linger = max_wait_ms / 1000.0
        self._cond = threading.Condition()
        self._pending: list[tuple[int, bytes, asyncio.Future, asyncio.AbstractEventLoop]] = []
        self._pending_bytes = 0
        self._first_at = 0.0  # time.monotonic() of the oldest pending record
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._file: io.FileIO | None = None
        self._segment = 0
        self._size = 0
        self.committed = WalPosition(0, 0)
        self.groups = 0  # fsyncs done: records per group = appends / groups

    def start(self) -> None:
        self._segment = recover(self._dir)
        self._open_segment()
        self._thread = threading.Thread(target=self._run, name="cxlens-wal-writer", daemon=True)
        self._thread.start()

    def _open_segment(self) -> None:
        path = segment_path(self._dir, self._segment)
        self._file = path.open("ab", buffering=0)
        self._size = path.stat().st_size
        _fsync_dir(self._dir)  # the new file's name must survive a crash too
        self.committed = WalPosition(self._segment, self._size)

    async def append(self, kind: int, payload: bytes) -> WalPosition:
        """Write one record durably; returns once it is fsync'd (with everyone else's)."""
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        with self._cond:
            if self._stopping:
                raise WalUnavailableError("the collector is shutting down; retry shortly")
            # Framed (CRC'd) by the writer thread, off the event loop.
            first = not self._pending
            if first:
                self._first_at = time.monotonic()
            self._pending.append((kind, payload, fut, loop))
            self._pending_bytes += len(payload)
            # Wake the writer only when it has something new to decide: the first record of a group
            # (it waits for one), or a group grown past the linger size. Otherwise its linger
            # timeout will come: waking it for every append handed the GIL to it and back each time.
            if first or self._pending_bytes >= _LINGER_BYTES:
                self._cond.notify()
        return await fut

    def _take_group(self) -> list[tuple[int, bytes, asyncio.Future, asyncio.AbstractEventLoop]] | None:
        with self._cond:
            while not self._pending and not self._stopping:
                self._cond.wait()
            if not self._pending:
                return None
            if self._linger and not self._stopping:
                # The linger counts from the group's first record: records that gathered while the
                # previous group was being fsync'd have waited already and are written at once.
                deadline = self._first_at + self._linger
                while self._pending_bytes < _LINGER_BYTES and not self._stopping:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
            group, self._pending, self._pending_bytes = self._pending, [], 0
            return group

    def _run(self) -> None:
        while (group := self._take_group()) is not None:
            result: WalPosition | BaseException
            try:
                result = self._write(b"".join(frame(kind, payload) for kind, payload, _, _ in group))
            except OSError as exc:
                log.error("WAL write failed: %s", exc)
                self._rewind()
                result = WalUnavailableError(f"the collector cannot write its log ({exc.strerror}); "
                                             "retry later")
            by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future]] = {}
            for _, _, fut, loop in group:
                by_loop.setdefault(loop, []).append(fut)
            for loop, futures in by_loop.items():
                if not loop.is_closed():
                    loop.call_soon_threadsafe(_complete, futures, result)

    def _write(self, data: bytes) -> WalPosition:
        assert self._file is not None
        if self._size >= self._segment_bytes:
            os.fsync(self._file.fileno())
            self._file.close()
            self._segment += 1
            self._open_segment()
        view = memoryview(data)
        while view:
            written = self._file.write(view)
            view = view[written:]
        os.fsync(self._file.fileno())
        self._size += len(data)
        self.groups += 1
        self.committed = WalPosition(self._segment, self._size)
        return self.committed

    def _rewind(self) -> None:
        """After a failed write, cut the segment back to its last committed size."""
        try:
            assert self._file is not None
            self._file.truncate(self.committed.offset)
            self._size = self.committed.offset
        except OSError as exc:
            log.error("WAL could not rewind after a failed write: %s", exc)

    def stop(self) -> None:
        """Write what is pending, then close. Appends after this are refused (503, retry)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()
        if self._file is not None:
            self._file.close()
            self._file = None
