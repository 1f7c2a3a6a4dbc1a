"""Concurrent deletes of one container instance share one deletion (``ShimRuntime.delete``).

At the end of a deleted pod the pod worker deletes its exited instance while the kubelet's ``release`` deletes
the same one. Two removals interleaving over one directory failed half-way (``FileNotFoundError`` on
``final.json.tmp``, ``rmtree``: "Directory not empty"), which escaped ``release`` and left the pod Terminating
(seen by bench/kubelet.py in 2 of 11 runs). The real removal yields at several awaits (runc, threads), so this
fake yields the same way and records how many removals ran at once.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from ferry.cluster.kubelet.runtime.instances import ShimRuntime
from ferry.cluster.kubelet.runtime.spec import ContainerId


class Recording(ShimRuntime):
    def __init__(self, state_dir: Path) -> None:
        super().__init__(state_dir)
        self.calls = 0
        self.running = 0
        self.most_at_once = 0

    async def _delete(self, cid: ContainerId) -> None:
        self.calls += 1
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        for _ in range(3):
            await asyncio.sleep(0)
        self.running -= 1


async def test_concurrent_deletes_run_one_removal(tmp_path: Path) -> None:
    runtime = Recording(tmp_path)
    cid = ContainerId("ferry-0123456789ab")
    await asyncio.gather(*(runtime.delete(cid) for _ in range(3)))
    assert (runtime.calls, runtime.most_at_once) == (1, 1)
    await runtime.delete(cid)  # a later delete is a delete of its own (a no-op for a real, removed instance)
    assert runtime.calls == 2


async def test_a_cancelled_caller_does_not_cancel_the_shared_removal(tmp_path: Path) -> None:
    runtime = Recording(tmp_path)
    cid = ContainerId("ferry-0123456789ab")
    first = asyncio.ensure_future(runtime.delete(cid))
    second = asyncio.ensure_future(runtime.delete(cid))
    await asyncio.sleep(0)
    first.cancel()
    await second
    assert runtime.calls == 1 and runtime.running == 0


async def test_different_containers_are_removed_side_by_side(tmp_path: Path) -> None:
    runtime = Recording(tmp_path)
    await asyncio.gather(runtime.delete(ContainerId("ferry-a")), runtime.delete(ContainerId("ferry-b")))
    assert (runtime.calls, runtime.most_at_once) == (2, 2)
