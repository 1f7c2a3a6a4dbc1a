"""Crash safety of the controllers: a rolling update survives ``kill -9`` of the control plane, ten times.

Two clusters run in the FOREGROUND as children of the test (``python -m ferry cluster up --data-dir D
--listen 127.0.0.1:P``, sim kubelet, one node; ``Server`` of ``test_crash.py``), each on a port picked up
front. Both get the same Deployment ``web`` in namespace ``rollout``: 6 replicas, RollingUpdate maxSurge 2 /
maxUnavailable 1, pods ready ``READY_AFTER_MS`` after their container starts (``sim.ferry.dev/ready-after-ms``
in the template). Once both are available, the image changes in both. The **reference** cluster is left
alone. The **crashed** one gets SIGKILL 0.2-1.5 s after it serves, ten times, and is restarted each time on
the same data dir and port. Then both rollouts must complete: observedGeneration == generation, updated ==
available == replicas == 6, Progressing with reason NewReplicaSetAvailable.

Why pods take 10 s to become ready, not a few hundred ms: this rollout is two waves of readiness
(6 old → 5 old + 3 new → 2 old + 6 new → 6 new). With 300 ms it is over in about 2 s, before the second of
the ten kills (each round is 0.2-1.5 s of uptime plus about 1 s of restart). With 10 s the rollout lasts
about 22 s, longer than the ten rounds, so every kill lands mid-rollout (the test checks that at least
half did). Readiness is timed from the container's ``startedAt``, so it keeps running while the cluster is
down, and the crashed rollout takes barely longer than the reference.

An **observer** (one thread per resource: pods and ReplicaSets of the namespace) lists and watches the
crashed cluster over HTTPS with the admin token and the cluster's CA. After every crash it resumes from the
last resourceVersion it saw; on 410 it relists. So after each pod event its cache is the namespace's pods at
that revision. It records the largest number of non-terminating pods of the Deployment at any revision, and
the smallest number of ready ones once the first rollout was complete.

What is checked:

* the end state equals the reference's: the Deployment's status, conditions (type, status, reason, message)
  and revision 2; exactly two ReplicaSets with the same names (the pod-template-hash), annotations
  (revisions 1 and 2, desired/max-replicas), owner and status, the old one at 0 and the new one at 6 with
  the new image; 6 Running, ready, never-restarted pods, all controlled by the new ReplicaSet;
* no pod template ever had two ReplicaSets (by uid, so a ReplicaSet deleted and made again counts), and
  only two ReplicaSets ever existed;
* never more than replicas + maxSurge = 8 non-terminating pods, and never fewer than replicas -
  maxUnavailable = 5 ready ones, at any revision the observer saw.

``FERRY_CRASH_SEED`` replays the kill times of an earlier run (the seed is printed).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_crash import NetError, Server, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPLICAS, MAX_SURGE, MAX_UNAVAILABLE = 6, 2, 1
READY_AFTER_MS = 10_000  # see the module docstring
KILLS = 10
KILL_AFTER = (0.2, 1.5)
OLD_IMAGE, NEW_IMAGE = "registry.local/web:1.0", "registry.local/web:2.0"
NAME = "web"
NAMESPACE = "rollout"
REQUEST_TIMEOUT = 10.0
WATCH_READ_TIMEOUT = 2.0  # a watch idle this long is reopened from its resourceVersion
ROLLOUT_TIMEOUT = 60.0
REVISION = "deployment.kubernetes.io/revision"


# -- HTTPS -------------------------------------------------------------------------------------------------
class Api:
    """One keep-alive HTTPS connection with the admin token; reconnects after any failure."""

    def __init__(self, port: int, token: str, ca: Path, timeout: float = REQUEST_TIMEOUT) -> None:
        self.port, self.token, self.timeout = port, token, timeout
        self.ctx = ssl.create_default_context(cafile=str(ca))
        self.conn: http.client.HTTPSConnection | None = None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(
        self, method: str, path: str, body: Any = None, content_type: str = "application/json"
    ) -> tuple[int, Any]:
        """(status, parsed JSON). Raises OSError/HTTPException when the server is unreachable."""
        if self.conn is None:
            self.conn = http.client.HTTPSConnection(
                "127.0.0.1", self.port, context=self.ctx, timeout=self.timeout
            )
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = content_type
        try:
            self.conn.request(method, path, body=data, headers=headers)
            resp = self.conn.getresponse()
            raw = resp.read()
        except BaseException:
            self.close()
            raise
        return resp.status, (json.loads(raw) if raw else None)

    def must(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> Any:
        status, got = self.request(method, path, body, content_type)
        assert 200 <= status < 300, f"{method} {path} -> {status}: {got}"
        return got

    def open_watch(self, path: str, rv: str) -> tuple[http.client.HTTPSConnection, http.client.HTTPResponse]:
        """A watch of ``path`` from ``rv`` on a connection of its own (the caller closes it)."""
        conn = http.client.HTTPSConnection(
            "127.0.0.1", self.port, context=self.ctx, timeout=WATCH_READ_TIMEOUT
        )
        try:
            conn.request(
                "GET",
                f"{path}?watch=true&allowWatchBookmarks=true&resourceVersion={rv}",
                headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
            )
            return conn, conn.getresponse()
        except BaseException:
            conn.close()
            raise


# -- the observer ------------------------------------------------------------------------------------------
def is_terminating(obj: dict[str, Any]) -> bool:
    return bool(obj["metadata"].get("deletionTimestamp"))


def template_key(rs: dict[str, Any]) -> str:
    """A ReplicaSet's pod template without the pod-template-hash label: what "one template" means."""
    template = json.loads(json.dumps(rs["spec"]["template"]))
    (template.get("metadata") or {}).get("labels", {}).pop("pod-template-hash", None)
    return json.dumps(template, sort_keys=True)


