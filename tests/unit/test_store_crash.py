"""Crash safety: every acknowledged write survives ``kill -9``; revisions never go backwards.

A child process opens the store and writes as fast as it can from 8 concurrent writers
(create, update, sometimes delete, plus unconditional updates of one shared key), printing
``TYPE KEY REV`` for each write *after* it was acknowledged. The parent ``kill -9``s it at a
random moment, reopens the store, and checks the acknowledged writes against the event log
and the objects table. Five rounds on the same file.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from ferry.cluster.store import Event, Store

SRC = Path(__file__).resolve().parents[2] / "src"

CHILD = """
import asyncio, sys
from ferry.cluster.store import Store

async def main(path, run):
    store = Store(path, compaction_interval_seconds=0)
    await store.open()
    out = sys.stdout
    out.write(f"READY {store.revision}\\n")
    out.flush()

    def ack(kind, entry):
        out.write(f"{kind} {entry.key} {entry.rev}\\n")
        out.flush()

    async def writer(w):
        i = 0
        while True:
            key = f"/core/configmaps/run{run}/w{w}-{i}"
            ack("ADDED", await store.create(key, {"run": run, "w": w, "i": i}))
            ack("MODIFIED", await store.update(key, {"run": run, "w": w, "i": i, "u": 1}))
            if i % 3 == 0:
                ack("DELETED", await store.delete(key))
            shared = "/core/configmaps/all/shared"
            if store.get(shared) is None:
                try:
                    ack("ADDED", await store.create(shared, {"w": w}))
                except Exception:
                    pass
            else:
                ack("MODIFIED", await store.update(shared, {"w": w, "i": i}))
            i += 1

    await asyncio.gather(*(writer(w) for w in range(8)))

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


def run_child_and_kill(
    script: Path, db: Path, run: int, delay: float
) -> tuple[int, list[tuple[str, str, int]]]:
    """Start the writer, kill -9 it ``delay`` s after its 20th ack; return (ready rev, acks)."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.Popen(
        [sys.executable, "-u", str(script), str(db), str(run)], stdout=subprocess.PIPE, env=env
    )
    stdout = proc.stdout
    assert stdout is not None
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.extend(stdout), daemon=True)
    reader.start()
    deadline = time.monotonic() + 10
    while len(lines) < 21 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert proc.poll() is None, "the writer died on its own"
    assert len(lines) >= 21, "the writer did not get going"
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    reader.join()
    complete = [line.decode() for line in lines if line.endswith(b"\n")]  # a torn last line is not an ack
    head, *acks = complete
    kind, ready = head.split()
    assert kind == "READY"
    parsed = []
    for line in acks:
        event_type, key, rev = line.split()
        parsed.append((event_type, key, int(rev)))
    return int(ready), parsed


async def read_back(db: Path) -> tuple[int, dict[str, bytes], list[Event]]:
    async with Store(db, compaction_interval_seconds=0) as store:
        events = await store.watch("/", after_rev=0).next_batch(timeout=0)
        objects = {e.key: e.raw for e in store.list("/")[0]}
        return store.revision, objects, events


def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(CHILD)
    db = tmp_path / "store.db"
    rng = random.Random(20260509)
    all_acks: list[tuple[str, str, int]] = []
    for run in range(5):
        ready, acks = run_child_and_kill(script, db, run, rng.uniform(0.0, 0.1))
        assert len(acks) >= 20
        # Revisions never go backwards: the child resumed at or past everything acknowledged before.
        assert ready >= max((rev for _, _, rev in all_acks), default=0)
        assert min(rev for _, _, rev in acks) > ready
        assert len({rev for _, _, rev in acks}) == len(acks)
        all_acks.extend(acks)

        revision, objects, events = asyncio.run(read_back(db))
        by_rev = {e.rev: e for e in events}
        assert [e.rev for e in events] == list(range(1, revision + 1))  # dense, nothing lost in between
        assert revision >= max(rev for _, _, rev in all_acks)
        for event_type, key, rev in all_acks:
            assert (by_rev[rev].type, by_rev[rev].key) == (event_type, key)
            assert by_rev[rev].obj()["metadata"]["resourceVersion"] == str(rev)
        # The objects table is exactly the replay of the event log.
        state: dict[str, bytes] = {}
        for event in events:
            if event.type == "DELETED":
                assert state.pop(event.key) == event.prev_raw
            else:
                assert state.get(event.key) == event.prev_raw
                state[event.key] = event.raw
        assert state == objects
