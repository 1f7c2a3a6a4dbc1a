"""What the cluster process's supervised children share: dying with their parent, and being stopped.

The controller manager (:mod:`ferry.cluster.controllers.process`) and the GitOps reconciler
(:mod:`ferry.cluster.reconciler`) run as child processes of ``ferry cluster up``. Each asks the kernel to signal
it when the cluster process goes (``PR_SET_PDEATHSIG``; Linux only, ignored elsewhere), so that a ``kill -9`` of
the cluster leaves no child behind, and each is stopped the same way: SIGTERM, then SIGKILL after a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import signal

__all__ = ["die_with_parent", "terminate"]

log = logging.getLogger("ferry.cluster")
_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Have the kernel send ``sig`` to this process when its parent goes (best effort off Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)


async def terminate(proc: asyncio.subprocess.Process, what: str, timeout_seconds: float) -> None:
    """SIGTERM ``proc``; SIGKILL it if it has not exited within ``timeout_seconds``; reap it either way."""
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), timeout_seconds)
    except TimeoutError:
        log.warning("%s (pid %d) ignored SIGTERM; killing it", what, proc.pid)
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