@dataclass
class Observer:
    """Pods and ReplicaSets of one namespace as list+watch shows them, revision by revision."""

    port: int
    token: str
    ca: Path
    namespace: str
    selector: dict[str, str]
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    pods: dict[str, dict[str, Any]] = field(default_factory=dict)  # uid -> latest
    replica_sets: dict[str, dict[str, Any]] = field(default_factory=dict)  # uid -> latest
    all_rs: dict[str, dict[str, Any]] = field(default_factory=dict)  # uid -> latest, deleted ones too
    rs_by_template: dict[str, set[str]] = field(default_factory=dict)
    max_active: int = 0
    max_active_at: tuple[str, list[str]] = ("", [])  # (resourceVersion, pod names) of the first maximum
    min_ready: int | None = None  # ready non-terminating pods, once REPLICAS were ready
    min_ready_at: str = ""
    max_total: int = 0  # terminating pods included
    pod_events: int = 0
    rs_events: int = 0
    relists: int = 0
    watches: int = 0
    problems: list[str] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    def start(self) -> None:
        for resource, path in (
            ("pods", f"/api/v1/namespaces/{self.namespace}/pods"),
            ("replicasets", f"/apis/apps/v1/namespaces/{self.namespace}/replicasets"),
        ):
            t = threading.Thread(
                target=self._main, args=(resource, path), name=f"observe-{resource}", daemon=True
            )
            t.start()
            self.threads.append(t)

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)
            if t.is_alive():
                self.problems.append(f"{t.name} did not stop")

    # -- feeding ----------------------------------------------------------------------------------------
    def _main(self, resource: str, path: str) -> None:
        try:
            self._loop(resource, path)
        except BaseException as exc:  # surfaced by the test
            self.errors.append(exc)

    def _loop(self, resource: str, path: str) -> None:
        api = Api(self.port, self.token, self.ca)
        rv: str | None = None
        while not self.stop.is_set():
            conn: http.client.HTTPSConnection | None = None
            try:
                if rv is None:
                    status, body = api.request("GET", path)
                    if status != 200:
                        self.problems.append(f"LIST {path} -> {status}: {body}")
                        time.sleep(0.2)
                        continue
                    self._reset(resource, body["items"])
                    rv = body["metadata"]["resourceVersion"]
                conn, resp = api.open_watch(path, rv)
                if resp.status == 410:
                    rv = None
                    continue
                if resp.status == 200:
                    with self.lock:
                        self.watches += 1
                else:
                    self.problems.append(f"WATCH {path} from {rv} -> {resp.status}: {resp.read()[:300]!r}")
                    time.sleep(0.2)
                    continue
                while not self.stop.is_set():
                    line = resp.readline()
                    if not line.endswith(b"\n"):
                        break  # the stream ended, or was cut mid-event by a kill: resume from rv
                    event = json.loads(line)
                    obj = event["object"]
                    if event["type"] == "ERROR":
                        if obj.get("code") == 410:
                            rv = None
                        else:
                            self.problems.append(f"WATCH {path}: ERROR event {obj}")
                        break
                    rv = obj["metadata"]["resourceVersion"]
                    if event["type"] != "BOOKMARK":
                        self._apply(resource, event["type"], obj)
            except NetError:
                time.sleep(0.05)  # the server is down or restarting
            finally:
                if conn is not None:
                    conn.close()
                api.close()

    def _reset(self, resource: str, items: list[dict[str, Any]]) -> None:
        with self.lock:
            self.relists += 1
            if resource == "pods":
                self.pods = {p["metadata"]["uid"]: p for p in items}
                self._count_pods("list")
            else:
                self.replica_sets = {}
                for rs in items:
                    self._put_rs(rs)

    def _apply(self, resource: str, kind: str, obj: dict[str, Any]) -> None:
        uid = obj["metadata"]["uid"]
        with self.lock:
            if resource == "pods":
                self.pod_events += 1
                if kind == "DELETED":
                    self.pods.pop(uid, None)
                else:
                    self.pods[uid] = obj
                self._count_pods(obj["metadata"]["resourceVersion"])
            else:
                self.rs_events += 1
                if kind == "DELETED":
                    self.replica_sets.pop(uid, None)
                    self.all_rs[uid] = obj
                else:
                    self._put_rs(obj)

    def _put_rs(self, rs: dict[str, Any]) -> None:
        uid = rs["metadata"]["uid"]
        self.replica_sets[uid] = rs
        self.all_rs[uid] = rs
        self.rs_by_template.setdefault(template_key(rs), set()).add(uid)

    def _count_pods(self, rv: str) -> None:
        ours = [
            p
            for p in self.pods.values()
            if all((p["metadata"].get("labels") or {}).get(k) == v for k, v in self.selector.items())
        ]
        active = [p for p in ours if not is_terminating(p)]
        self.max_total = max(self.max_total, len(ours))
        if len(active) > self.max_active:
            self.max_active = len(active)
            self.max_active_at = (rv, sorted(p["metadata"]["name"] for p in active))
        ready = sum(1 for p in active if pod_ready(p))
        if (self.min_ready is not None and ready < self.min_ready) or (
            self.min_ready is None and ready >= REPLICAS
        ):
            self.min_ready, self.min_ready_at = ready, rv

    # -- reading ----------------------------------------------------------------------------------------
    def rolling(self) -> bool:
        """Whether the ReplicaSets the observer sees show a rollout in progress."""
        with self.lock:
            sets = list(self.replica_sets.values())
        if len(sets) < 2:
            return True
        newest = max(sets, key=lambda rs: int(rs["metadata"].get("annotations", {}).get(REVISION, "0")))
        old_left = any(
            rs["spec"].get("replicas") or (rs.get("status") or {}).get("replicas")
            for rs in sets
            if rs is not newest
        )
        return bool(old_left) or (newest.get("status") or {}).get("availableReplicas", 0) < REPLICAS


