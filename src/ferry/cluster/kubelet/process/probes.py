"""Container probes: one check (httpGet, tcpSocket, exec) and the loop that applies every timing field.

:func:`check_probe` runs one attempt, as kubelet's prober does: ``httpGet`` to ``host`` (default: the pod IP)
and a numeric or named container port, success for 200 ≤ status < 400 (HTTPS without verification, as kubelet);
``tcpSocket`` succeeds when the connection opens; ``exec`` runs the command in the container through the
runtime's ``exec_sync`` and succeeds on exit 0. Every attempt is bounded by ``timeoutSeconds`` (default 1).

:class:`Prober` is the worker of one probe of one container instance: it waits ``initialDelaySeconds``, then
probes every ``periodSeconds`` (default 10), and reports a *result change* once ``successThreshold``
consecutive successes (default 1) or ``failureThreshold`` consecutive failures (default 3) are reached;
each failure is also reported (kubelet's ``Unhealthy`` event). Readiness starts as failure, liveness and
startup as success (kube's initial results). Startup probers stop at their first success; the caller starts
the readiness and liveness probers then. The sleep function is injectable for tests.

**Readiness while starting.** When the first readiness attempt on an instance fails, quiet re-checks follow
at 0.1 s, 0.2 s, 0.4 s … within that first period; the first that succeeds brings the next regular attempt
forward (later periods have none). Their failures are not reported (no ``Unhealthy`` event, no failure count), so what is
reported follows ``periodSeconds`` exactly. This stands in for kube's manual trigger: the kubelet runs the
readiness probe at once whenever it updates the status of a started container that is not ready yet
(``pkg/kubelet/prober/prober_manager.go`` ``UpdatePodStatus`` → ``manualTriggerCh``), which happens when the
PLEG reports the container started. Without it a server that listens 100 ms after its process starts would
be Ready only one whole period later (5 s for demo-api's chart): bench/kubelet.py, docs/benchmarks.md.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ferry.cluster.controllers.runtime.types import Obj
from ferry.cluster.kubelet.process.grpcprobe import check_grpc

ExecFn = Callable[[list[str], float], Awaitable[tuple[int, bytes]]]  # (argv, timeout) -> (exit code, output)
Sleep = Callable[[float], Awaitable[None]]


def _port(value: object, ports: list[Obj]) -> int:
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    for p in ports:
        if p.get("name") == value:
            return int(p["containerPort"])
    raise ValueError(f"port {value!r} not found")


async def _http(probe: Obj, host: str, ports: list[Obj]) -> tuple[bool, str]:
    port = _port(probe.get("port"), ports)
    host = str(probe.get("host") or host)
    tls = None
    if str(probe.get("scheme", "HTTP")).upper() == "HTTPS":
        tls = ssl.create_default_context()
        tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE
    path = str(probe.get("path") or "/")
    headers = {"Host": f"{host}:{port}", "User-Agent": "kube-probe/1.32", "Accept": "*/*"}
    headers |= {str(h["name"]): str(h.get("value", "")) for h in probe.get("httpHeaders") or []}
    reader, writer = await asyncio.open_connection(host, port, ssl=tls)
    try:
        head = f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        writer.write((head + "Connection: close\r\n\r\n").encode())
        await writer.drain()
        status = (await reader.readline()).decode(errors="replace").split()
        code = int(status[1]) if len(status) > 1 and status[1].isdigit() else 0
    finally:
        writer.close()
    if 200 <= code < 400:
        return True, ""
    return False, f"HTTP probe failed with statuscode: {code}"


async def check_probe(probe: Obj, *, host: str, ports: list[Obj], exec_fn: ExecFn) -> tuple[bool, str]:
    """One attempt of ``probe`` (see the module docstring): (success, failure message).

    ``grpc`` calls ``grpc.health.v1.Health/Check`` on the pod IP (grpcprobe.py; kube has no ``host`` for it).
    """
    timeout = float(probe.get("timeoutSeconds") or 1)
    try:
        if "httpGet" in probe:
            return await asyncio.wait_for(_http(probe["httpGet"], host, ports), timeout)
        if "tcpSocket" in probe:
            port = _port(probe["tcpSocket"].get("port"), ports)
            target = str(probe["tcpSocket"].get("host") or host)
            _, writer = await asyncio.wait_for(asyncio.open_connection(target, port), timeout)
            writer.close()
            return True, ""
        if "grpc" in probe:
            g = probe["grpc"]
            return await check_grpc(host, int(g.get("port") or 0), str(g.get("service") or ""), timeout)
        if "exec" in probe:
            code, out = await exec_fn([str(a) for a in probe["exec"].get("command") or []], timeout)
            text = out.decode(errors="replace").strip()
            return (True, "") if code == 0 else (False, text or f"command exited with {code}")
    except TimeoutError:
        return False, f"probe timed out after {timeout:g}s"
    except (OSError, ValueError) as e:
        return False, str(e) or type(e).__name__
    return False, "probe has no handler"


@dataclass
class Prober:
    """The loop of one probe (see the module docstring)."""

    kind: str  # "startup", "readiness", "liveness"
    probe: Obj
    check: Callable[[], Awaitable[tuple[bool, str]]]
    on_result: Callable[[bool, str], None]  # a result change
    on_failure: Callable[[str], None]  # every failed attempt
    sleep: Sleep = asyncio.sleep

    async def run(self) -> None:
        p = self.probe
        period = float(p.get("periodSeconds") or 10)
        need_ok = int(p.get("successThreshold") or 1)
        need_fail = int(p.get("failureThreshold") or 3)
        result = self.kind != "readiness"
        oks = fails = 0
        starting = self.kind == "readiness"  # the first period only (see the module docstring)
        await self.sleep(float(p.get("initialDelaySeconds") or 0))
        while True:
            ok, message = await self.check()
            oks, fails = (oks + 1, 0) if ok else (0, fails + 1)
            if not ok:
                self.on_failure(message)
            if ok and oks >= need_ok and (not result or self.kind == "startup"):
                result = True
                self.on_result(True, "")
                if self.kind == "startup":
                    return
            elif not ok and fails >= need_fail and (result or self.kind != "readiness"):
                result = False
                self.on_result(False, message)
                if self.kind in ("liveness", "startup"):
                    return  # the container is killed; the next instance gets new probers
            if starting and not ok:
                await self._recheck(period)
            else:
                await self.sleep(period)
            starting = False

    async def _recheck(self, period: float) -> None:
        """Sleep ``period``, or less if a quiet re-check at 0.1 s, 0.2 s, 0.4 s … succeeds first."""
        spent, step = 0.0, 0.1
        while spent + step < period:
            await self.sleep(step)
            spent += step
            if (await self.check())[0]:
                return
            step *= 2
        await self.sleep(period - spent)
