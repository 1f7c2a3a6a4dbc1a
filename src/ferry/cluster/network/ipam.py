"""Pod IP address management for one node: a pod CIDR, one IP per pod uid, persisted so restarts keep them.

The kubelet gets the node's pod CIDR from ``Node.spec.podCIDR`` (the sim runtime's convention, which the process
runtime keeps: ``10.244.N.0/24`` for node N of the cluster CIDR ``10.244.0.0/16``). In a CIDR the network
address, the gateway (``.1``, the bridge's address) and the broadcast address are never handed out.

State lives in one small JSON file in the node's data dir::

    {"version": 1, "cidr": "10.244.0.0/24", "last": "10.244.0.7",
     "allocations": {"10.244.0.5": "<pod uid>", ...}}

Invariants (the reason for the file, the lock and the order of the steps):

* **Never twice.** Every operation takes an exclusive ``flock`` on ``<file>.lock``, reads the file, changes it
  and writes it atomically (temporary file, fsync, rename, fsync of the directory) before the lock is released,
  so two processes, or a crash at any point, can never hand one IP to two pods: an IP is either in the file
  (allocated) or not, and an allocation is only returned once it is durable.
* **Sticky per pod.** ``allocate(uid)`` for a uid that already has an IP returns that IP, so a kubelet that
  restarts and re-creates a running pod's sandbox keeps its IP.
* **No quick reuse.** New IPs are taken round-robin after ``last`` (as CNI's host-local IPAM does), so an IP just
  released is the last one reused: a late packet or a stale endpoint does not reach a different pod at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypedDict

from ferry.cluster.network.hostcmd import IpamError, IpamExhausted

__all__ = ["IpamState", "PodIpam", "atomic_write_json"]


class IpamState(TypedDict):
    version: int
    cidr: str
    last: str
    allocations: dict[str, str]  # ip -> pod uid


def atomic_write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON so that ``path`` holds either the old or the new content, even after a crash."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class PodIpam:
    """The IPs of one node's pod CIDR; every method is atomic across threads and processes (see module doc)."""

    def __init__(self, cidr: str, state_file: Path) -> None:
        self.network = ipaddress.IPv4Network(cidr)
        if self.network.num_addresses < 4:
            raise IpamError(f"pod CIDR {cidr} must have room for a gateway and a pod (at most /30)")
        self.state_file = state_file
        self.gateway = str(self.network.network_address + 1)
        self._first = int(self.network.network_address) + 2
        self._last = int(self.network.broadcast_address) - 1

    @property
    def prefix_len(self) -> int:
        return self.network.prefixlen

    @property
    def capacity(self) -> int:
        """How many pod IPs the CIDR has."""
        return self._last - self._first + 1

    # -- the locked read-modify-write ------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[IpamState]:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.state_file.with_name(self.state_file.name + ".lock"), "a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                state = self._read()
                before = json.dumps(state, sort_keys=True)
                yield state
                if json.dumps(state, sort_keys=True) != before:
                    atomic_write_json(self.state_file, state)
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _read(self) -> IpamState:
        try:
            raw = json.loads(self.state_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return IpamState(version=1, cidr=str(self.network), last="", allocations={})
        except (OSError, ValueError) as e:
            raise IpamError(f"IPAM state {self.state_file} cannot be read: {e}") from e
        if (
            not isinstance(raw, dict)
            or raw.get("version") != 1
            or not isinstance(raw.get("allocations"), dict)
        ):
            raise IpamError(f"IPAM state {self.state_file} must be a version 1 state file")
        if raw.get("cidr") != str(self.network):
            raise IpamError(
                f"IPAM state {self.state_file} is for pod CIDR {raw.get('cidr')}, not {self.network}: "
                "the node's podCIDR must not change while pods run"
            )
        return IpamState(
            version=1,
            cidr=str(self.network),
            last=str(raw.get("last") or ""),
            allocations={str(k): str(v) for k, v in raw["allocations"].items()},
        )

    # -- the API -----------------------------------------------------------------------------------------
    def allocate(self, pod_uid: str, want: str | None = None) -> str:
        """The pod's IP: its existing one, else ``want`` (if free and in range), else the next free one.

        Raises :class:`IpamExhausted` when no IP is free, :class:`IpamError` when ``want`` is unusable.
        """
        with self._locked() as state:
            allocations = state["allocations"]
            for ip, uid in allocations.items():
                if uid == pod_uid:
                    return ip
            if want is not None:
                n = int(ipaddress.IPv4Address(want))
                if not self._first <= n <= self._last:
                    raise IpamError(
                        f"{want} must be a pod IP of {self.network} (not network, gateway, broadcast)"
                    )
                if want in allocations:
                    raise IpamError(f"{want} is already allocated to pod {allocations[want]}")
                allocations[want] = pod_uid
                return want
            start = int(ipaddress.IPv4Address(state["last"])) if state["last"] else self._last
            size = self.capacity
            for step in range(1, size + 1):
                n = self._first + (start - self._first + step) % size
                ip = str(ipaddress.IPv4Address(n))
                if ip not in allocations:
                    allocations[ip] = pod_uid
                    state["last"] = ip
                    return ip
            raise IpamExhausted(f"no free pod IP in {self.network}: all {size} are allocated")

    def release(self, pod_uid: str) -> str | None:
        """Free the pod's IP; returns it, or None when the pod had none (releasing twice is fine)."""
        with self._locked() as state:
            for ip, uid in list(state["allocations"].items()):
                if uid == pod_uid:
                    del state["allocations"][ip]
                    return ip
        return None

    def ip_of(self, pod_uid: str) -> str | None:
        with self._locked() as state:
            return next((ip for ip, uid in state["allocations"].items() if uid == pod_uid), None)

    def allocations(self) -> dict[str, str]:
        """ip -> pod uid, as persisted."""
        with self._locked() as state:
            return dict(state["allocations"])

    def forget(self) -> None:
        """Remove the state file (node teardown, after every pod is gone)."""
        for path in (self.state_file, self.state_file.with_name(self.state_file.name + ".lock")):
            path.unlink(missing_ok=True)
