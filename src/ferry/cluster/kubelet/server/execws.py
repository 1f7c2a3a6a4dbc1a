"""``/exec/{namespace}/{pod}/{container}``: the kubelet's end of ``kubectl exec``, over WebSocket (``v5.channel.k8s.io``).

The API server proxies ``pods/{name}/exec`` here (:mod:`ferry.cluster.apiserver.streamproxy`) with the client's
query (``command`` repeated, ``container``, ``stdin``, ``stdout``, ``stderr``, ``tty``) and its WebSocket
subprotocols. Before the upgrade, the kubelet's checks, answered as plain text like kube's ``http.Error``:

* no stream asked for → 400 ``you must specify at least 1 of stdin, stdout, stderr`` (``remotecommand
  .NewOptions``); no command → 400 ``you must specify at least one command for the container``;
* a pod this kubelet does not run → 404 ``pod does not exist``;
* a container that is not running (not started yet, exited, unknown) → 500 ``container not found ("c")``, the
  kubelet's ``GetExec`` error (``streaming.WriteError`` makes it a 500); kubectl prints ``error: unable to
  upgrade connection: container not found ("c")``;
* not a WebSocket upgrade → 400 ``Upgrade request required``; no subprotocol ferry speaks offered → 400.

**Channel protocol** (``v5.channel.k8s.io``, also ``v4.channel.k8s.io``, which lacks only the close signal):
every binary message starts with its channel byte. Client → kubelet: ``0`` stdin, ``4`` resize
``{"Width":W,"Height":H}``, ``255`` close-stream ``[0xff, n]`` (``n`` = 0: stdin is at EOF). Kubelet → client:
``1`` stdout, ``2`` stderr (under ``tty`` both go to ``1``: one terminal), ``3`` the final ``Status`` JSON, then a
close frame 1000. The status (:func:`exit_status`): ``{"metadata":{},"status":"Success"}``; a non-zero exit
``Failure``/``NonZeroExitCode`` with ``details.causes[{"reason":"ExitCode","message":"3"}]`` (kubectl exits with
that code and prints ``command terminated with exit code 3``); a command that could not be started kube's
``InternalError`` (``Internal error occurred: error executing command in container: …``).

**Terminal size race**: kubectl sends the terminal's size as soon as the stream is up, and a command such as
``stty size`` asks at once. Under ``tty`` the kubelet therefore waits (at most ``first_resize_seconds``) for the
first resize before starting the command, and starts it with that size; later resizes go to the running
command. (Real kube starts at once and resizes later, so ``stty size`` there can print ``0 0``.)

**Attach** (``/attach/{ns}/{pod}/{container}``) is refused with 400 and a plain explanation
(:data:`ATTACH_REFUSED`): the container's stdout/stderr are pipes owned by its shim (they feed the CRI log) and
its stdin is ``/dev/null``, so there is nothing to attach to; kube's ``stdin: true`` pods are not supported.

**Client gone**: when the WebSocket closes before the command ends, the command is killed (runc: by the pid
``runc exec`` recorded) — nothing could read its output any more.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import WSMsgType, web

from ferry.cluster.kubelet.runtime.interactive import InteractiveExec
from ferry.cluster.kubelet.runtime.spec import ContainerId, ContainerRuntimeError

__all__ = [
    "PROTOCOLS",
    "ExecOptions",
    "ExecRequestError",
    "ExecStarter",
    "exit_status",
    "parse_exec_options",
    "running_container_id",
    "serve_attach",
    "serve_exec",
]

log = logging.getLogger("ferry.kubelet.server")

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
_DRAIN_AFTER_EXIT_SECONDS = 2.0


class ExecStarter(Protocol):
    """The runtime's ``exec_stream`` (:class:`~ferry.cluster.kubelet.runtime.ContainerRuntime`)."""

    def __call__(
        self,
        cid: ContainerId,
        argv: list[str],
        *,
        tty: bool,
        stdin: bool,
        stderr: bool = True,
        winsize: tuple[int, int] | None = None,
    ) -> Awaitable[InteractiveExec]: ...


