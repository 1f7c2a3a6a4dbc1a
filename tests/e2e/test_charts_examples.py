"""The example charts, end to end: the real Helm engine renders them, real kubectl applies the result to a
``ferry cluster up --runtime sim`` process, and the Deployments roll out.

Story 6 (the ConfigMap illusion), both ways: with ferry's config propagation a ConfigMap value change moves
the pod template's ``checksum.ferry.dev/configmap-<name>`` annotation, so re-applying creates a new
ReplicaSet; without it the ConfigMap changes in the cluster and the ReplicaSets stay exactly as they were.

Objects go to the cluster the way ferry's apply engine will send them: ``kubectl apply --server-side``
(application/apply-patch+yaml) of the rendered objects, nothing edited by hand in between.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from ferry.charts import Rendered, add_config_checksums, image_values, lint, render
from tests.e2e.conftest_sim import SimCluster

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "helm"
SERVICES = ("demo-api", "auth-service", "order-service", "payment-service", "api-gateway")
REPLICAS = {"demo-api": 2, "auth-service": 2, "order-service": 4, "payment-service": 2, "api-gateway": 2}
DIGEST = "sha256:" + "5d" * 32
CHECKSUM = "checksum.ferry.dev/configmap-demo-api-config"
T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 60.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def apply(kube: SimCluster, rendered: Rendered) -> str:
    proc = kube.run("apply", "--server-side", "-f", "-", input=yaml.safe_dump_all(rendered.objects))
    return proc.stdout


def replicasets(kube: SimCluster, app: str) -> list[dict[str, Any]]:
    out = kube.run("get", "replicasets", "-l", f"app.kubernetes.io/name={app}", "-o", "json").stdout
    items: list[dict[str, Any]] = json.loads(out)["items"]
    return sorted(items, key=lambda rs: rs["metadata"]["name"])


def rolled_out(kube: SimCluster, name: str, replicas: int) -> None:
    kube.run("rollout", "status", f"deployment/{name}", "--timeout=60s", timeout=90)
    dep = json.loads(kube.run("get", "deployment", name, "-o", "json").stdout)
    status = dep["status"]
    assert (status.get("readyReplicas"), status.get("updatedReplicas")) == (replicas, replicas), status


def render_demo(namespace: str, greeting: str, *, propagate: bool) -> Rendered:
    rendered = render(
        EXAMPLES / "demo-api",
        release="demo-api",
        namespace=namespace,
        values=[{"config": {"GREETING": greeting}}],
        pin=image_values("127.0.0.1:5000/demo-api", "1.0.0-abc1234", DIGEST),
        kube_version="1.30",
    )
    if propagate:
        add_config_checksums(rendered.objects)
    return rendered


def deployment_of(rendered: Rendered) -> dict[str, Any]:
    [dep] = [o for o in rendered.objects if o["kind"] == "Deployment"]
    return dep


def template_annotations(rendered: Rendered) -> dict[str, str]:
    dep = deployment_of(rendered)
    result: dict[str, str] = dep["spec"]["template"]["metadata"].get("annotations", {})
    return result


@pytest.mark.parametrize("service", SERVICES)
def test_example_chart_renders_and_lints_clean(service: str) -> None:
    chart = EXAMPLES / service
    report = lint(chart, kube_version="1.30")
    assert report.clean, [str(f) for f in report.findings]
    rendered = render(chart, release=service, namespace="prod", kube_version="1.30",
                      pin=image_values(f"127.0.0.1:5000/{service}", "1.0.0-abc1234", DIGEST))  # fmt: skip
    kinds = sorted(o["kind"] for o in rendered.objects)
    expected = ["ConfigMap", "Deployment", "Service"] + (["Ingress"] if service == "api-gateway" else [])
    assert kinds == sorted(expected)
    assert all(o["metadata"]["namespace"] == "prod" for o in rendered.objects)
    by_kind = {o["kind"]: o for o in rendered.objects}
    dep = by_kind["Deployment"]
    assert dep["spec"]["replicas"] == REPLICAS[service]
    assert dep["spec"]["strategy"]["type"] == "RollingUpdate"
    [container] = dep["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"127.0.0.1:5000/{service}:1.0.0-abc1234@{DIGEST}"
    assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["envFrom"] == [{"configMapRef": {"name": f"{service}-config"}}]
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])
    assert dep["spec"]["template"]["metadata"].get("annotations") is None  # no hand-written checksum
    svc = by_kind["Service"]
    assert svc["spec"]["type"] == "ClusterIP" and svc["metadata"]["name"] == service
    assert [(p["port"], p["targetPort"]) for p in svc["spec"]["ports"]] == [(80, 3000)]
    labels = svc["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == service and labels["app.kubernetes.io/instance"] == service
    assert labels["app.kubernetes.io/version"] == "1.0.0-abc1234"
    by_tag = render(chart, release=service, namespace="prod", set_values=["image.tag=1.0.1-def5678"])
    [container] = deployment_of(by_tag)["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"127.0.0.1:5000/{service}:1.0.1-def5678"


def test_all_example_charts_apply_and_roll_out(sim_kube: SimCluster) -> None:
    for service in SERVICES:
        rendered = render(
            EXAMPLES / service, release=service, namespace=sim_kube.namespace, kube_version="1.30"
        )
        changes = add_config_checksums(rendered.objects)
        assert [c.reference.name for c in changes] == [f"{service}-config"]
        out = apply(sim_kube, rendered)
        assert f"deployment.apps/{service} serverside-applied" in out
    for service in SERVICES:
        rolled_out(sim_kube, service, REPLICAS[service])
    ingress = json.loads(sim_kube.run("get", "ingress", "api-gateway", "-o", "json").stdout)
    assert ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == "api-gateway"


def test_config_change_with_propagation_rolls_a_new_replicaset(sim_kube: SimCluster) -> None:
    first = render_demo(sim_kube.namespace, "hello", propagate=True)
    apply(sim_kube, first)
    rolled_out(sim_kube, "demo-api", 2)
    [old] = replicasets(sim_kube, "demo-api")

    second = render_demo(sim_kube.namespace, "bonjour", propagate=True)
    assert template_annotations(second)[CHECKSUM] != template_annotations(first)[CHECKSUM]
    apply(sim_kube, second)
    rolled_out(sim_kube, "demo-api", 2)

    rsets = wait_for("the old ReplicaSet scaled to 0", lambda: _settled(sim_kube, 2))
    names = {rs["metadata"]["name"]: rs for rs in rsets}
    assert old["metadata"]["name"] in names and names[old["metadata"]["name"]]["spec"]["replicas"] == 0
    [new] = [rs for rs in rsets if rs["metadata"]["name"] != old["metadata"]["name"]]
    assert new["spec"]["replicas"] == 2
    assert (
        new["spec"]["template"]["metadata"]["annotations"][CHECKSUM] == template_annotations(second)[CHECKSUM]
    )
    cm = json.loads(sim_kube.run("get", "configmap", "demo-api-config", "-o", "json").stdout)
    assert cm["data"]["GREETING"] == "bonjour"


def test_config_change_without_propagation_leaves_the_replicaset(sim_kube: SimCluster) -> None:
    first = render_demo(sim_kube.namespace, "hello", propagate=False)
    assert template_annotations(first) == {}
    apply(sim_kube, first)
    rolled_out(sim_kube, "demo-api", 2)
    before = replicasets(sim_kube, "demo-api")
    generation = json.loads(sim_kube.run("get", "deployment", "demo-api", "-o", "json").stdout)["metadata"][
        "generation"
    ]

    apply(sim_kube, render_demo(sim_kube.namespace, "bonjour", propagate=False))
    cm = wait_for(
        "the ConfigMap change",
        lambda: (
            (c := json.loads(sim_kube.run("get", "configmap", "demo-api-config", "-o", "json").stdout))[
                "data"
            ]["GREETING"]
            == "bonjour"
            and c
        ),
    )
    assert cm["data"]["GREETING"] == "bonjour"  # the cluster has the new config ...
    rolled_out(sim_kube, "demo-api", 2)
    after = replicasets(sim_kube, "demo-api")
    dep = json.loads(sim_kube.run("get", "deployment", "demo-api", "-o", "json").stdout)
    assert dep["metadata"]["generation"] == generation  # ... but the pod template did not change
    assert [(rs["metadata"]["uid"], rs["spec"]["replicas"]) for rs in after] == [
        (rs["metadata"]["uid"], rs["spec"]["replicas"]) for rs in before
    ]
    assert len(after) == 1


def _settled(kube: SimCluster, want: int) -> list[dict[str, Any]] | None:
    rsets = replicasets(kube, "demo-api")
    if len(rsets) == 2 and sorted(rs["spec"]["replicas"] for rs in rsets) == [0, want]:
        return rsets
    return None
