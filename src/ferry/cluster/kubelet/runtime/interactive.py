"""Interactive exec: a command in a container with its stdio wired to the kubelet (``kubectl exec [-i] [-t]``).

``exec_sync`` (probes, hooks) captures output and returns at the end; ``kubectl exec`` needs the streams live.
:func:`spawn` starts the runtime's exec command (``runc exec [--tty] <id> <argv>`` or ``shim.py --exec <dir>
<argv>``) in the foreground, in a session of its own, with:

* **no tty**: pipes. stdin is a pipe when the client sends stdin (else ``/dev/null``); stdout and stderr are
  separate pipes, so the two streams stay apart (channels 1 and 2 of the exec protocol).
* **tty**: a pty pair allocated here (``os.openpty``): the slave is the command's stdin, stdout and stderr and its
  **controlling terminal** (``TIOCSCTTY`` after ``setsid``); the master is read for output (one stream) and
  written for input. ``runc exec --tty`` sees a terminal on its stdin, puts it in raw mode, allocates the
  container's own console and copies between the two; on ``SIGWINCH`` it copies the size of its stdin terminal to
  the container's console (runc ``signals.go``: ``tty.resize()``). :meth:`InteractiveExec.resize` therefore sets
  the master's window size (``TIOCSWINSZ``), whose ``SIGWINCH`` the kernel sends to the terminal's foreground
  process group — runc itself, or (process runtime) the command directly — and sends one to the command's pid
  too, which is harmless when it was already delivered. Set the size **before** spawning (``winsize=``) so a
  command that asks at once (``stty size``) sees it.

The exit code is the exec command's: ``runc exec`` exits with the code of the process it ran (128+signal when
killed), ``shim.py --exec`` *is* the command after ``execve``. A pty master reads ``EIO`` once every slave is
closed: that is end of output, not an error.

**Races**: output can still be buffered in a pipe or the pty after the command exits; the reader drains until EOF
before the caller reports the exit status. An orphan that keeps a pipe open would stall that: readers stop 2 s
after the exit (as the shim does).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import functools
import os
import signal as signals
import struct
import subprocess
import termios
from collections.abc import Callable, Sequence

__all__ = ["InteractiveExec", "spawn"]

_CHUNK = 32 * 1024


def _controlling_tty(slave_path: str) -> None:
    """In the child: a new session whose controlling terminal is the pty slave. Done here rather than with
    ``start_new_session``, and by the slave's path rather than fd 0, because uvloop runs ``preexec_fn`` right
    after ``fork``, before it sets up the child's stdio and before its own ``setsid``."""
    with contextlib.suppress(PermissionError):  # already a session leader
        os.setsid()
    fd = os.open(slave_path, os.O_RDWR)  # a session leader opening a tty acquires it; TIOCSCTTY to be sure
    try:
        with contextlib.suppress(OSError):
            fcntl.ioctl(fd, termios.TIOCSCTTY, 0)
    finally:
        os.close(fd)