class ExecRequestError(Exception):
    """Answered before the upgrade with ``status`` and the plain-text ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class ExecOptions:
    command: list[str]
    stdin: bool = False
    stdout: bool = False
    stderr: bool = False
    tty: bool = False


def _flag(query: Any, key: str) -> bool:
    value = str(query.get(key, "false")).lower()
    if value not in ("true", "false", "1", "0", ""):
        raise ExecRequestError(400, f'strconv.ParseBool: parsing "{query.get(key)}": invalid syntax')
    return key in query and value in ("true", "1", "")


def parse_exec_options(query: Any) -> ExecOptions:
    """The ``PodExecOptions`` query (module docstring); under ``tty`` stderr is not a stream of its own."""
    tty = _flag(query, "tty")
    opts = ExecOptions(
        command=[str(c) for c in query.getall("command", [])],
        stdin=_flag(query, "stdin"),
        stdout=_flag(query, "stdout"),
        stderr=_flag(query, "stderr") and not tty,
        tty=tty,
    )
    if not (opts.stdin or opts.stdout or opts.stderr or _flag(query, "stderr")):
        raise ExecRequestError(400, "you must specify at least 1 of stdin, stdout, stderr")
    if not opts.command:
        raise ExecRequestError(400, "you must specify at least one command for the container")
    return opts


def running_container_id(pod: dict[str, Any], container: str) -> ContainerId:
    """The runtime id of ``container`` when it runs (``containerID`` ``runc://<id>``), else kube's 500."""
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        if (
            isinstance(cs, dict)
            and cs.get("name") == container
            and (cs.get("state") or {}).get("running") is not None
            and cs.get("containerID")
        ):
            return ContainerId(str(cs["containerID"]).split("://", 1)[-1])
    raise ExecRequestError(500, f'container not found ("{container}")')


def exit_status(code: int, argv: list[str]) -> dict[str, Any]:
    """The ``Status`` for channel 3 (module docstring), as the kubelet words it."""
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "message": (
            "command terminated with non-zero exit code: error executing command "
            f"[{' '.join(argv)}], exit code {code}"
        ),
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def internal_error(message: str) -> dict[str, Any]:
    text = f"error executing command in container: {message}"
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"Internal error occurred: {text}",
        "reason": "InternalError",
        "details": {"causes": [{"message": text}]},
        "code": 500,
    }


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _resize(payload: bytes) -> tuple[int, int] | None:
    try:
        size = json.loads(payload)
        return int(size.get("Width", 0)), int(size.get("Height", 0))
    except (ValueError, TypeError, AttributeError):
        return None


def _plain(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=message, content_type="text/plain", charset="utf-8")


