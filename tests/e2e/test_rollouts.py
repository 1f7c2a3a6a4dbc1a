"""Rollouts as a user drives them: the real /usr/bin/kubectl against ``ferry cluster up --runtime sim --nodes 3``.

What kubectl prints and exits with is the contract (k8s-semantics.md §1-§2, §4 for the STATUS column);
the ReplicaSets and pods behind it are checked through ``kubectl get -o json``. The rolling update is
also watched from the side: :class:`RolloutWatcher` streams every pod and ReplicaSet event of the
namespace over HTTPS (admin token, the cluster's CA) and checks the maxSurge/maxUnavailable bounds
after each one, so a bound broken for a single event between two kubectl polls is still caught.

Each test works in a namespace of its own on one session-wide cluster; everything waits by polling
with a deadline.
"""

from __future__ import annotations

import contextlib
import copy
import http.client
import json
import re
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
import yaml

from tests.e2e.conftest_sim import SimCluster

pytestmark = pytest.mark.e2e

T = TypeVar("T")
Obj = dict[str, Any]

REVISION = "deployment.kubernetes.io/revision"
HISTORY = "deployment.kubernetes.io/revision-history"
CHANGE_CAUSE = "kubernetes.io/change-cause"
SLOW_READY = "sim.ferry.dev/ready-after-ms"

# --- manifests -------------------------------------------------------------------------------------------


def demo_api(
    version: str = "1.0.0",
    *,
    replicas: int = 4,
    cause: str | None = None,
    strategy: Obj | None = None,
    progress_deadline: int | None = None,
    template_annotations: dict[str, str] | None = None,
) -> str:
    """SCENARIOS.md story 1's Deployment (replicas raised to 4 by default, for waves worth watching)."""
    meta: Obj = {"name": "demo-api"}
    if cause is not None:
        meta["annotations"] = {CHANGE_CAUSE: cause}
    tmeta: Obj = {"labels": {"app": "demo-api"}}
    if template_annotations:
        tmeta["annotations"] = template_annotations
    spec: Obj = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": "demo-api"}},
        "template": {
            "metadata": tmeta,
            "spec": {
                "containers": [
                    {
                        "name": "demo-api",
                        "image": f"myrepo/demo-api:{version}",
                        "ports": [{"containerPort": 3000}],
                    }
                ]
            },
        },
    }
    if strategy is not None:
        spec["strategy"] = strategy
    if progress_deadline is not None:
        spec["progressDeadlineSeconds"] = progress_deadline
    return json.dumps({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec})


def pod(name: str, image: str = "busybox:1.36", **spec: Any) -> Obj:
    annotations = spec.pop("annotations", None)
    meta: Obj = {"name": name}
    if annotations:
        meta["annotations"] = annotations
    container: Obj = {"name": "c", "image": image}
    if "resources" in spec:
        container["resources"] = spec.pop("resources")
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": {"containers": [container], **spec}}


