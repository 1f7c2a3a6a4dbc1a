"""The per-container shim: owns the container's stdout/stderr and collects its exit status.

``python -I -S <this file> <container dir>`` is started by a runtime, detached in a session
of its own, one per container instance, like containerd's ``containerd-shim-runc-v2`` or CRI-O's ``conmon``.
It exists so that neither the logs nor the exit code depend on the kubelet process staying alive: a kubelet
restart finds its containers still running, their logs still written, and their exit codes on disk.

It reads ``<dir>/launch.json`` (written by the runtime) and:

1. makes itself a **child subreaper** (``PR_SET_CHILD_SUBREAPER``), so the container's init, once ``runc create``
   exits, is re-parented to the shim, and the shim can ``waitpid`` it: runc itself records no exit status;
2. creates two pipes and starts the work with them as stdout/stderr (stdin is ``/dev/null``):
   *runc* mode runs ``runc create`` (the container then waits for ``runc start``, which the runtime calls);
   *process* mode starts the command itself, in its own session and process group, after joining the netns
   (``setns``) and the cgroup (between fork and exec);
3. writes ``<dir>/created.json`` (the init pid) or, if creation failed, ``exit.json`` with ``start_error``;
4. copies the pipes into the CRI log (:class:`~ferry.cluster.kubelet.runtime.logs.LogWriter`) until the init
   exits and the pipes reach EOF (or 2 s after the exit, when an orphan of a plain process keeps them open);
5. writes ``<dir>/exit.json`` atomically: ``exit_code`` (128+signal when killed), ``signal``, ``finished_at``.

**Invariant**: ``exit.json`` appears only after the log file is complete and closed, so a reader that sees the
exit has all the output. Everything the shim does goes to ``<dir>/shim.log`` when it fails.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import json
import os
import selectors
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ferry.cluster.kubelet.runtime.logs import LogWriter, Stream

__all__ = ["main", "write_json"]

PR_SET_CHILD_SUBREAPER = 36
CLONE_NEWNET = 0x40000000
DRAIN_AFTER_EXIT_SECONDS = 2.0


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Atomically: a reader sees the whole file or none."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def _log_writer() -> type[LogWriter]:
    """The CRI log writer. The runtimes run this file as a script (``python -I -S shim.py``): importing it
    through ``ferry``'s packages would cost 0.7 s per container start, so :mod:`.logs` (stdlib only) is
    loaded from its file."""
    if __package__:
        from ferry.cluster.kubelet.runtime.logs import LogWriter

        return LogWriter
    spec = importlib.util.spec_from_file_location("_ferry_cri_logs", Path(__file__).with_name("logs.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    writer: type[LogWriter] = module.LogWriter
    return writer


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _setns(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc().setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns {path}: {os.strerror(err)}")
    finally:
        os.close(fd)


def _enter(launch: dict[str, Any]) -> None:
    """Join the container's cgroup and network namespace: between fork and exec, or before an exec."""
    cgroup, netns = launch.get("cgroup"), launch.get("netns")
    if cgroup:
        for controller in ("memory", "cpu", "pids"):
            Path(f"/sys/fs/cgroup/{controller}/{cgroup}/cgroup.procs").write_text(str(os.getpid()))
    if netns:
        _setns(netns)


def _start_process(launch: dict[str, Any], out: int, err: int) -> int:
    uid, gid = launch.get("uid"), launch.get("gid")
    proc = subprocess.Popen(
        launch["argv"],
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=err,
        env=launch["env"],
        cwd=launch["cwd"],
        start_new_session=True,
        preexec_fn=lambda: _enter(launch),  # the shim is single-threaded: safe here
        user=uid,
        group=gid,
        extra_groups=[] if gid is not None else None,
    )
    proc.returncode = 0  # reaped by the loop below, not by Popen
    return proc.pid


def exec_in(directory: Path, argv: list[str]) -> None:
    """``shim.py --exec <dir> <argv>``: become ``argv`` inside a process-runtime container (its cgroup,
    netns, env, working dir and user): what ``exec_sync`` runs for exec probes and hooks."""
    launch = json.loads((directory / "launch.json").read_text())
    _enter(launch)
    gid, uid = launch.get("gid"), launch.get("uid")
    if gid is not None:
        os.setgroups([])
        os.setgid(gid)
    if uid is not None:
        os.setuid(uid)
    os.chdir(launch["cwd"])
    os.execvpe(argv[0], argv, launch["env"])  # looked up in the container's PATH (env's), not the shim's