def pod_ready(pod: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


# -- the Deployment ----------------------------------------------------------------------------------------
def deployment(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": NAME, "namespace": namespace, "labels": {"app": NAME}},
        "spec": {
            "replicas": REPLICAS,
            "selector": {"matchLabels": {"app": NAME}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": MAX_SURGE, "maxUnavailable": MAX_UNAVAILABLE},
            },
            "template": {
                "metadata": {
                    "labels": {"app": NAME},
                    "annotations": {"sim.ferry.dev/ready-after-ms": str(READY_AFTER_MS)},
                },
                "spec": {"containers": [{"name": NAME, "image": OLD_IMAGE}]},
            },
        },
    }


def create_deployment(api: Api, namespace: str) -> None:
    api.must(
        "POST",
        "/api/v1/namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
    )
    api.must("POST", f"/apis/apps/v1/namespaces/{namespace}/deployments", deployment(namespace))


def set_image(api: Api, namespace: str, image: str) -> None:
    """What ``kubectl set image`` sends: a strategic merge patch of the container's image."""
    patch = {"spec": {"template": {"spec": {"containers": [{"name": NAME, "image": image}]}}}}
    api.must(
        "PATCH",
        f"/apis/apps/v1/namespaces/{namespace}/deployments/{NAME}",
        patch,
        "application/strategic-merge-patch+json",
    )


def rollout_complete(dep: dict[str, Any]) -> bool:
    st = dep.get("status") or {}
    progressing = next((c for c in st.get("conditions") or [] if c.get("type") == "Progressing"), {})
    return (
        st.get("observedGeneration") == dep["metadata"]["generation"]
        and st.get("updatedReplicas") == st.get("availableReplicas") == st.get("replicas") == REPLICAS
        and progressing.get("reason") == "NewReplicaSetAvailable"
    )


def wait_rollout(api: Api, namespace: str, timeout: float = ROLLOUT_TIMEOUT) -> dict[str, Any]:
    """Poll the Deployment until its rollout is complete (kubectl rollout status' test, plus replicas)."""
    deadline = time.monotonic() + timeout
    dep: dict[str, Any] = {}
    while time.monotonic() < deadline:
        dep = api.must("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/{NAME}")
        if rollout_complete(dep):
            return dep
        time.sleep(0.05)
    raise AssertionError(
        f"the rollout in {namespace} did not complete in {timeout:.0f} s: {dep.get('status')}"
    )


def end_state(api: Api, namespace: str, timeout: float = 20.0) -> dict[str, Any]:
    """The namespace's Deployment, ReplicaSets and pods, without what differs between two equal runs (uids,
    pod names, timestamps, generations), once the old pods are gone."""
    deadline = time.monotonic() + timeout
    while True:
        pods = api.must("GET", f"/api/v1/namespaces/{namespace}/pods")["items"]
        if (len(pods) == REPLICAS and not any(map(is_terminating, pods))) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    dep = api.must("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/{NAME}")
    sets = api.must("GET", f"/apis/apps/v1/namespaces/{namespace}/replicasets")["items"]
    st = dep["status"]

    def rs_view(rs: dict[str, Any]) -> dict[str, Any]:
        md = rs["metadata"]
        owner = [(o["kind"], o["name"], o.get("controller")) for o in md.get("ownerReferences") or []]
        return {
            "annotations": md.get("annotations") or {},
            "owner": owner,
            "spec.replicas": rs["spec"]["replicas"],
            "image": rs["spec"]["template"]["spec"]["containers"][0]["image"],
            "status": {k: v for k, v in rs["status"].items() if k != "observedGeneration"},
            "observedGeneration == generation": rs["status"].get("observedGeneration") == md["generation"],
        }

    def pod_view(pod: dict[str, Any]) -> tuple[Any, ...]:
        owners = [o["name"] for o in pod["metadata"].get("ownerReferences") or [] if o.get("controller")]
        statuses = (pod.get("status") or {}).get("containerStatuses") or [{}]
        return (
            tuple(owners),
            pod["spec"]["containers"][0]["image"],
            pod["status"].get("phase"),
            pod_ready(pod),
            statuses[0].get("restartCount"),
            is_terminating(pod),
        )

    return {
        "deployment": {
            "revision": (dep["metadata"].get("annotations") or {}).get(REVISION),
            "observedGeneration == generation": st.get("observedGeneration") == dep["metadata"]["generation"],
            "status": {k: v for k, v in st.items() if k not in ("conditions", "observedGeneration")},
            "conditions": [
                (c["type"], c["status"], c.get("reason"), c.get("message")) for c in st["conditions"]
            ],
        },
        "replicasets": {rs["metadata"]["name"]: rs_view(rs) for rs in sets},
        "pods": sorted(pod_view(p) for p in pods),
    }


# -- the test ----------------------------------------------------------------------------------------------
def test_rolling_update_survives_kill_9_of_the_control_plane(tmp_path: Path) -> None:
    seed = int(os.environ.get("FERRY_CRASH_SEED") or random.SystemRandom().randrange(2**32))
    rng = random.Random(seed)
    t_begin = time.monotonic()
    server = Server(tmp_path / "cluster", free_port(), tmp_path / "server.log")
    ref = Server(tmp_path / "reference", free_port(), tmp_path / "reference.log")
    print(
        f"\ncontroller crash test: seed {seed} (FERRY_CRASH_SEED), port {server.port}, data {server.data_dir}"
    )
    observer: Observer | None = None
    try:
        server.start()
        ref.start()
        token = (server.data_dir / "admin.token").read_text().strip()
        api = Api(server.port, token, server.ca)
        ref_api = Api(ref.port, (ref.data_dir / "admin.token").read_text().strip(), ref.ca)
        observer = Observer(server.port, token, server.ca, NAMESPACE, {"app": NAME})
        observer.start()

        t0 = time.monotonic()
        create_deployment(api, NAMESPACE)
        create_deployment(ref_api, NAMESPACE)
        wait_rollout(api, NAMESPACE)
        wait_rollout(ref_api, NAMESPACE)
        print(f"available {time.monotonic() - t0:.1f} s after the create")

        # The same rollout in both clusters; the reference cluster is left alone, this one is killed.
        set_image(ref_api, NAMESPACE, NEW_IMAGE)
        set_image(api, NAMESPACE, NEW_IMAGE)
        api.close()
        t_roll = t_up = time.monotonic()
        rounds: list[str] = []
        mid_rollout = 0
        for k in range(KILLS):
            time.sleep(rng.uniform(*KILL_AFTER))
            rolling = observer.rolling()
            mid_rollout += rolling
            up_for = time.monotonic() - t_up
            server.kill9()
            restart_s = server.start()
            t_up = time.monotonic()
            rounds.append(
                f"{k + 1}: {up_for:.2f} s{'' if rolling else ' (rollout done)'}, restart {restart_s:.1f} s"
            )
        print(f"kills (uptime before each kill, restart time): {'; '.join(rounds)}")

        reference_done = wait_rollout(ref_api, NAMESPACE)
        print(
            f"uninterrupted rollout complete {time.monotonic() - t_roll:.1f} s after the image change (or earlier)"
        )
        final = wait_rollout(api, NAMESPACE)
        print(f"crashed rollout complete {time.monotonic() - t_roll:.1f} s after the image change")
        reference = end_state(ref_api, NAMESPACE)
        got = end_state(api, NAMESPACE)
        api.close()
        ref_api.close()
        observer.close()

        # -- checks ---------------------------------------------------------------------------------------
        assert not observer.errors, f"the observer failed: {observer.errors!r}"
        assert not observer.problems, observer.problems
        print(
            f"observer: {observer.pod_events} pod and {observer.rs_events} ReplicaSet events, "
            f"{observer.watches} watches, {observer.relists} lists; at most {observer.max_active} "
            f"non-terminating pods ({observer.max_total} with terminating ones); at least "
            f"{observer.min_ready} ready once the first rollout was complete"
        )
        assert mid_rollout >= KILLS // 2, (
            f"only {mid_rollout} of {KILLS} kills came before the rollout completed: the test misses its point"
        )
        assert reference_done["metadata"]["annotations"][REVISION] == "2"
        assert final["metadata"]["annotations"][REVISION] == "2"
        sets = got["replicasets"]
        assert len(sets) == 2, f"expected the old and the new ReplicaSet, got {sorted(sets)}"
        by_revision = {rs["annotations"].get(REVISION): (name, rs) for name, rs in sets.items()}
        assert sorted(by_revision) == ["1", "2"], {n: rs["annotations"] for n, rs in sets.items()}
        _, old = by_revision["1"]
        new_name, new = by_revision["2"]
        assert (old["image"], old["spec.replicas"], old["status"].get("replicas")) == (OLD_IMAGE, 0, 0), old
        assert (new["image"], new["spec.replicas"], new["status"].get("availableReplicas")) == (
            NEW_IMAGE,
            REPLICAS,
            REPLICAS,
        ), new
        assert got["pods"] == [((new_name,), NEW_IMAGE, "Running", True, 0, False)] * REPLICAS, got["pods"]
        assert got == reference, (
            "the end state after ten crashes differs from the uninterrupted run's:\n"
            f"crashed:       {json.dumps(got, sort_keys=True)}\nuninterrupted: {json.dumps(reference, sort_keys=True)}"
        )

        duplicates = [
            sorted(f"{observer.all_rs[u]['metadata']['name']} (uid {u})" for u in uids)
            for uids in observer.rs_by_template.values()
            if len(uids) > 1
        ]
        assert not duplicates, f"one pod template, several ReplicaSets: {duplicates}"
        assert len(observer.all_rs) == 2, sorted(rs["metadata"]["name"] for rs in observer.all_rs.values())
        rv, names = observer.max_active_at
        assert observer.max_active <= REPLICAS + MAX_SURGE, (
            f"{observer.max_active} non-terminating pods at resourceVersion {rv}, more than "
            f"replicas + maxSurge = {REPLICAS + MAX_SURGE}: {names}"
        )
        assert observer.min_ready is not None and observer.min_ready >= REPLICAS - MAX_UNAVAILABLE, (
            f"only {observer.min_ready} ready pods at resourceVersion {observer.min_ready_at}, fewer than "
            f"replicas - maxUnavailable = {REPLICAS - MAX_UNAVAILABLE}"
        )
        print(f"total {time.monotonic() - t_begin:.1f} s")
    finally:
        if observer is not None:
            observer.stop.set()
        for srv in (server, ref):
            with contextlib.suppress(Exception):
                srv.ensure_stopped()
        if observer is not None:
            for t in observer.threads:
                t.join(timeout=10)