def _is_websocket(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket"


async def _pump(run: InteractiveExec, fd: int, channel: int | None, ws: web.WebSocketResponse) -> None:
    """Copy one output stream to ``channel`` (``None``: read and drop) until end of output."""
    while chunk := await run.read(fd):
        if channel is not None and not ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_bytes(bytes([channel]) + chunk)


async def _session(
    ws: web.WebSocketResponse,
    opts: ExecOptions,
    start: Callable[[tuple[int, int] | None], Awaitable[InteractiveExec]],
    first_resize_seconds: float,
) -> None:
    inbox: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue()

    async def receive() -> None:
        async for msg in ws:
            if msg.type == WSMsgType.BINARY and msg.data:
                inbox.put_nowait((msg.data[0], msg.data[1:]))
            elif msg.type != WSMsgType.BINARY:
                break
        inbox.put_nowait(None)

    receiver = asyncio.create_task(receive())
    early: list[tuple[int, bytes] | None] = []
    winsize = None
    if opts.tty:  # module docstring: start with the client's size
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(first_resize_seconds):
                while winsize is None:
                    item = await inbox.get()
                    early.append(item)
                    if item is None:
                        break
                    if item[0] == RESIZE:
                        winsize = _resize(item[1])
    run: InteractiveExec | None = None
    status: dict[str, Any] | None
    try:
        try:
            run = await start(winsize)
        except ContainerRuntimeError as e:
            status = internal_error(str(e))
        except Exception as e:  # the exec process could not be spawned
            log.exception("exec %s: starting the command failed", opts.command)
            status = internal_error(f"{type(e).__name__}: {e}")
        else:
            status = await _drive(ws, opts, run, inbox, early)
        # Stop reading first: aiohttp's close() from another task than a pending receive() drops the
        # connection without waiting for the client's close frame (kubectl then sees 1006).
        await _stop(receiver)
        if status is not None and not ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_bytes(bytes([ERROR]) + json.dumps(status).encode())
                await ws.close(code=1000)
    finally:
        await _stop(receiver)
        if run is not None:
            if run.proc.returncode is None:
                run.kill()
                await run.wait()
            run.close()


async def _drive(
    ws: web.WebSocketResponse,
    opts: ExecOptions,
    run: InteractiveExec,
    inbox: asyncio.Queue[tuple[int, bytes] | None],
    early: list[tuple[int, bytes] | None],
) -> dict[str, Any] | None:
    """Pump until the command has exited and its output is drained; its ``Status`` (``None``: client gone)."""
    pumps = [asyncio.create_task(_pump(run, run.stdout, STDOUT if opts.stdout else None, ws))]
    if run.stderr is not None:
        pumps.append(asyncio.create_task(_pump(run, run.stderr, STDERR if opts.stderr else None, ws)))
    exited = asyncio.create_task(run.wait())

    async def next_item() -> tuple[int, bytes] | None:
        return early.pop(0) if early else await inbox.get()

    client_gone = False
    try:
        while not exited.done():
            getter = asyncio.create_task(next_item())
            await asyncio.wait([getter, exited], return_when=asyncio.FIRST_COMPLETED)
            if not getter.done():
                getter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await getter
                break
            item = getter.result()
            if item is None:
                client_gone = True
                return None
            channel, data = item
            if channel == STDIN:
                await run.write(data)
            elif channel == RESIZE:
                size = _resize(data)
                if size is not None:
                    run.resize(*size)
            elif channel == CLOSE and data[:1] == bytes([STDIN]):
                run.close_stdin()
        code = await exited
        await asyncio.wait(pumps, timeout=_DRAIN_AFTER_EXIT_SECONDS)
        return exit_status(code, opts.command)
    finally:
        for task in [*pumps, exited] if client_gone else pumps:
            task.cancel()
        for task in pumps:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def serve_exec(
    request: web.Request,
    *,
    pods: Callable[[str, str], dict[str, Any] | None],
    starter: ExecStarter | None,
    first_resize_seconds: float = 1.0,
) -> web.StreamResponse:
    """``GET|POST /exec/{namespace}/{pod}/{container}`` (module docstring)."""
    ns, name, container = (request.match_info[k] for k in ("namespace", "pod", "container"))
    try:
        opts = parse_exec_options(request.query)
        pod = pods(ns, name)
        if pod is None:
            raise ExecRequestError(404, "pod does not exist")
        cid = running_container_id(pod, container)
        if starter is None:
            raise ExecRequestError(500, "this kubelet's runtime does not serve exec")
        if not _is_websocket(request):
            raise ExecRequestError(400, "Upgrade request required")
        offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
        chosen = next((p for p in offered if p in PROTOCOLS), None)
        if chosen is None:
            raise ExecRequestError(
                400, f"requested protocol(s) are not supported: {offered}; supports {list(PROTOCOLS)}"
            )
    except ExecRequestError as e:
        return _plain(e.status, e.message)
    ws = web.WebSocketResponse(protocols=(chosen,), autoping=True, max_msg_size=0)
    await ws.prepare(request)

    async def start(winsize: tuple[int, int] | None) -> InteractiveExec:
        assert starter is not None
        return await starter(
            cid, opts.command, tty=opts.tty, stdin=opts.stdin, stderr=opts.stderr, winsize=winsize
        )

    await _session(ws, opts, start, first_resize_seconds)
    if not ws.closed:
        await ws.close()
    return ws


ATTACH_REFUSED = (
    "attach is not supported by ferry's kubelet (a container's stdio belongs to its shim, which writes it to "
    "the log); use kubectl logs -f to follow the output, or kubectl exec to run a command"
)


async def serve_attach(request: web.Request) -> web.StreamResponse:
    """``/attach/...``: refused with a 400 whose text kubectl prints (``unable to upgrade connection: …``).
    No ``": "`` in it: kubectl first tries to decode an error body as a YAML ``Status``, and ``a: b`` parses."""
    return _plain(400, ATTACH_REFUSED)