def _create_runc(launch: dict[str, Any], directory: Path, out: int, err: int) -> int:
    """``runc create``; the container's init pid. Raises RuntimeError with runc's message."""
    r = launch["runc"]
    pid_file = directory / "init.pid"
    argv = [r["binary"], "--root", r["root"], "--log", r["log"], "--log-format", "json"]
    argv += ["create", "--bundle", r["bundle"], "--pid-file", str(pid_file), r["id"]]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    if proc.wait() != 0:
        raise RuntimeError(_runc_error(Path(r["log"])) or f"runc create exited {proc.returncode}")
    return int(pid_file.read_text())


def _runc_error(log: Path) -> str:
    """The last error runc logged (``--log-format json``)."""
    message = ""
    with contextlib.suppress(OSError):
        for line in log.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if entry.get("level") in ("error", "fatal"):
                    message = str(entry.get("msg", ""))
    return message


def run(directory: Path) -> int:
    launch = json.loads((directory / "launch.json").read_text())
    _libc().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    r_out, w_out = os.pipe()
    r_err, w_err = os.pipe()
    writer = _log_writer()(
        Path(launch["log_path"]), max_bytes=launch["log_max_bytes"], max_files=launch["log_max_files"]
    )
    try:
        if launch["mode"] == "runc":
            pid = _create_runc(launch, directory, w_out, w_err)
        else:
            pid = _start_process(launch, w_out, w_err)
    except (OSError, RuntimeError, subprocess.SubprocessError) as e:
        os.close(w_out)
        os.close(w_err)
        _drain({r_out: "stdout", r_err: "stderr"}, writer, deadline=time.monotonic() + 1)
        writer.close()
        write_json(
            directory / "exit.json", {"start_error": str(e) or type(e).__name__, "finished_at": time.time()}
        )
        return 1
    os.close(w_out)
    os.close(w_err)
    if launch["mode"] == "process":  # started as it was created; written first: the runtime waits for created
        write_json(directory / "started.json", {"started_at": time.time()})
    write_json(directory / "created.json", {"pid": pid, "shim_pid": os.getpid(), "created_at": time.time()})

    sel = selectors.DefaultSelector()
    streams: dict[int, Stream] = {r_out: "stdout", r_err: "stderr"}
    for fd in streams:
        sel.register(fd, selectors.EVENT_READ)
    status: int | None = None
    exited_at = 0.0
    while streams and (status is None or time.monotonic() - exited_at < DRAIN_AFTER_EXIT_SECONDS):
        for key, _ in sel.select(timeout=0.1):
            fd = int(key.fd)
            chunk = os.read(fd, 65536)
            if chunk:
                writer.write(streams[fd], chunk)
            else:
                sel.unregister(fd)
                os.close(fd)
                del streams[fd]
        while status is None:
            try:
                reaped, st = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if reaped == 0:
                break
            if reaped == pid:
                status, exited_at = st, time.monotonic()
    if status is None:  # the pipes closed first: the init is still to be reaped
        _, status = os.waitpid(pid, 0)
    finished = time.time()
    writer.close()
    code = os.waitstatus_to_exitcode(status)
    signal = -code if code < 0 else None
    write_json(
        directory / "exit.json",
        {"exit_code": 128 + signal if signal else code, "signal": signal, "finished_at": finished},
    )
    return 0


def _drain(streams: dict[int, Stream], writer: LogWriter, *, deadline: float) -> None:
    for fd, stream in streams.items():
        os.set_blocking(fd, False)
        with contextlib.suppress(BlockingIOError):
            while time.monotonic() < deadline and (chunk := os.read(fd, 65536)):
                writer.write(stream, chunk)
        os.close(fd)


def main(argv: list[str] | None = None) -> int:
    """``shim <container dir>``: detach (fork; the parent returns at once, so the runtime reaps it and the
    shim is re-parented to init), then :func:`run`."""
    args = sys.argv[1:] if argv is None else argv
    if args[0] == "--exec":
        try:
            exec_in(Path(args[1]), args[2:])
        except OSError as e:
            print(f"exec failed: {e}", file=sys.stderr)
            return 126
    directory = Path(args[0])
    if os.fork() != 0:
        os._exit(0)
    os.setsid()
    try:
        return run(directory)
    except Exception:
        (directory / "shim.log").write_text(traceback.format_exc())
        with contextlib.suppress(OSError):
            if not (directory / "exit.json").exists():
                write_json(
                    directory / "exit.json",
                    {"start_error": "shim failed, see shim.log", "finished_at": time.time()},
                )
        return 2


if __name__ == "__main__":
    sys.exit(main())
