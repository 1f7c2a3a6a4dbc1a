"""End-to-end: zero-downtime rolling updates of demo-api on ``ferry cluster up --runtime process``, with the
real kubectl and real pods (issue 4, the first two "Done means"; docs/network.md "Zero-downtime rollouts").

One cluster per module (``proc_cluster``). demo-api 1.0.0, 1.0.1 and 1.0.2 (a copy that exits at once on
SIGTERM) are built from ``examples/services/demo-api`` with ``ferry.build`` and pushed to the cluster's registry
(``demo_api_support``). The Deployment has 2 replicas, a readinessProbe on ``/health`` and ``maxSurge: 1,
maxUnavailable: 0`` (what the defaults of 25 % give for 2 replicas, written out): every step of the rollout adds
one new pod, waits for it to be Ready, then deletes one old pod. So at every moment at least 2 pods are Ready,
and every old pod is *deleted while it serves*. That is the case ferry makes strict: the kubelet SIGTERMs a
deleted pod only once the service proxy no longer sends it new connections and its open ones drained. (With
``maxUnavailable: 1`` an old pod could go before its replacement was up, and a failure would say less about the
ordering.) A NodePort Service and an Ingress point at the Deployment.

The load generator opens a new connection per request (each one routed afresh, its request trickling in over
50 ms, so that some are always in flight) at ≥ 100 requests/s to the ClusterIP from the host, plus a lighter
stream to the NodePort on 127.0.0.1, for the whole of ``kubectl set image`` + ``kubectl rollout status``, and
then for the same with ``kubectl rollout undo``. Every response is recorded: zero failures, the rate achieved,
only the old version before, only the new one for every request begun after ``rollout status`` returned. Then a
rollout whose new pod never gets Ready (its readinessProbe path 404s) stalls: ``rollout status`` fails on the
progress deadline, the Progressing condition says ``ProgressDeadlineExceeded``, and the old pods keep answering
every request. Last, pods that exit at once on SIGTERM are replaced under load without a failed request.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.demo_api_support import LoadGenerator, get_version, push_demo_api
from tests.e2e.test_kubelet_proc_support import ProcCluster, proc_cluster

pytestmark = pytest.mark.e2e
__all__ = ["proc_cluster"]

CLUSTER_IP_RATE = 150.0  # requests/s asked for; ≥ 100 must be achieved (145-149 on 2 busy cores)
NODE_PORT_RATE = 30.0
WARM_UP_REQUESTS = 100  # answered before the rollout starts (all by the old version)
TAIL_REQUESTS = 150  # begun after `rollout status` returned (all by the new version)

MANIFEST = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: demo-api}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: demo-api}}}}
  strategy: {{type: RollingUpdate, rollingUpdate: {{maxSurge: 1, maxUnavailable: 0}}}}
  template:
    metadata: {{labels: {{app: demo-api}}}}
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: demo-api
        image: {image}
        env: [{{name: PORT, value: "3000"}}]
        ports: [{{name: http, containerPort: 3000}}]
        readinessProbe:
          httpGet: {{path: /health, port: http}}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {{name: demo-api}}
spec:
  type: NodePort
  selector: {{app: demo-api}}
  ports: [{{name: http, port: 80, targetPort: http}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: demo-api}}
spec:
  rules:
  - host: demo-api.test
    http:
      paths:
      - {{path: /, pathType: Prefix, backend: {{service: {{name: demo-api, port: {{name: http}}}}}}}}
"""


@dataclass
class Demo:
    k: ProcCluster
    images: dict[str, str]
    cluster_ip: str
    node_port: int

    def load(self) -> LoadGenerator:
        return LoadGenerator(
            targets={"clusterip": (self.cluster_ip, 80), "nodeport": ("127.0.0.1", self.node_port)},
            rates={"clusterip": CLUSTER_IP_RATE, "nodeport": NODE_PORT_RATE},
        )

    def deployment(self) -> dict[str, Any]:
        return json.loads(self.k.kubectl("get", "deployment", "demo-api", "-o", "json"))  # type: ignore[no-any-return]

    def pods(self) -> list[dict[str, Any]]:
        out = self.k.kubectl("get", "pods", "-l", "app=demo-api", "-o", "json")
        return list(json.loads(out)["items"])