# --- helpers ---------------------------------------------------------------------------------------------


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 20.0, every: float = 0.1) -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` (and the last value) after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


def get_json(kube: SimCluster, *args: str) -> Obj:
    return json.loads(kube.run("get", *args, "-o", "json").stdout)  # type: ignore[no-any-return]


def replicasets(kube: SimCluster) -> list[Obj]:
    items: list[Obj] = get_json(kube, "rs", "-l", "app=demo-api")["items"]
    return sorted(items, key=lambda rs: rs["metadata"]["name"])


def pods(kube: SimCluster, selector: str = "app=demo-api") -> list[Obj]:
    items: list[Obj] = get_json(kube, "pods", "-l", selector)["items"]
    return items


def ann(obj: Obj, key: str) -> str | None:
    value = (obj["metadata"].get("annotations") or {}).get(key)
    return None if value is None else str(value)


def sizes(kube: SimCluster) -> dict[str, int]:
    return {rs["metadata"]["name"]: rs["spec"]["replicas"] for rs in replicasets(kube)}


def rollout_status(kube: SimCluster, timeout: str = "45s", check: bool = True) -> str:
    proc = kube.run(
        "rollout", "status", "deployment/demo-api", f"--timeout={timeout}", check=check, timeout=60
    )
    return proc.stdout + proc.stderr


def rolled_out(kube: SimCluster) -> None:
    out = rollout_status(kube)
    assert out.rstrip().splitlines()[-1] == 'deployment "demo-api" successfully rolled out', out


def history(kube: SimCluster) -> list[tuple[str, str]]:
    """``kubectl rollout history`` as (REVISION, CHANGE-CAUSE) rows, after checking its header lines."""
    out = kube.run("rollout", "history", "deployment/demo-api").stdout
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines[0].strip() == "deployment.apps/demo-api", out
    assert re.split(r"\s{2,}", lines[1].strip()) == ["REVISION", "CHANGE-CAUSE"], out
    rows = []
    for line in lines[2:]:
        revision, cause = re.split(r"\s+", line.strip(), maxsplit=1)
        rows.append((revision, cause))
    return rows


def table(kube: SimCluster, *args: str) -> dict[str, dict[str, str]]:
    """A ``kubectl get`` table as {NAME: {COLUMN: value}} (columns split on runs of 2+ spaces)."""
    out = kube.run("get", *args).stdout
    lines = out.splitlines()
    head = re.split(r"\s{2,}", lines[0].strip())
    rows = {}
    for line in lines[1:]:
        cells = re.split(r"\s{2,}", line.strip())
        rows[cells[0]] = dict(zip(head, cells, strict=True))
    return rows


# --- the watcher -----------------------------------------------------------------------------------------


class RolloutWatcher:
    """Every pod and ReplicaSet event of one namespace (``labelSelector``), streamed by two raw HTTPS
    watches; after each event the rolling-update bounds of k8s-semantics.md §1.5 are checked on the state
    the event leaves:

    * pods: non-terminating (no deletionTimestamp, phase not Succeeded/Failed) ≤ replicas + maxSurge, and
      the Ready ones among them ≥ replicas - maxUnavailable;
    * ReplicaSets: Σ spec.replicas ≤ replicas + maxSurge, and Σ status.availableReplicas ≥ replicas -
      maxUnavailable.

    Each stream is in resourceVersion order, which is the order the controllers acted in, so the bounds
    hold at every event of a correct controller, not only on average."""

    def __init__(
        self, cluster: SimCluster, selector: str, *, replicas: int, max_surge: int, max_unavailable: int
    ) -> None:
        self.cluster = cluster
        self.selector = selector
        self.max_live = replicas + max_surge
        self.min_ready = replicas - max_unavailable
        self.lock = threading.Lock()
        self.pods: dict[str, Obj] = {}
        self.rss: dict[str, Obj] = {}
        self.violations: list[str] = []
        self.errors: list[str] = []
        self.pod_events = self.rs_events = 0
        self.peak_live = 0
        self.low_ready: int | None = None
        self.waves: list[tuple[int, int]] = []  # (live, ready) after each pod event that changed them
        self._stopping = threading.Event()
        self._conns: list[http.client.HTTPSConnection] = []
        self._threads: list[threading.Thread] = []
        self._ctx = ssl.create_default_context(cafile=str(cluster.ca))

    # -- HTTP
    def _conn(self, timeout: float | None) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(
            self.cluster.host, self.cluster.port, context=self._ctx, timeout=timeout
        )

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.cluster.token}", "Accept": "application/json"}

    def _path(self, resource: str) -> str:
        ns = self.cluster.namespace
        base = (
            f"/api/v1/namespaces/{ns}/pods"
            if resource == "pods"
            else f"/apis/apps/v1/namespaces/{ns}/replicasets"
        )
        return f"{base}?labelSelector={urllib.parse.quote(self.selector)}"

    def _list(self, resource: str) -> tuple[list[Obj], str]:
        conn = self._conn(10)
        try:
            conn.request("GET", self._path(resource), headers=self._headers())
            resp = conn.getresponse()
            body = resp.read()
            assert resp.status == 200, body
            data = json.loads(body)
            return data["items"], data["metadata"]["resourceVersion"]
        finally:
            conn.close()

    def start(self) -> RolloutWatcher:
        pod_items, pod_rv = self._list("pods")
        rs_items, rs_rv = self._list("replicasets")
        with self.lock:
            self.pods = {p["metadata"]["uid"]: p for p in pod_items}
            self.rss = {r["metadata"]["uid"]: r for r in rs_items}
            self._check_pods("initial list")
            self._check_rss("initial list")
        for resource, rv in (("pods", pod_rv), ("replicasets", rs_rv)):
            conn = self._conn(None)  # blocks until an event or until stop() shuts the socket
            self._conns.append(conn)
            conn.request(
                "GET",
                f"{self._path(resource)}&watch=true&resourceVersion={rv}&timeoutSeconds=300",
                headers=self._headers(),
            )
            resp = conn.getresponse()
            assert resp.status == 200, resp.read()
            t = threading.Thread(
                target=self._stream, args=(resource, resp), daemon=True, name=f"watch-{resource}"
            )
            t.start()
            self._threads.append(t)
        return self

    def _stream(self, resource: str, resp: http.client.HTTPResponse) -> None:
        try:
            while not self._stopping.is_set():
                line = resp.readline()
                if not line:
                    if not self._stopping.is_set():
                        self.errors.append(f"{resource} watch ended early")
                    return
                if line.strip():
                    self._on_event(resource, json.loads(line))
        except Exception as err:  # a broken stream, or the socket shut by stop()
            if not self._stopping.is_set():
                self.errors.append(f"{resource} watch failed: {err!r}")

    def stop(self) -> None:
        self._stopping.set()
        for conn in self._conns:  # unblocks the readers' readline; close only once they are out of it
            if conn.sock is not None:
                with contextlib.suppress(OSError):
                    conn.sock.shutdown(socket.SHUT_RDWR)
        for t in self._threads:
            t.join(5)
        for conn in self._conns:
            conn.close()

    # -- state and checks
    def _on_event(self, resource: str, ev: Obj) -> None:
        kind, obj = ev.get("type"), ev.get("object") or {}
        if kind not in ("ADDED", "MODIFIED", "DELETED"):
            self.errors.append(f"{resource} watch sent {kind}: {obj}")
            return
        uid = obj["metadata"]["uid"]
        what = f"{kind} {resource[:-1]} {obj['metadata']['name']} rv={obj['metadata'].get('resourceVersion')}"
        with self.lock:
            store = self.pods if resource == "pods" else self.rss
            if kind == "DELETED":
                store.pop(uid, None)
            else:
                store[uid] = obj
            if resource == "pods":
                self.pod_events += 1
                self._check_pods(what)
            else:
                self.rs_events += 1
                self._check_rss(what)

    @staticmethod
    def live(p: Obj) -> bool:
        return not p["metadata"].get("deletionTimestamp") and (p.get("status") or {}).get("phase") not in (
            "Succeeded",
            "Failed",
        )

    @staticmethod
    def ready(p: Obj) -> bool:
        conds = (p.get("status") or {}).get("conditions") or []
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)

    def _check_pods(self, what: str) -> None:
        live = [p for p in self.pods.values() if self.live(p)]
        ready = sum(1 for p in live if self.ready(p))
        self.peak_live = max(self.peak_live, len(live))
        self.low_ready = ready if self.low_ready is None else min(self.low_ready, ready)
        if not self.waves or self.waves[-1] != (len(live), ready):
            self.waves.append((len(live), ready))
        if len(live) > self.max_live:
            names = sorted(p["metadata"]["name"] for p in live)
            self.violations.append(f"after {what}: {len(live)} pods running > {self.max_live}: {names}")
        if ready < self.min_ready:
            self.violations.append(f"after {what}: only {ready} pods ready < {self.min_ready}")

    def _check_rss(self, what: str) -> None:
        spec = sum(int(r["spec"].get("replicas") or 0) for r in self.rss.values())
        available = sum(int((r.get("status") or {}).get("availableReplicas") or 0) for r in self.rss.values())
        if spec > self.max_live:
            self.violations.append(f"after {what}: ReplicaSets ask for {spec} pods > {self.max_live}")
        if available < self.min_ready:
            self.violations.append(
                f"after {what}: ReplicaSets report {available} available < {self.min_ready}"
            )

    def snapshot(self) -> tuple[list[Obj], list[Obj]]:
        with self.lock:
            return copy.deepcopy(list(self.pods.values())), copy.deepcopy(list(self.rss.values()))


# --- story 1: the demo-api Deployment and its rolling update ---------------------------------------------


def test_demo_api_rolls_out_then_set_image_replaces_pods_within_surge_and_unavailable(
    sim_kube: SimCluster,
) -> None:
    kube = sim_kube
    out = kube.run("apply", "-f", "-", input=demo_api(cause="deploy 1.0.0")).stdout
    assert out.strip() == "deployment.apps/demo-api created"
    rolled_out(kube)
    deploy = get_json(kube, "deployment", "demo-api")
    assert deploy["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
    }
    # 4 replicas at 25%/25%: surge rounds up to 1, unavailable rounds down to 1
    ready = table(kube, "deployment", "demo-api")["demo-api"]
    assert (ready["READY"], ready["UP-TO-DATE"], ready["AVAILABLE"]) == ("4/4", "4", "4")
    [first] = replicasets(kube)
    old_hash = first["metadata"]["labels"]["pod-template-hash"]
    assert first["metadata"]["name"] == f"demo-api-{old_hash}"
    old_pods = {p["metadata"]["name"] for p in pods(kube)}
    assert len(old_pods) == 4 and all(n.startswith(f"demo-api-{old_hash}-") for n in old_pods)

    watcher = RolloutWatcher(kube, "app=demo-api", replicas=4, max_surge=1, max_unavailable=1).start()
    try:
        out = kube.run("set", "image", "deployment/demo-api", "demo-api=myrepo/demo-api:1.0.1").stdout
        assert out.strip() == "deployment.apps/demo-api image updated"
        kube.run("annotate", "deployment/demo-api", f"{CHANGE_CAUSE}=set image 1.0.1", "--overwrite")
        status = rollout_status(kube)
        assert status.rstrip().splitlines()[-1] == 'deployment "demo-api" successfully rolled out', status
        assert 'Waiting for deployment "demo-api" rollout to finish' in status, status

        def settled() -> bool:
            now_pods, now_rss = watcher.snapshot()
            live = [p for p in now_pods if RolloutWatcher.live(p)]
            return (
                len(live) == 4
                and all(RolloutWatcher.ready(p) for p in live)
                and not any(p["metadata"]["name"] in old_pods for p in live)
                and sum(int((r.get("status") or {}).get("replicas") or 0) for r in now_rss) == 4
            )

        wait_for("the watcher to see the rollout's last events", settled, timeout=15)
    finally:
        watcher.stop()

    assert not watcher.errors, watcher.errors
    assert not watcher.violations, "\n".join(watcher.violations[:20])
    # the watcher saw the whole replacement: 4 new pods added and 4 old ones deleted, at least
    assert watcher.pod_events >= 16 and watcher.rs_events >= 4, (watcher.pod_events, watcher.rs_events)
    assert 4 <= watcher.peak_live <= 5 and watcher.low_ready is not None and watcher.low_ready >= 3, (
        watcher.waves
    )

    rss = replicasets(kube)
    assert len(rss) == 2, [r["metadata"]["name"] for r in rss]
    new = next(r for r in rss if r["metadata"]["uid"] != first["metadata"]["uid"])
    old = next(r for r in rss if r["metadata"]["uid"] == first["metadata"]["uid"])
    new_hash = new["metadata"]["labels"]["pod-template-hash"]
    assert new_hash != old_hash and new["metadata"]["name"] == f"demo-api-{new_hash}"
    assert new["spec"]["template"]["spec"]["containers"][0]["image"] == "myrepo/demo-api:1.0.1"
    assert (new["spec"]["replicas"], old["spec"]["replicas"]) == (4, 0)
    assert (ann(old, REVISION), ann(new, REVISION)) == ("1", "2")
    owner = new["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == (
        "Deployment",
        "demo-api",
        deploy["metadata"]["uid"],
        True,
    )
    now = pods(kube)
    assert len(now) == 4
    assert {p["metadata"]["name"] for p in now}.isdisjoint(old_pods)
    assert {p["metadata"]["labels"]["pod-template-hash"] for p in now} == {new_hash}
    rows = table(kube, "rs", "-l", "app=demo-api")
    assert (rows[new["metadata"]["name"]]["DESIRED"], rows[new["metadata"]["name"]]["READY"]) == ("4", "4")
    assert (rows[old["metadata"]["name"]]["DESIRED"], rows[old["metadata"]["name"]]["CURRENT"]) == ("0", "0")
    assert history(kube) == [("1", "deploy 1.0.0"), ("2", "set image 1.0.1")]


# --- history and undo ------------------------------------------------------------------------------------


def test_history_and_undo_reuse_the_old_replicaset(sim_kube: SimCluster) -> None:
    kube = sim_kube
    for version in ("1.0.0", "1.0.1", "1.0.2"):
        kube.run("apply", "-f", "-", input=demo_api(version, replicas=2, cause=f"release {version}"))
        rolled_out(kube)
    assert history(kube) == [("1", "release 1.0.0"), ("2", "release 1.0.1"), ("3", "release 1.0.2")]
    by_rev = {ann(rs, REVISION): rs for rs in replicasets(kube)}
    assert sorted(by_rev) == ["1", "2", "3"]
    uids = {rs["metadata"]["uid"] for rs in by_rev.values()}

    detail = kube.run("rollout", "history", "deployment/demo-api", "--revision=2").stdout
    assert detail.startswith("deployment.apps/demo-api with revision #2\nPod Template:\n"), detail
    assert (
        "Image:\tmyrepo/demo-api:1.0.1" in detail
        and f"pod-template-hash={by_rev['2']['metadata']['labels']['pod-template-hash']}" in detail
    )

    # plain undo: back to revision 2's template, served by revision 2's ReplicaSet, renumbered 4
    assert (
        kube.run("rollout", "undo", "deployment/demo-api").stdout.strip()
        == "deployment.apps/demo-api rolled back"
    )
    rolled_out(kube)
    rss = {rs["metadata"]["uid"]: rs for rs in replicasets(kube)}
    assert set(rss) == uids, "undo must not create a ReplicaSet"
    two = rss[by_rev["2"]["metadata"]["uid"]]
    assert two["metadata"]["name"] == by_rev["2"]["metadata"]["name"]
    assert (ann(two, REVISION), ann(two, HISTORY), two["spec"]["replicas"]) == ("4", "2", 2)
    assert all(rs["spec"]["replicas"] == 0 for uid, rs in rss.items() if uid != two["metadata"]["uid"])
    deploy = get_json(kube, "deployment", "demo-api")
    assert ann(deploy, REVISION) == "4"
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "myrepo/demo-api:1.0.1"
    assert history(kube) == [("1", "release 1.0.0"), ("3", "release 1.0.2"), ("4", "release 1.0.1")]
    assert {p["metadata"]["labels"]["pod-template-hash"] for p in pods(kube)} == {
        two["metadata"]["labels"]["pod-template-hash"]
    }

    # --to-revision=1: revision 1's ReplicaSet comes back as 5
    out = kube.run("rollout", "undo", "deployment/demo-api", "--to-revision=1").stdout
    assert out.strip() == "deployment.apps/demo-api rolled back"
    rolled_out(kube)
    rss = {rs["metadata"]["uid"]: rs for rs in replicasets(kube)}
    assert set(rss) == uids
    one = rss[by_rev["1"]["metadata"]["uid"]]
    assert (one["metadata"]["name"], ann(one, REVISION), ann(one, HISTORY)) == (
        by_rev["1"]["metadata"]["name"],
        "5",
        "1",
    )
    assert one["spec"]["replicas"] == 2
    assert history(kube) == [("3", "release 1.0.2"), ("4", "release 1.0.1"), ("5", "release 1.0.0")]
    # undo again: back to 4's ReplicaSet (revision 2's originally), renumbered 6 with history "2,4"
    kube.run("rollout", "undo", "deployment/demo-api")
    rolled_out(kube)
    two = {rs["metadata"]["uid"]: rs for rs in replicasets(kube)}[by_rev["2"]["metadata"]["uid"]]
    assert (ann(two, REVISION), ann(two, HISTORY)) == ("6", "2,4")

    same = kube.run("rollout", "undo", "deployment/demo-api", "--to-revision=6")
    assert (
        same.stdout.strip()
        == "deployment.apps/demo-api skipped rollback (current template already matches revision 6)"
    )
    missing = kube.run("rollout", "undo", "deployment/demo-api", "--to-revision=9", check=False)
    assert missing.returncode == 1
    assert missing.stderr.strip() == "error: unable to find specified revision 9 in history"
    assert {rs["metadata"]["uid"] for rs in replicasets(kube)} == uids


# --- pause / resume / restart ----------------------------------------------------------------------------


def test_pause_resume_and_restart(sim_kube: SimCluster) -> None:
    kube = sim_kube
    kube.run("apply", "-f", "-", input=demo_api(replicas=2))
    rolled_out(kube)
    [first] = replicasets(kube)

    assert (
        kube.run("rollout", "pause", "deployment/demo-api").stdout.strip()
        == "deployment.apps/demo-api paused"
    )
    again = kube.run("rollout", "pause", "deployment/demo-api", check=False)
    assert again.returncode == 1
    assert again.stderr.strip() == 'error: deployments.apps "demo-api" is already paused'

    kube.run("set", "image", "deployment/demo-api", "demo-api=myrepo/demo-api:1.0.1")

    def observed_paused() -> Obj | None:
        d = get_json(kube, "deployment", "demo-api")
        st = d.get("status") or {}
        progressing = next((c for c in st.get("conditions") or [] if c["type"] == "Progressing"), {})
        ok = (
            st.get("observedGeneration") == d["metadata"]["generation"]
            and progressing.get("reason") == "DeploymentPaused"
        )
        return d if ok else None

    paused = wait_for("the controller to observe the paused template change", observed_paused)
    progressing = next(c for c in paused["status"]["conditions"] if c["type"] == "Progressing")
    assert (progressing["status"], progressing["message"]) == ("Unknown", "Deployment is paused")
    assert [rs["metadata"]["uid"] for rs in replicasets(kube)] == [first["metadata"]["uid"]], (
        "paused: no new RS"
    )
    stuck = rollout_status(kube, timeout="1s", check=False)
    assert (
        'Waiting for deployment "demo-api" rollout to finish: 0 out of 2 new replicas have been updated...'
        in stuck
    )
    restart = kube.run("rollout", "restart", "deployment/demo-api", check=False)
    assert restart.returncode == 1
    assert restart.stderr.strip() == (
        'error: deployments.apps "demo-api" can\'t restart paused deployment (run rollout resume first)'
    )
    undo = kube.run("rollout", "undo", "deployment/demo-api", "--to-revision=1", check=False)
    assert undo.returncode == 1
    assert (
        "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume'"
        in undo.stderr
    )

    assert (
        kube.run("rollout", "resume", "deployment/demo-api").stdout.strip()
        == "deployment.apps/demo-api resumed"
    )
    rolled_out(kube)
    rss = replicasets(kube)
    assert len(rss) == 2
    second = next(rs for rs in rss if rs["metadata"]["uid"] != first["metadata"]["uid"])
    assert second["spec"]["template"]["spec"]["containers"][0]["image"] == "myrepo/demo-api:1.0.1"
    again = kube.run("rollout", "resume", "deployment/demo-api", check=False)
    assert (
        again.returncode == 1 and again.stderr.strip() == 'error: deployments.apps "demo-api" is not paused'
    )

    assert (
        kube.run("rollout", "restart", "deployment/demo-api").stdout.strip()
        == "deployment.apps/demo-api restarted"
    )
    rolled_out(kube)
    rss = replicasets(kube)
    assert len(rss) == 3, "a restart is a template change: a new ReplicaSet"
    third = next(
        rs for rs in rss if rs["metadata"]["uid"] not in (first["metadata"]["uid"], second["metadata"]["uid"])
    )
    restarted_at = third["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", restarted_at)
    assert third["spec"]["template"]["spec"]["containers"][0]["image"] == "myrepo/demo-api:1.0.1"
    assert (ann(third, REVISION), third["spec"]["replicas"]) == ("3", 2)
    assert {p["metadata"]["labels"]["pod-template-hash"] for p in pods(kube)} == {
        third["metadata"]["labels"]["pod-template-hash"]
    }


# --- scale mid-rollout -----------------------------------------------------------------------------------


def test_scale_mid_rollout_is_proportional(sim_kube: SimCluster) -> None:
    kube = sim_kube
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}}
    kube.run("apply", "-f", "-", input=demo_api(replicas=10, strategy=strategy))
    rolled_out(kube)
    [old] = replicasets(kube)
    old_name = old["metadata"]["name"]
    # a new template whose pods take 10 minutes to become ready: the rollout stalls mid-way at 8 old + 5 new
    kube.run(
        "apply",
        "-f",
        "-",
        input=demo_api("1.0.1", replicas=10, strategy=strategy, template_annotations={SLOW_READY: "600000"}),
    )

    def at(expected: tuple[int, int]) -> Callable[[], dict[str, int] | None]:
        def probe() -> dict[str, int] | None:
            s = sizes(kube)
            if len(s) != 2:
                return None
            new_size = next(v for k, v in s.items() if k != old_name)
            return s if (s[old_name], new_size) == expected else None

        return probe

    wait_for("the rollout to stall at 8 old + 5 new", at((8, 5)))
    stuck = rollout_status(kube, timeout="1s", check=False)
    assert (
        'Waiting for deployment "demo-api" rollout to finish: 5 out of 10 new replicas have been updated...'
        in stuck
    )

    assert (
        kube.run("scale", "deployment/demo-api", "--replicas=30").stdout.strip()
        == "deployment.apps/demo-api scaled"
    )
    # allowed 33, 20 to add: old round(8*33/13) = 20, new round(5*33/13) = 13
    s = wait_for("proportional scale-up to 20 + 13", at((20, 13)))
    for rs in replicasets(kube):
        assert (
            ann(rs, "deployment.kubernetes.io/desired-replicas"),
            ann(rs, "deployment.kubernetes.io/max-replicas"),
        ) == ("30", "33")
    new_name = next(k for k in s if k != old_name)
    wait_for("20 old pods ready", lambda: table(kube, "rs")[old_name]["READY"] == "20")
    rows = table(kube, "rs")
    assert (rows[new_name]["DESIRED"], rows[new_name]["CURRENT"], rows[new_name]["READY"]) == (
        "13",
        "13",
        "0",
    )

    assert (
        kube.run("scale", "deployment/demo-api", "--replicas=10").stdout.strip()
        == "deployment.apps/demo-api scaled"
    )
    # allowed 13, 20 to remove: old round(20*13/33) = 8, new round(13*13/33) = 5
    wait_for("proportional scale-down to 8 + 5", at((8, 5)))
    for rs in replicasets(kube):
        assert (
            ann(rs, "deployment.kubernetes.io/desired-replicas"),
            ann(rs, "deployment.kubernetes.io/max-replicas"),
        ) == ("10", "13")
    wait_for("13 live pods", lambda: len([p for p in pods(kube) if RolloutWatcher.live(p)]) == 13)


# --- progress deadline -----------------------------------------------------------------------------------


def test_never_ready_image_exceeds_the_progress_deadline(sim_kube: SimCluster) -> None:
    kube = sim_kube
    kube.run("apply", "-f", "-", input=demo_api(replicas=2, progress_deadline=5))
    rolled_out(kube)
    kube.run("set", "image", "deployment/demo-api", "demo-api=myrepo/demo-api:never-ready")
    started = time.monotonic()
    failed = kube.run("rollout", "status", "deployment/demo-api", "--timeout=30s", check=False, timeout=60)
    took = time.monotonic() - started
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert failed.stderr.strip() == 'error: deployment "demo-api" exceeded its progress deadline'
    assert took < 15, f"the 5 s progress deadline took {took:.1f}s to be reported"
    d = get_json(kube, "deployment", "demo-api")
    conds = {c["type"]: c for c in d["status"]["conditions"]}
    new = next(
        rs
        for rs in replicasets(kube)
        if "never-ready" in rs["spec"]["template"]["spec"]["containers"][0]["image"]
    )
    assert (
        conds["Progressing"]["status"],
        conds["Progressing"]["reason"],
        conds["Progressing"]["message"],
    ) == (
        "False",
        "ProgressDeadlineExceeded",
        f'ReplicaSet "{new["metadata"]["name"]}" has timed out progressing.',
    )
    # the old pods keep serving: a timeout is only a condition
    assert (conds["Available"]["status"], conds["Available"]["reason"]) == (
        "True",
        "MinimumReplicasAvailable",
    )
    rows = table(kube, "pods")
    never = [r for name, r in rows.items() if name.startswith(new["metadata"]["name"] + "-")]
    assert never and all((r["READY"], r["STATUS"]) == ("0/1", "Running") for r in never), rows
    # and the same verdict for a second `rollout status`, at once
    again = kube.run("rollout", "status", "deployment/demo-api", "--timeout=5s", check=False)
    assert again.returncode == 1 and "exceeded its progress deadline" in again.stderr


# --- deletion --------------------------------------------------------------------------------------------


def test_delete_deployment_cascades_to_replicasets_and_pods(sim_kube: SimCluster) -> None:
    kube = sim_kube
    kube.run("apply", "-f", "-", input=demo_api(replicas=3))
    rolled_out(kube)
    kube.run("set", "image", "deployment/demo-api", "demo-api=myrepo/demo-api:1.0.1")
    rolled_out(kube)
    assert len(replicasets(kube)) == 2 and len(pods(kube)) == 3
    out = kube.run("delete", "deployment", "demo-api").stdout
    assert out.strip() == 'deployment.apps "demo-api" deleted'

    def gone() -> bool:
        proc = kube.run("get", "rs,pods", "-l", "app=demo-api")
        return (
            proc.stdout == "" and proc.stderr.strip() == f"No resources found in {kube.namespace} namespace."
        )

    wait_for("the ReplicaSets and pods to be garbage-collected", gone, timeout=30)
    assert kube.run("get", "deployment", "demo-api", check=False).stderr.strip() == (
        'Error from server (NotFound): deployments.apps "demo-api" not found'
    )


def test_orphaned_replicaset_is_adopted_by_a_new_identical_deployment(sim_kube: SimCluster) -> None:
    kube = sim_kube
    manifest = demo_api(replicas=3)
    kube.run("apply", "-f", "-", input=manifest)
    rolled_out(kube)
    [rs] = replicasets(kube)
    pod_uids = {p["metadata"]["uid"] for p in pods(kube)}
    old_deploy_uid = get_json(kube, "deployment", "demo-api")["metadata"]["uid"]

    out = kube.run("delete", "deployment", "demo-api", "--cascade=orphan").stdout
    assert out.strip() == 'deployment.apps "demo-api" deleted'
    assert kube.run("get", "deployment", "demo-api", check=False).returncode == 1

    def orphaned() -> Obj | None:
        found = replicasets(kube)
        return found[0] if len(found) == 1 and not found[0]["metadata"].get("ownerReferences") else None

    orphan = wait_for("the ReplicaSet to lose its owner reference", orphaned)
    assert orphan["metadata"]["uid"] == rs["metadata"]["uid"] and orphan["spec"]["replicas"] == 3
    assert {p["metadata"]["uid"] for p in pods(kube)} == pod_uids, "orphaning keeps the pods"
    rows = table(kube, "rs")
    assert (rows[rs["metadata"]["name"]]["DESIRED"], rows[rs["metadata"]["name"]]["READY"]) == ("3", "3")

    assert kube.run("apply", "-f", "-", input=manifest).stdout.strip() == "deployment.apps/demo-api created"
    deploy_uid = get_json(kube, "deployment", "demo-api")["metadata"]["uid"]
    assert deploy_uid != old_deploy_uid

    def adopted() -> Obj | None:
        found = replicasets(kube)
        refs = found[0]["metadata"].get("ownerReferences") if found else None
        return found[0] if refs else None

    adopter = wait_for("the new Deployment to adopt the ReplicaSet", adopted)
    rolled_out(kube)
    found = replicasets(kube)
    assert [r["metadata"]["uid"] for r in found] == [rs["metadata"]["uid"]], "adopted, no new ReplicaSet"
    assert found[0]["metadata"]["name"] == rs["metadata"]["name"]
    [ref] = adopter["metadata"]["ownerReferences"]
    assert ref == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "demo-api",
        "uid": deploy_uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }
    assert {p["metadata"]["uid"] for p in pods(kube)} == pod_uids, "adoption restarts no pod"
    assert ann(get_json(kube, "deployment", "demo-api"), REVISION) == "1"


# --- the STATUS column of `kubectl get pods` -------------------------------------------------------------


def test_get_pods_status_column(sim_kube: SimCluster) -> None:
    kube = sim_kube
    manifests = [
        pod("creating", annotations={"sim.ferry.dev/start-after-ms": "600000"}),
        pod("running"),
        pod("crashing", image="busybox:1.36-crash"),
        pod("oom", image="busybox:1.36-oom", restartPolicy="Never"),
        pod(
            "stopping",
            annotations={"sim.ferry.dev/stop-after-ms": "600000"},
            terminationGracePeriodSeconds=30,
        ),
        pod("too-big", resources={"requests": {"cpu": "100"}}),
    ]
    # a multi-document stream (test_kubectl_list.py covers `kind: List`)
    kube.run("apply", "-f", "-", input=yaml.safe_dump_all(manifests))

    expected = {
        "creating": ("0/1", "ContainerCreating"),
        "running": ("1/1", "Running"),
        "crashing": ("0/1", "CrashLoopBackOff"),
        "oom": ("0/1", "OOMKilled"),
        "stopping": ("1/1", "Running"),
        "too-big": ("0/1", "Pending"),
    }

    def all_as_expected() -> dict[str, dict[str, str]] | None:
        rows = table(kube, "pods")
        return rows if {n: (r["READY"], r["STATUS"]) for n, r in rows.items()} == expected else None

    rows = wait_for("every pod's STATUS", all_as_expected, timeout=20, every=0.2)
    assert re.fullmatch(r"[1-9]\d* \(\d+s ago\)", rows["crashing"]["RESTARTS"]), rows["crashing"]
    assert rows["oom"]["RESTARTS"] == "0" and rows["running"]["RESTARTS"] == "0"
    wide = table(kube, "pods", "-o", "wide")
    assert wide["too-big"]["NODE"] == "<none>" and wide["running"]["NODE"].startswith("ferry-node-")

    too_big = get_json(kube, "pod", "too-big")
    sched = next(c for c in too_big["status"]["conditions"] if c["type"] == "PodScheduled")
    assert (sched["status"], sched["reason"]) == ("False", "Unschedulable")
    assert sched["message"].startswith("0/3 nodes are available: 3 Insufficient cpu."), sched
    events = kube.run("get", "events", "--field-selector", "involvedObject.name=too-big").stdout
    assert "FailedScheduling" in events and "0/3 nodes are available: 3 Insufficient cpu." in events, events
    oom = get_json(kube, "pod", "oom")
    term = oom["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (oom["status"]["phase"], term["reason"], term["exitCode"]) == ("Failed", "OOMKilled", 137)

    assert kube.run("delete", "pod", "stopping", "--wait=false").stdout.strip() == 'pod "stopping" deleted'
    wait_for("Terminating", lambda: table(kube, "pods")["stopping"]["STATUS"] == "Terminating")
    assert table(kube, "pods")["stopping"]["READY"] in ("0/1", "1/1")