def set_winsize(fd: int, width: int, height: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", max(height, 0), max(width, 0), 0, 0))


async def _wait_fd(fd: int, *, write: bool) -> None:
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def done() -> None:
        if not ready.done():
            ready.set_result(None)

    (loop.add_writer if write else loop.add_reader)(fd, done)
    try:
        await ready
    finally:
        (loop.remove_writer if write else loop.remove_reader)(fd)


class InteractiveExec:
    """A running exec; ``stdout`` (the pty master under tty) and ``stderr`` (``None`` under tty) are read
    with :meth:`read`, ``b""`` meaning end of output."""

    def __init__(
        self,
        proc: asyncio.subprocess.Process,
        *,
        stdin: int | None,
        stdout: int,
        stderr: int | None,
        tty: bool,
        kill: Callable[[int], None],
    ) -> None:
        self.proc, self.stdin, self.stdout, self.stderr, self.tty = proc, stdin, stdout, stderr, tty
        self._kill = kill
        self._open = {fd for fd in (stdin, stdout, stderr) if fd is not None}
        self._on_exit: list[Callable[[], None]] = []

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def read(self, fd: int) -> bytes:
        """The next chunk from ``fd`` (``self.stdout`` or ``self.stderr``); ``b""`` at end of output."""
        while fd in self._open:
            try:
                return os.read(fd, _CHUNK)
            except BlockingIOError:
                await _wait_fd(fd, write=False)
            except OSError as e:
                if e.errno == errno.EIO:  # pty master: every slave closed
                    return b""
                raise
        return b""

    async def write(self, data: bytes) -> None:
        """Feed the command's stdin (the pty master under tty); dropped when stdin is closed."""
        view = memoryview(data)
        while view and self.stdin is not None and self.stdin in self._open:
            try:
                view = view[os.write(self.stdin, view) :]
            except BlockingIOError:
                await _wait_fd(self.stdin, write=True)
            except (BrokenPipeError, OSError):
                return

    def close_stdin(self) -> None:
        """End of input: the pipe is closed; under tty an end-of-file character (^D) is typed instead,
        since closing the master would hang up the terminal."""
        if self.stdin is None or self.stdin not in self._open:
            return
        if self.tty:
            with contextlib.suppress(OSError):
                os.write(self.stdin, b"\x04")
            return
        self._close(self.stdin)

    def resize(self, width: int, height: int) -> None:
        """Set the terminal's size (module docstring); ignored without a tty."""
        if not self.tty or self.stdout not in self._open:
            return
        with contextlib.suppress(OSError):
            set_winsize(self.stdout, width, height)
        with contextlib.suppress(OSError):
            os.kill(self.proc.pid, signals.SIGWINCH)

    def on_exit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once :meth:`wait` has seen the exit (the runtime's clean-up)."""
        self._on_exit.append(callback)

    async def wait(self) -> int:
        """The exit code (128+signal when killed)."""
        code = await self.proc.wait()
        while self._on_exit:
            with contextlib.suppress(OSError):
                self._on_exit.pop()()
        return 128 - code if code < 0 else code

    def kill(self) -> None:
        """End the command in the container and the exec process (the client went away)."""
        with contextlib.suppress(OSError):
            self._kill(self.proc.pid)
        with contextlib.suppress(OSError):
            os.killpg(self.proc.pid, signals.SIGKILL)

    def _close(self, fd: int) -> None:
        if fd in self._open:
            self._open.discard(fd)
            with contextlib.suppress(OSError):
                os.close(fd)

    def close(self) -> None:
        for fd in list(self._open):
            self._close(fd)


async def spawn(
    argv: Sequence[str],
    *,
    tty: bool,
    stdin: bool,
    stderr: bool = True,
    winsize: tuple[int, int] | None = None,
    kill: Callable[[int], None] = lambda _: None,
) -> InteractiveExec:
    """Start ``argv`` with pipes or a pty (module docstring). ``winsize`` is ``(width, height)``;
    ``kill(pid)`` ends the command in the container when the exec is abandoned."""
    if tty:
        master, slave = os.openpty()
        try:
            if winsize is not None:
                set_winsize(slave, *winsize)
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                preexec_fn=functools.partial(_controlling_tty, os.ttyname(slave)),
            )
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        os.set_blocking(master, False)
        return InteractiveExec(proc, stdin=master, stdout=master, stderr=None, tty=True, kill=kill)
    theirs: list[int] = []
    ours: list[int] = []
    try:
        in_r, in_w = os.pipe() if stdin else (subprocess.DEVNULL, None)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe() if stderr else (None, subprocess.DEVNULL)
        theirs = [fd for fd in (in_r, out_w, err_w) if fd is not None and fd >= 0]
        ours = [fd for fd in (in_w, out_r, err_r) if fd is not None]
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=in_r, stdout=out_w, stderr=err_w, start_new_session=True
        )
    except BaseException:
        for fd in ours:
            os.close(fd)
        raise
    finally:
        for fd in theirs:
            os.close(fd)
    for fd in ours:
        os.set_blocking(fd, False)
    return InteractiveExec(proc, stdin=in_w, stdout=out_r, stderr=err_r, tty=False, kill=kill)
