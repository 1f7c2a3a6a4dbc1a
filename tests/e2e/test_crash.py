"""Crash test: writers hammer a real ``ferry cluster up`` process, which is ``kill -9``ed and restarted.

The server runs in the FOREGROUND as a child of the test (``python -m ferry cluster up --data-dir D
--listen 127.0.0.1:P``) on one port picked up front, so every restart reuses the same data dir and port.
Writer threads (``http.client`` over HTTPS with the data dir's CA and the admin token) create, update
(PUT with ``resourceVersion``) and delete ConfigMaps as fast as they can; each thread owns a few names, so
the history of a name is sequential. A lister thread reads the collection's ``resourceVersion``.

Each of ``ROUNDS`` rounds: the server serves, the writers write, and 0.3-1.5 s in, the server gets
SIGKILL. The stale ``cluster.pid``/``cluster.json`` it leaves must not stop the restart. Then it starts
again. The rule for a write whose outcome is unknown (connection lost, 5xx): the writer marks the name
*uncertain*. It sends nothing more until the killed process is gone and the new one serves. Then it
re-reads the name and checks it. Either the uncertain write happened or it did not; nothing else is
allowed.

What is checked:

* every acknowledged write (201/200 carrying a resourceVersion; a 200 DELETE) is durable. A name whose
  last acknowledged write was not followed by an uncertain one is exactly as acknowledged (same
  resourceVersion, data and uid, or absent after a delete). With an uncertain write after it, the name
  is either as acknowledged or as the uncertain write left it (with a greater resourceVersion);
* the event history (a watch from the namespace's creation), replayed after the last restart, holds
  every acknowledged write at its exact revision. Each of its other events is one of our uncertain
  writes (committed but never acknowledged), and it replays to the objects the server lists;
* revisions never go backwards, across restarts included: whenever an observation B (a write's or a
  list's resourceVersion) started after an observation A had finished, a write has ``B > A`` and a
  list ``B >= A``. Explicitly after each restart, the list resourceVersion is at least the highest
  revision seen before the kill, and a new write is above it;
* no connection fails while the server is up, and no write is rejected (the writers' view of each
  name is exact, so a 409/404 would mean the server lost or invented state).

A second test covers the stale files a killed server leaves when its pid is later reused by another
process: ``up`` must still start, and ``status``/``down`` must not take that process for the cluster.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ferry

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROUNDS = 5
WRITERS = 4
NAMES_PER_WRITER = 6
NAMESPACE = "crash"
MARKER = "zz-history-end"
KILL_AFTER = (0.3, 1.5)
START_TIMEOUT = 60.0
REQUEST_TIMEOUT = 30.0
CM_PATH = f"/api/v1/namespaces/{NAMESPACE}/configmaps"


# -- the server process ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """``ferry cluster up`` in the foreground, as our child; killed and restarted on the same dir and port."""

    data_dir: Path
    port: int
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "cluster.pid"

    @property
    def state_file(self) -> Path:
        return self.data_dir / "cluster.json"

    @property
    def ca(self) -> Path:
        return self.data_dir / "pki" / "ca.crt"

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def start(self) -> float:
        """Start it and wait until ``cluster.json`` names this process and ``/readyz`` answers; seconds taken."""
        assert self.proc is None
        t0 = time.monotonic()
        with open(self.log_path, "ab") as log:
            log.write(f"\n=== start at {time.time():.3f}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "ferry",
                    "cluster",
                    "up",
                    "--data-dir",
                    str(self.data_dir),
                    "--listen",
                    f"127.0.0.1:{self.port}",
                    "--registry",
                    "0",  # a fixed API port would otherwise put the registry on 5000 (auto), shared by clusters
                    "--runtime",
                    "sim",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = t0 + START_TIMEOUT
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                self.proc = None
                raise AssertionError(
                    f"`ferry cluster up` exited with {code} during start-up (stale cluster.pid "
                    f"{self._read(self.pid_file)!r}, cluster.json {self._read(self.state_file)!r}):\n"
                    + self.log_tail()
                )
            if self._serving():
                return time.monotonic() - t0
            time.sleep(0.05)
        raise AssertionError(f"the cluster did not serve within {START_TIMEOUT:.0f} s:\n{self.log_tail()}")

    @staticmethod
    def _read(path: Path) -> str | None:
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            return None

    def _serving(self) -> bool:
        assert self.proc is not None
        try:
            state = json.loads(self.state_file.read_text())
        except (FileNotFoundError, ValueError):
            return False
        if state.get("pid") != self.proc.pid:
            return False  # still the file a killed predecessor left behind
        assert state.get("port") == self.port, state
        ctx = ssl.create_default_context(cafile=str(self.ca))
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=5)
        try:
            conn.request("GET", "/readyz")
            resp = conn.getresponse()
            return resp.status == 200 and resp.read() == b"ok"
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()

    def kill9(self) -> int:
        """SIGKILL and reap it; its pid."""
        assert self.proc is not None
        pid = self.proc.pid
        self.proc.kill()
        self.proc.wait(timeout=30)
        self.proc = None
        return pid

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM (a clean stop); the exit code."""
        assert self.proc is not None
        self.proc.terminate()
        try:
            code = self.proc.wait(timeout=timeout)
        finally:
            self.ensure_stopped()
        return code

    def ensure_stopped(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait(timeout=30)
            self.proc = None


# -- the HTTP client ---------------------------------------------------------------------------------------
class Client:
    """One keep-alive HTTPS connection with the admin token; reconnects after any failure."""

    def __init__(self, port: int, token: str, ca: Path) -> None:
        self.port = port
        self.token = token
        self.ctx = ssl.create_default_context(cafile=str(ca))
        self.conn: http.client.HTTPSConnection | None = None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """(status, parsed JSON). Raises OSError/HTTPException when the outcome is unknown."""
        if self.conn is None:
            self.conn = http.client.HTTPSConnection(
                "127.0.0.1", self.port, context=self.ctx, timeout=REQUEST_TIMEOUT
            )
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            self.conn.request(method, path, body=data, headers=headers)
            resp = self.conn.getresponse()
            raw = resp.read()
        except BaseException:
            self.close()
            raise
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return resp.status, parsed


NetError = (OSError, http.client.HTTPException)


# -- shared run state --------------------------------------------------------------------------------------
class Epochs:
    """Server generations: the epoch is even while a server is up and odd while it is down (or starting)."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.epoch = 1
        self.stopped = False
        self.acks: Counter[int] = Counter()  # acknowledged writes per epoch

    def up(self) -> int:
        with self.cond:
            assert self.epoch % 2 == 1
            self.epoch += 1
            self.cond.notify_all()
            return self.epoch

    def down(self) -> None:
        with self.cond:
            assert self.epoch % 2 == 0
            self.epoch += 1

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self.cond.notify_all()

    def is_up(self, epoch: int) -> bool:
        with self.cond:
            return self.epoch == epoch and epoch % 2 == 0

    def wait_up(self, after: int = 0) -> int | None:
        """Wait until a server started after epoch ``after`` serves; its epoch, or None once stopped."""
        with self.cond:
            while not self.stopped and (self.epoch % 2 == 1 or self.epoch <= after):
                self.cond.wait()
            return None if self.stopped else self.epoch

    def acked(self, epoch: int) -> None:
        with self.cond:
            self.acks[epoch] += 1
            self.cond.notify_all()

    def wait_first_ack(self, epoch: int, timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: self.acks[epoch] > 0, timeout=timeout)


@dataclass(frozen=True)
class State:
    """What a ConfigMap name holds: absent, or present at ``rv`` with ``data.seq`` and ``uid``."""

    present: bool
    rv: int = 0
    seq: str = ""
    uid: str = ""

    @classmethod
    def of(cls, obj: dict[str, Any]) -> State:
        md = obj["metadata"]
        return cls(True, int(md["resourceVersion"]), str((obj.get("data") or {}).get("seq")), md["uid"])

    def __str__(self) -> str:
        return f"present(rv={self.rv}, seq={self.seq})" if self.present else "absent"


ABSENT = State(False)


@dataclass
class Attempt:
    name: str
    op: str  # create | update | delete
    seq: str
    base: State  # the writer's (exact) knowledge of the name when it sent the write
    epoch: int
    t0: float
    t1: float = 0.0
    outcome: str = ""  # ack | rejected | uncertain
    status: int = 0
    rv: int = 0
    detail: str = ""


@dataclass
class Obs:
    """A resourceVersion the server reported. ``kind``: write (a revision), list (the store's revision),
    read (an object's revision: a lower bound of the store's)."""

    kind: str
    rv: int
    t0: float
    t1: float
    what: str


@dataclass
class Run:
    epochs: Epochs
    port: int
    token: str
    ca: Path
    obs: list[Obs] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    spurious_errors: list[str] = field(default_factory=list)

    def client(self) -> Client:
        return Client(self.port, self.token, self.ca)


def check_name(name: str, base: State, pending: Attempt | None, seen: State) -> str | None:
    """None if ``seen`` is what the name may hold: ``base``, or what ``pending`` (uncertain) made of it."""
    if seen == base:
        return None
    if pending is not None:
        if pending.op == "delete" and not seen.present:
            return None
        made = pending.op in ("create", "update") and seen.present and seen.seq == pending.seq
        # an update keeps the uid; a create makes a new one
        if made and seen.rv > base.rv and (pending.op == "create" or seen.uid == base.uid):
            return None
    after = f", then an unacknowledged {pending.op} seq={pending.seq}" if pending else ""
    return (
        f"{name}: last known {base} uid={base.uid or '-'}{after}; the server has {seen} uid={seen.uid or '-'}"
    )


# -- the writers ------------------------------------------------------------------------------------------
@dataclass
class Writer:
    idx: int
    run: Run
    rng: random.Random
    names: list[str] = field(default_factory=list)
    known: dict[str, State] = field(default_factory=dict)
    pending: dict[str, Attempt | None] = field(default_factory=dict)  # names to re-read; the uncertain write
    attempts: list[Attempt] = field(default_factory=list)
    resyncs: int = 0
    error: BaseException | None = None

    def __post_init__(self) -> None:
        self.names = [f"w{self.idx}-{i}" for i in range(NAMES_PER_WRITER)]
        self.known = dict.fromkeys(self.names, ABSENT)

    def main(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # surfaced by the test
            self.error = exc

    def _loop(self) -> None:
        run, client, n = self.run, self.run.client(), 0
        try:
            epoch = run.epochs.wait_up()
            while epoch is not None:
                if self.pending and not self._resync(client, epoch):
                    epoch = run.epochs.wait_up(after=epoch)
                    continue
                n += 1
                if not self._write(client, epoch, f"{self.idx}-{n}"):
                    epoch = run.epochs.wait_up(after=epoch)
        finally:
            client.close()

    def _resync(self, client: Client, epoch: int) -> bool:
        for name in sorted(self.pending):
            t0 = time.monotonic()
            try:
                status, body = client.request("GET", f"{CM_PATH}/{name}")
            except NetError as exc:
                self._net_error(epoch, f"GET {name}", exc)
                return False
            t1 = time.monotonic()
            if status == 200:
                seen = State.of(body)
                self.run.obs.append(Obs("read", seen.rv, t0, t1, f"GET {name}"))
            elif status == 404:
                seen = ABSENT
            else:
                self.run.problems.append(f"GET {name} answered {status}: {body}")
                return False
            problem = check_name(name, self.known[name], self.pending.pop(name), seen)
            if problem:
                self.run.problems.append(f"after restart (epoch {epoch}): {problem}")
            self.known[name] = seen
            self.resyncs += 1
        return True

    def _write(self, client: Client, epoch: int, seq: str) -> bool:
        """One write; False when its outcome is unknown (then the name is pending)."""
        name = self.rng.choice(self.names)
        base = self.known[name]
        md: dict[str, Any] = {"name": name, "namespace": NAMESPACE}
        if not base.present:
            op, method, path = "create", "POST", CM_PATH
            body: dict[str, Any] = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": md,
                "data": {"seq": seq},
            }
        elif self.rng.random() < 0.65:
            op, method, path = "update", "PUT", f"{CM_PATH}/{name}"
            md["resourceVersion"] = str(base.rv)
            body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": md, "data": {"seq": seq}}
        else:
            op, method, path = "delete", "DELETE", f"{CM_PATH}/{name}"
            body = {
                "kind": "DeleteOptions",
                "apiVersion": "v1",
                "preconditions": {"resourceVersion": str(base.rv)},
            }
        att = Attempt(name, op, seq, base, epoch, time.monotonic())
        self.attempts.append(att)
        try:
            status, resp = client.request(method, path, body)
        except NetError as exc:
            att.t1, att.outcome, att.detail = time.monotonic(), "uncertain", repr(exc)
            self.pending[name] = att
            self._net_error(epoch, f"{method} {name}", exc)
            return False
        att.t1, att.status = time.monotonic(), status
        if status in (200, 201) and isinstance(resp, dict) and resp.get("kind") == "ConfigMap":
            got = State.of(resp)
            att.outcome, att.rv = "ack", got.rv
            expected = 201 if op == "create" else 200
            if status != expected or got.rv <= base.rv or (op != "create" and got.uid != base.uid):
                self.run.problems.append(f"{method} {name}: odd acknowledgement {status} {got} over {base}")
            if op != "delete" and got.seq != seq:
                self.run.problems.append(f"{method} {name}: acknowledged seq {got.seq}, sent {seq}")
            self.known[name] = ABSENT if op == "delete" else got
            self.run.obs.append(Obs("write", got.rv, att.t0, att.t1, f"{op} {name}"))
            self.run.epochs.acked(epoch)
            return True
        if 400 <= status < 500:
            # A definite "no": nothing was written. It should not happen (we know each name exactly).
            att.outcome, att.detail = "rejected", str(resp)[:300]
            self.run.problems.append(f"{method} {name} over {base} rejected with {status}: {att.detail}")
            self.pending[name] = None
            return True
        att.outcome, att.detail = "uncertain", f"{status}: {str(resp)[:300]}"
        self.pending[name] = att
        return False

    def _net_error(self, epoch: int, what: str, exc: BaseException) -> None:
        if self.run.epochs.is_up(epoch):
            self.run.spurious_errors.append(f"{what}: {exc!r} while the server was up")


def lister(run: Run, errors: list[BaseException]) -> None:
    client = run.client()
    try:
        epoch = run.epochs.wait_up()
        while epoch is not None:
            t0 = time.monotonic()
            try:
                status, body = client.request("GET", f"{CM_PATH}?limit=1")
            except NetError as exc:
                if run.epochs.is_up(epoch):
                    run.spurious_errors.append(f"LIST: {exc!r} while the server was up")
                epoch = run.epochs.wait_up(after=epoch)
                continue
            t1 = time.monotonic()
            if status != 200:
                run.problems.append(f"LIST answered {status}: {body}")
            else:
                run.obs.append(Obs("list", int(body["metadata"]["resourceVersion"]), t0, t1, "LIST"))
            time.sleep(0.01)
    except BaseException as exc:
        errors.append(exc)
    finally:
        client.close()


# -- checks -----------------------------------------------------------------------------------------------
def revision_order_violations(obs: list[Obs]) -> list[str]:
    """B started after A finished: a write B must have ``rv > A.rv``, a list B ``rv >= A.rv``."""
    done = sorted(obs, key=lambda o: o.t1)
    later = sorted((o for o in obs if o.kind in ("write", "list")), key=lambda o: o.t0)
    out: list[str] = []
    best: Obs | None = None
    i = 0
    for b in later:
        while i < len(done) and done[i].t1 < b.t0:
            if best is None or done[i].rv > best.rv:
                best = done[i]
            i += 1
        if best is None:
            continue
        if b.rv < best.rv or (b.kind == "write" and b.rv == best.rv):
            out.append(f"{b.what} got rv {b.rv} after {best.what} had seen rv {best.rv}")
    return out


def watch_history(client: Client, after_rv: int) -> list[dict[str, Any]]:
    """Every ConfigMap event of the namespace after ``after_rv``, up to the marker's ADDED event."""
    conn = http.client.HTTPSConnection("127.0.0.1", client.port, context=client.ctx, timeout=REQUEST_TIMEOUT)
    try:
        conn.request(
            "GET",
            f"{CM_PATH}?watch=true&resourceVersion={after_rv}&timeoutSeconds=30",
            headers={"Authorization": f"Bearer {client.token}", "Accept": "application/json"},
        )
        resp = conn.getresponse()
        assert resp.status == 200, resp.read()
        events: list[dict[str, Any]] = []
        while True:
            line = resp.readline()
            if not line:
                raise AssertionError(f"the watch ended before the marker; {len(events)} events")
            if not line.strip():
                continue
            ev = json.loads(line)
            assert ev["type"] in ("ADDED", "MODIFIED", "DELETED"), ev
            if ev["object"]["metadata"]["name"] == MARKER:
                return events
            events.append(ev)
    finally:
        conn.close()


# -- the test ---------------------------------------------------------------------------------------------
def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    seed = int(os.environ.get("FERRY_CRASH_SEED") or random.SystemRandom().randrange(2**32))
    rng = random.Random(seed)
    t_begin = time.monotonic()
    server = Server(tmp_path / "cluster", free_port(), tmp_path / "server.log")
    print(f"\ncrash test: seed {seed} (FERRY_CRASH_SEED), port {server.port}, data {server.data_dir}")
    epochs = Epochs()
    threads: list[threading.Thread] = []
    lister_errors: list[BaseException] = []
    try:
        start_s = server.start()
        run = Run(epochs, server.port, (server.data_dir / "admin.token").read_text().strip(), server.ca)
        admin = run.client()
        t0 = time.monotonic()
        status, ns = admin.request("POST", "/api/v1/namespaces", {"metadata": {"name": NAMESPACE}})
        assert status == 201, ns
        ns_rv = int(ns["metadata"]["resourceVersion"])
        run.obs.append(Obs("write", ns_rv, t0, time.monotonic(), "create namespace"))
        admin.close()

        writers = [Writer(i, run, random.Random(seed * 31 + i)) for i in range(WRITERS)]
        threads = [threading.Thread(target=w.main, name=f"writer-{w.idx}", daemon=True) for w in writers]
        threads.append(threading.Thread(target=lister, args=(run, lister_errors), name="lister", daemon=True))
        for t in threads:
            t.start()

        rounds: list[dict[str, Any]] = []
        up_seconds = 0.0
        for r in range(ROUNDS):
            epoch = epochs.up()
            t_up = time.monotonic()
            delay = rng.uniform(*KILL_AFTER)
            time.sleep(delay)
            # The kill must land in a round that acknowledged something, or the round proves nothing.
            assert epochs.wait_first_ack(epoch, timeout=60), (
                f"round {r}: no write acknowledged\n{server.log_tail()}"
            )
            epochs.down()
            t_kill = time.monotonic()
            pid = server.kill9()
            up_seconds += t_kill - t_up
            # The killed process could not clean up: its lock file and state file are stale.
            assert server.pid_file.read_text().strip() == str(pid), "kill -9 left no stale cluster.pid"
            assert json.loads(server.state_file.read_text())["pid"] == pid
            if r == ROUNDS - 1:
                epochs.stop()
                for t in threads:
                    t.join(timeout=60)
                    assert not t.is_alive(), f"{t.name} did not stop"
            restart_s = server.start()  # must not be blocked by the stale lock
            max_before = max(o.rv for o in run.obs if o.t1 < t_kill)
            admin = run.client()
            t0 = time.monotonic()
            status, lst = admin.request("GET", f"{CM_PATH}?limit=1")
            assert status == 200, lst
            list_rv = int(lst["metadata"]["resourceVersion"])
            run.obs.append(Obs("list", list_rv, t0, time.monotonic(), f"LIST after restart {r + 1}"))
            t0 = time.monotonic()
            probe = {"metadata": {"name": f"probe-{r + 1}"}, "data": {"round": str(r + 1)}}
            status, made = admin.request("POST", "/api/v1/namespaces/default/configmaps", probe)
            assert status == 201, made
            probe_rv = int(made["metadata"]["resourceVersion"])
            run.obs.append(Obs("write", probe_rv, t0, time.monotonic(), f"probe after restart {r + 1}"))
            admin.close()
            this_round = Counter((a.outcome, a.op) for w in writers for a in w.attempts if a.epoch == epoch)
            acks = {op: n for (outcome, op), n in this_round.items() if outcome == "ack"}
            cut = sum(n for (outcome, _), n in this_round.items() if outcome == "uncertain")
            rounds.append(
                {
                    "round": r + 1,
                    "kill_after_s": round(t_kill - t_up, 2),
                    "acked": acks,
                    "writes_cut_by_kill": cut,
                    "restart_s": round(restart_s, 2),
                    "max_rv_before_kill": max_before,
                    "list_rv_after_restart": list_rv,
                    "probe_rv": probe_rv,
                }
            )
            # Collected, not asserted here, so that a failure also shows what the other checks found.
            if list_rv < max_before:
                run.problems.append(
                    f"restart {r + 1}: list rv {list_rv} < rv {max_before} seen before the kill"
                )
            if probe_rv <= max_before:
                run.problems.append(
                    f"restart {r + 1}: new write rv {probe_rv} <= rv {max_before} before the kill"
                )

        for w in writers:
            assert w.error is None, f"writer {w.idx} crashed: {w.error!r}"
        assert not lister_errors, lister_errors

        # -- after the last restart: the objects ---------------------------------------------------------
        admin = run.client()
        status, lst = admin.request("GET", CM_PATH)
        assert status == 200, lst
        final_rv = int(lst["metadata"]["resourceVersion"])
        listed = {item["metadata"]["name"]: State.of(item) for item in lst["items"]}
        problems = list(run.problems)
        ours = {n for w in writers for n in w.names}
        problems += [f"unexpected object {n}" for n in sorted(set(listed) - ours)]
        for w in writers:
            for name in w.names:
                problem = check_name(name, w.known[name], w.pending.get(name), listed.get(name, ABSENT))
                if problem:
                    problems.append(f"after the last restart: {problem}")
        for rd in rounds:
            status, got = admin.request("GET", f"/api/v1/namespaces/default/configmaps/probe-{rd['round']}")
            if status != 200 or int(got["metadata"]["resourceVersion"]) != rd["probe_rv"]:
                problems.append(f"probe-{rd['round']} (acknowledged at rv {rd['probe_rv']}): {status} {got}")

        # -- the history: every acknowledged write at its revision, nothing we did not send -----------
        status, made = admin.request("POST", CM_PATH, {"metadata": {"name": MARKER}})
        assert status == 201, made
        events = watch_history(admin, ns_rv)
        admin.close()
        attempts = [a for w in writers for a in w.attempts]
        acked = {a.rv: a for a in attempts if a.outcome == "ack"}
        maybe: dict[tuple[str, str, str], list[Attempt]] = {}
        for a in attempts:
            if a.outcome == "uncertain":
                key = (a.name, "DELETED", a.base.seq) if a.op == "delete" else (a.name, a.op, a.seq)
                maybe.setdefault(key, []).append(a)
        kinds = {"create": "ADDED", "update": "MODIFIED", "delete": "DELETED"}
        replay: dict[str, State] = {}
        committed_unacked: list[Attempt] = []
        last_rv = ns_rv
        for ev in events:
            seen = State.of(ev["object"])
            name = ev["object"]["metadata"]["name"]
            if seen.rv <= last_rv:
                problems.append(f"history goes backwards: {ev['type']} {name} rv {seen.rv} after {last_rv}")
            last_rv = seen.rv
            replay[name] = ABSENT if ev["type"] == "DELETED" else seen
            hit = acked.pop(seen.rv) if seen.rv in acked else None
            if hit is not None:
                want_seq = hit.base.seq if hit.op == "delete" else hit.seq
                if (hit.name, kinds[hit.op], want_seq) != (name, ev["type"], seen.seq):
                    problems.append(
                        f"rv {seen.rv}: acknowledged {hit.op} {hit.name} seq {want_seq}, "
                        f"history has {ev['type']} {name} seq {seen.seq}"
                    )
                continue
            op = {"ADDED": "create", "MODIFIED": "update"}.get(ev["type"], "DELETED")
            candidates = maybe.get((name, op, seen.seq))
            if not candidates:
                problems.append(f"rv {seen.rv}: {ev['type']} {name} seq {seen.seq} matches no write we sent")
            else:
                committed_unacked.append(candidates.pop(0))
        problems += [
            f"acknowledged {a.op} {a.name} at rv {rv} is missing from the history" for rv, a in acked.items()
        ]
        for name in sorted(ours):
            if replay.get(name, ABSENT) != listed.get(name, ABSENT):
                problems.append(
                    f"{name}: history replays to {replay.get(name, ABSENT)}, list has {listed.get(name)}"
                )

        order = revision_order_violations(run.obs)

        # -- a clean stop at the end -------------------------------------------------------------------
        code = server.terminate()

        outcomes = Counter(a.outcome for a in attempts)
        ack_ops = Counter(a.op for a in attempts if a.outcome == "ack")
        print(f"rounds: {json.dumps(rounds)}")
        print(
            f"attempts {len(attempts)}: {dict(outcomes)}; acknowledged {dict(ack_ops)} "
            f"= {sum(ack_ops.values()) / max(up_seconds, 1e-9):.0f}/s over {up_seconds:.1f} s of serving; "
            f"uncertain writes found committed {len(committed_unacked)}, not committed {sum(map(len, maybe.values()))}; "
            f"re-reads after restarts {sum(w.resyncs for w in writers)}; lists {sum(o.kind == 'list' for o in run.obs)}"
        )
        print(
            f"first start {start_s:.2f} s; final revision {final_rv}; history events {len(events)}; "
            f"objects at the end {len(listed)}; clean stop exit {code}; total {time.monotonic() - t_begin:.1f} s"
        )
        assert not problems, "\n".join(problems[:50])
        assert not order, "revisions went backwards:\n" + "\n".join(order[:50])
        assert not run.spurious_errors, "\n".join(run.spurious_errors[:20])
        assert code == 0, f"SIGTERM stop exited {code}:\n{server.log_tail()}"
    finally:
        epochs.stop()
        server.ensure_stopped()
        for t in threads:
            t.join(timeout=30)
        with contextlib.suppress(Exception):
            print(f"server log tail:\n{server.log_tail(8)}")


def test_stale_state_of_a_killed_cluster_whose_pid_was_reused(tmp_path: Path) -> None:
    """After ``kill -9`` the dead server's ``cluster.json``/``cluster.pid`` stay behind, naming its pid.

    Pids get reused (after a reboot, or on a busy machine), so the pid in those files may belong to an
    unrelated process. The data dir's ``flock`` says whether a cluster runs, and it is free: ``up`` must
    start, ``status`` must say "not running", and ``down`` must not signal the unrelated process. The
    reuse is simulated: the stale files are rewritten to name a ``sleep`` child we own.
    """
    server = Server(tmp_path / "cluster", free_port(), tmp_path / "server.log")
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    problems: list[str] = []

    def plant_reused_pid() -> None:
        state = json.loads(server.state_file.read_text())
        state["pid"] = bystander.pid
        server.state_file.write_text(json.dumps(state))
        server.pid_file.write_text(f"{bystander.pid}\n")

    try:
        server.start()
        server.kill9()
        plant_reused_pid()
        try:
            server.start()
        except AssertionError as exc:
            problems.append(f"`ferry cluster up` refused to start: {str(exc).splitlines()[-1]}")
        else:
            server.kill9()
            plant_reused_pid()
        status = ferry("cluster", "status", "--data-dir", str(server.data_dir), check=False)
        if status.returncode != 3:
            problems.append(f"`ferry cluster status` exited {status.returncode}: {status.stdout.strip()!r}")
        down = ferry("cluster", "down", "--data-dir", str(server.data_dir), "--timeout", "3", check=False)
        with contextlib.suppress(subprocess.TimeoutExpired):
            bystander.wait(timeout=1)
        if bystander.returncode is not None:
            problems.append(
                f"`ferry cluster down` signalled the unrelated pid {bystander.pid} (it exited "
                f"{bystander.returncode}); down said {(down.stdout + down.stderr).strip()!r}"
            )
        assert not problems, "\n".join(problems)
    finally:
        server.ensure_stopped()
        if bystander.poll() is None:
            bystander.kill()
        bystander.wait(timeout=30)
