"""The write-ahead log: framing, torn-tail recovery, group commit, and reading up to the commit."""

from __future__ import annotations

import asyncio

from cxlens.collect.wal import (
    HEADER,
    KIND_EVENTS,
    KIND_REJECTED,
    WalPosition,
    WalWriter,
    list_segments,
    read_from,
    recover,
    segment_path,
)


def _write(wal_dir, payloads: list[bytes], segment_bytes: int = 1 << 20) -> WalWriter:
    writer = WalWriter(wal_dir, segment_bytes, max_wait_ms=1.0)
    writer.start()

    async def go() -> list[WalPosition]:
        return await asyncio.gather(*(writer.append(KIND_EVENTS, p) for p in payloads))

    positions = asyncio.run(go())
    assert all(p <= writer.committed for p in positions)
    writer.stop()
    return writer


def test_group_commit_acknowledges_every_append_after_fsync(tmp_path) -> None:
    payloads = [f"record-{i}".encode() for i in range(200)]
    writer = _write(tmp_path, payloads)
    assert writer.groups < len(payloads)  # concurrent appends shared fsyncs
    got = [r.payload for r in read_from(tmp_path, WalPosition(0, 0), writer.committed)]
    assert sorted(got) == sorted(payloads)


def test_torn_tail_is_detected_and_truncated(tmp_path) -> None:
    writer = _write(tmp_path, [b"first", b"second"])
    path = segment_path(tmp_path, writer.committed.segment)
    good_size = path.stat().st_size
    with path.open("ab") as f:  # a crash mid-record: header promises 100 bytes, 3 arrived
        f.write(HEADER.pack(100, 0, KIND_EVENTS) + b"abc")
    next_segment = recover(tmp_path)
    assert path.stat().st_size == good_size
    assert next_segment == writer.committed.segment + 1
    end = WalPosition(next_segment, 0)
    assert sorted(r.payload for r in read_from(tmp_path, WalPosition(0, 0), end)) == [b"first", b"second"]


def test_corrupted_record_fails_its_checksum(tmp_path) -> None:
    writer = _write(tmp_path, [b"only-record"])
    path = segment_path(tmp_path, writer.committed.segment)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # a flipped bit in the payload
    path.write_bytes(bytes(data))
    recover(tmp_path)
    assert path.stat().st_size == 0


def test_segments_roll_and_restart_opens_a_new_one(tmp_path) -> None:
    _write(tmp_path, [b"x" * 600 for _ in range(3)], segment_bytes=1024)
    writer = WalWriter(tmp_path, 1024, max_wait_ms=0)
    writer.start()

    async def one() -> None:
        await writer.append(KIND_REJECTED, b"after restart")

    asyncio.run(one())
    writer.stop()
    segments = list_segments(tmp_path)
    assert len(segments) >= 2 and segments[-1] == writer.committed.segment
    records = list(read_from(tmp_path, WalPosition(0, 0), writer.committed))
    assert [r.kind for r in records][-1] == KIND_REJECTED
    assert len(records) == 4


def test_reader_never_reads_past_the_committed_position(tmp_path) -> None:
    writer = _write(tmp_path, [b"a", b"b"])
    first = next(iter(read_from(tmp_path, WalPosition(0, 0), writer.committed)))
    assert list(read_from(tmp_path, WalPosition(0, 0), first.end)) == [first]


def test_a_group_past_the_linger_size_is_written_without_waiting_out_the_linger(tmp_path) -> None:
    # The linger is two minutes: only the wake-up on crossing the linger size (1 MiB) can answer
    # these appends before the (generous) timeout below; waking the writer for every append is
    # not needed for that.
    writer = WalWriter(tmp_path, 64 << 20, max_wait_ms=120_000)
    writer.start()

    async def go() -> list[WalPosition]:
        small = asyncio.ensure_future(writer.append(KIND_EVENTS, b"first"))
        await asyncio.sleep(0.2)  # let the writer start lingering on the first record
        big = [writer.append(KIND_EVENTS, bytes(400_000)) for _ in range(3)]
        return await asyncio.wait_for(asyncio.gather(small, *big), timeout=60)

    try:
        positions = asyncio.run(go())
        assert max(positions) == writer.committed
        assert writer.groups == 1  # one fsync for the whole group
    finally:
        writer.stop()