@pytest.fixture(scope="module")
def demo(proc_cluster: ProcCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    k = proc_cluster
    registry = json.loads((k.data_dir / "cluster.json").read_text())["registry"]
    images = push_demo_api(
        tmp_path_factory.mktemp("demo-api"), str(registry), ["1.0.0", "1.0.1", "1.0.2"], naive=["1.0.2"]
    )
    k.apply(MANIFEST.format(image=images["1.0.0"]))
    k.kubectl("rollout", "status", "deployment/demo-api", "--timeout=120s", timeout=130)
    svc = json.loads(k.kubectl("get", "service", "demo-api", "-o", "json"))
    demo = Demo(k, images, svc["spec"]["clusterIP"], int(svc["spec"]["ports"][0]["nodePort"]))
    yield demo
    k.kubectl("delete", "deployment,service,ingress", "demo-api", "--wait=true", timeout=90, check=False)


def _wait_for_requests(load: LoadGenerator, count: int, *, after: float = 0.0) -> None:
    """Let the load run until ``count`` more ClusterIP requests (begun after ``after``) have answered."""
    while len([r for r in load.of("clusterip") if r.started >= after]) < count:
        time.sleep(0.05)


def _assert_served_under_load(load: LoadGenerator) -> None:
    assert load.failures() == [], f"{len(load.failures())} failed requests: {load.summary()}"
    assert load.rate("clusterip") >= 100.0, f"only {load.rate('clusterip'):.0f} requests/s: {load.summary()}"
    assert load.of("nodeport"), "no request went through the NodePort"


def _roll_under_load(demo: Demo, action: list[str], old: str, new: str) -> LoadGenerator:
    """Run ``kubectl <action>`` + ``rollout status`` under load; assert the switch from ``old`` to ``new``."""
    k = demo.k
    with demo.load() as load:
        _wait_for_requests(load, WARM_UP_REQUESTS)
        began = time.monotonic()
        k.kubectl(*action)
        k.kubectl("rollout", "status", "deployment/demo-api", "--timeout=120s", timeout=130)
        done = time.monotonic()
        _wait_for_requests(load, TAIL_REQUESTS, after=done)
    print(f"{' '.join(action)}: {load.summary()}, {load.rate('clusterip'):.0f} req/s to the ClusterIP")
    _assert_served_under_load(load)
    for target in ("clusterip", "nodeport"):
        before = set(load.versions(target, before=began))
        assert before == {old}, f"{target} before the rollout: {before}"
        after = load.versions(target, after=done)
        assert after and set(after) == {new}, f"{target} after `rollout status`: {sorted(set(after))}"
    during = load.versions("clusterip", after=began, before=done)
    assert new in during, f"no {new} answered during the rollout: {load.summary()}"
    return load


def test_demo_api_answers_its_version_through_the_cluster_ip_the_node_port_and_an_ingress(demo: Demo) -> None:
    assert get_version(demo.cluster_ip, 80) == "1.0.0"
    assert get_version("127.0.0.1", demo.node_port) == "1.0.0"
    port = demo.k.ingress_port()

    def through_ingress() -> str | None:
        try:
            return get_version("127.0.0.1", port, host_header="demo-api.test")
        except OSError:  # 404 until the ingress controller has the rule
            return None

    assert demo.k.wait_for("the Ingress", through_ingress, timeout=30) == "1.0.0"
    pods = demo.pods()
    assert len(pods) == 2 and all(p["status"]["podIP"].startswith(demo.k.pod_cidr_prefix) for p in pods)


def test_set_image_under_load_switches_to_the_new_version_with_zero_failed_requests(demo: Demo) -> None:
    image = demo.images["1.0.1"]
    _roll_under_load(demo, ["set", "image", "deployment/demo-api", f"demo-api={image}"], "1.0.0", "1.0.1")
    images = {
        p["spec"]["containers"][0]["image"] for p in demo.pods() if "deletionTimestamp" not in p["metadata"]
    }
    assert images == {image}


def test_rollout_undo_under_load_switches_back_with_zero_failed_requests(demo: Demo) -> None:
    _roll_under_load(demo, ["rollout", "undo", "deployment/demo-api"], "1.0.1", "1.0.0")
    assert demo.deployment()["spec"]["template"]["spec"]["containers"][0]["image"] == demo.images["1.0.0"]


def test_failing_readiness_stalls_the_rollout_while_the_old_pods_serve(demo: Demo) -> None:
    k = demo.k
    patch = [
        {"op": "replace", "path": "/spec/progressDeadlineSeconds", "value": 8},
        {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": demo.images["1.0.1"]},
        {
            "op": "replace",
            "path": "/spec/template/spec/containers/0/readinessProbe/httpGet/path",
            "value": "/not-there",  # demo-api answers 404
        },
    ]
    with demo.load() as load:
        _wait_for_requests(load, WARM_UP_REQUESTS)
        k.kubectl("patch", "deployment", "demo-api", "--type=json", "-p", json.dumps(patch))
        stalled = k.kubectl(
            "rollout", "status", "deployment/demo-api", "--timeout=90s", check=False, timeout=100
        )
        d = demo.deployment()
        new_pods = [p for p in demo.pods() if p["spec"]["containers"][0]["image"] == demo.images["1.0.1"]]
        mark = time.monotonic()
        _wait_for_requests(load, TAIL_REQUESTS, after=mark)
    print(f"stalled rollout: {load.summary()}, {load.rate('clusterip'):.0f} req/s to the ClusterIP")
    _assert_served_under_load(load)
    assert "successfully rolled out" not in stalled, stalled
    assert set(load.versions("clusterip")) == {"1.0.0"} == set(load.versions("nodeport")), load.summary()
    progressing = next(c for c in d["status"]["conditions"] if c["type"] == "Progressing")
    assert (progressing["status"], progressing["reason"]) == ("False", "ProgressDeadlineExceeded"), stalled
    assert (d["status"]["updatedReplicas"], d["status"]["availableReplicas"]) == (1, 2)
    assert len(new_pods) == 1 and new_pods[0]["status"]["phase"] == "Running"
    ready = next(c for c in new_pods[0]["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False"
    events = k.kubectl(
        "get", "events", "--field-selector", f"involvedObject.name={new_pods[0]['metadata']['name']}"
    )
    assert "Readiness probe failed: HTTP probe failed with statuscode: 404" in events

    # Undo the stalled rollout the same way: the never-ready pod goes, the old ones never stopped serving.
    _roll_under_load(demo, ["rollout", "undo", "deployment/demo-api"], "1.0.0", "1.0.0")
    k.kubectl("patch", "deployment", "demo-api", "-p", '{"spec": {"progressDeadlineSeconds": 600}}')


def test_pods_that_exit_at_sigterm_lose_no_request_either(demo: Demo) -> None:
    """demo-api 1.0.2 exits at once on SIGTERM, cutting whatever it is serving (kube's default ordering loses
    requests here). The kubelet sends SIGTERM only once the proxy routes the pod nothing new and its open
    connections (each request trickles in over 50 ms) are done, so replacing 1.0.2 loses nothing either."""
    naive, image = demo.images["1.0.2"], demo.images["1.0.0"]
    _roll_under_load(demo, ["set", "image", "deployment/demo-api", f"demo-api={naive}"], "1.0.0", "1.0.2")
    _roll_under_load(demo, ["set", "image", "deployment/demo-api", f"demo-api={image}"], "1.0.2", "1.0.0")
