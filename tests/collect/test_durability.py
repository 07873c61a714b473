"""A 2xx survives `kill -9`: a real `cxlens serve` subprocess, concurrent clients, a crash, a restart."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import orjson
import pytest

from cxlens import keys
from cxlens.api.background import free_port
from cxlens.store import Store

pytestmark = pytest.mark.slow
CXLENS = Path(sys.executable).with_name("cxlens")


def _serve(data_dir: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "CXLENS_LOADER_INTERVAL_MS": "50"}
    proc = subprocess.Popen([str(CXLENS), "serve", "--port", str(port), "--data-dir", str(data_dir)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
        if proc.poll() is not None:
            raise RuntimeError(f"cxlens serve exited: {proc.stderr.read().decode()[-2000:]}")
    proc.kill()
    raise RuntimeError("cxlens serve did not start")


def _client(url: str, auth: dict, acked: list[str], stop: threading.Event, worker: int) -> None:
    with httpx.Client(timeout=5) as http:
        for n in range(10_000):  # bounded; the crash ends it long before
            if stop.is_set():
                return
            batch = [{"type": "track", "event": "Tick", "userId": f"w{worker}",
                      "messageId": f"w{worker}-{n}-{i}-{uuid.uuid4().hex[:6]}"} for i in range(50)]
            try:
                r = http.post(url, content=orjson.dumps({"batch": batch}), headers=auth)
            except httpx.TransportError:
                return  # the server died mid-request: this batch was never acknowledged
            if r.status_code == 200:
                acked.extend(m["messageId"] for m in batch)


def test_acknowledged_events_survive_kill_9_exactly_once(tmp_path) -> None:
    data_dir = tmp_path / "data"
    from cxlens.config import load_settings

    settings = load_settings(data_dir)
    with Store(settings.store_path) as store:
        secret = keys.create_key(store, "write", "crash-test").secret
    auth = {"Authorization": "Basic " + base64.b64encode(f"{secret}:".encode()).decode(),
            "Content-Type": "application/json"}
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1/batch"

    proc = _serve(data_dir, port)
    acked: list[str] = []
    stop = threading.Event()
    workers = [threading.Thread(target=_client, args=(url, auth, acked, stop, w)) for w in range(4)]
    for w in workers:
        w.start()
    deadline = time.monotonic() + 60
    while len(acked) < 3000 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)  # mid-stream: clients are still sending
    proc.wait()
    stop.set()
    for w in workers:
        w.join()
    assert len(acked) >= 3000

    proc = _serve(data_dir, port)  # replays the WAL from the store's checkpoint
    # A client retrying its last acknowledged batch after the crash must not double-count it.
    retry = [{"type": "track", "event": "Tick", "userId": "w0", "messageId": m} for m in acked[-50:]]
    assert httpx.post(url, content=orjson.dumps({"batch": retry}), headers=auth).status_code == 200
    proc.send_signal(signal.SIGTERM)  # graceful: loads everything before exiting
    # uvicorn re-raises the signal once its graceful shutdown is done, hence -SIGTERM.
    assert proc.wait(timeout=60) in (0, -signal.SIGTERM)

    with Store(settings.store_path) as store:
        store.register("acked", __import__("pyarrow").table({"message_id": acked}))
        missing = store.fetchall("SELECT count(*) FROM acked WHERE message_id NOT IN "
                                 "(SELECT message_id FROM events)")[0][0]
        twice = store.fetchall("SELECT count(*) FROM (SELECT message_id FROM events GROUP BY 1 "
                               "HAVING count(*) > 1)")[0][0]
    assert missing == 0, f"{missing} acknowledged events lost"
    assert twice == 0
    # Loaded segments are deleted; only the last one written remains.
    assert len(list((data_dir / "wal").glob("*.wal"))) == 1
