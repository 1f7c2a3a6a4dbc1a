"""More of what kubectl users do: CRDs, pods, namespaces, SSA conflicts, events in describe, logs."""

from __future__ import annotations

import json
import re

from tests.e2e.conftest import Kube
from tests.e2e.test_kubectl import demo, header

CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.{group}
spec:
  group: {group}
  scope: Namespaced
  names: {{plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}}
  versions:
    - name: v1
      served: true
      storage: true
      additionalPrinterColumns:
        - {{name: Size, type: string, jsonPath: .spec.size}}
        - {{name: Replicas, type: integer, jsonPath: .spec.replicas}}
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: {{type: string, enum: [S, M, L]}}
                replicas: {{type: integer, minimum: 1, default: 1}}
"""


def test_crd_then_custom_resources(kube: Kube) -> None:
    group = f"{kube.namespace}.example.com"
    out = kube.run("apply", "-f", "-", input=CRD.format(group=group), namespaced=False).stdout.strip()
    assert out == f"customresourcedefinition.apiextensions.k8s.io/widgets.{group} created"
    widget = f"apiVersion: {group}/v1\nkind: Widget\nmetadata:\n  name: w1\nspec:\n  size: M\n"
    assert kube.run("apply", "-f", "-", input=widget).stdout.strip() == f"widget.{group}/w1 created"
    lines = kube.run("get", f"widgets.{group}").stdout.splitlines()
    assert header(lines[0]) == ["NAME", "SIZE", "REPLICAS"]
    assert header(lines[1]) == ["w1", "M", "1"]  # the schema default filled replicas
    bad = kube.run(
        "apply", "-f", "-", input=widget.replace("size: M", "size: XL").replace("w1", "w2"), check=False
    )
    assert bad.returncode == 1
    assert 'spec.size: Unsupported value: "XL": supported values: "S", "M", "L"' in bad.stderr
    unknown = widget.replace("size: M", "size: S\n  colour: red").replace("w1", "w3")
    strict = kube.run("apply", "-f", "-", input=unknown, check=False)
    assert strict.returncode == 1 and "colour" in strict.stderr
    kube.run("delete", "crd", f"widgets.{group}", namespaced=False)
    gone = kube.run("get", f"widgets.{group}", check=False)
    assert gone.returncode == 1


def test_pod_lifecycle_as_the_api_server_sees_it(kube: Kube) -> None:
    out = kube.run("run", "p1", "--image=nginx:1.27", "--restart=Never").stdout.strip()
    assert out == "pod/p1 created"
    lines = kube.run("get", "pods").stdout.splitlines()
    assert header(lines[0]) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert header(lines[1])[:4] == ["p1", "0/1", "Pending", "0"]
    pod = json.loads(kube.run("get", "pod", "p1", "-o", "json").stdout)
    assert pod["status"] == {"phase": "Pending", "qosClass": "BestEffort"}
    assert pod["spec"]["restartPolicy"] == "Never" and pod["spec"]["dnsPolicy"] == "ClusterFirst"
    logs = kube.run("logs", "p1", check=False)
    assert logs.returncode == 1
    assert 'container "p1" in pod "p1" is waiting to start: ContainerCreating' in logs.stderr
    # an unscheduled pod has no grace period: it is gone at once
    assert kube.run("delete", "pod", "p1").stdout.strip() == 'pod "p1" deleted'


def test_namespace_delete_waits_for_contents(kube: Kube) -> None:
    ns = f"{kube.namespace}-gone"
    kube.run("create", "namespace", ns, namespaced=False)
    other = Kube(kube.data_dir, kube.cache_dir, ns)
    other.run("create", "configmap", "c", "--from-literal=a=b")
    other.run("apply", "-f", "-", input=demo())
    out = kube.run("delete", "namespace", ns, timeout=30, namespaced=False).stdout.strip()
    assert out == f'namespace "{ns}" deleted'
    assert kube.run("get", "namespace", ns, check=False, namespaced=False).returncode == 1


def test_server_side_apply_conflict_and_force(kube: Kube) -> None:
    kube.run("apply", "--server-side", "-f", "-", input=demo())
    kube.run("scale", "deploy", "demo-api", "--replicas=5")
    conflict = kube.run("apply", "--server-side", "-f", "-", input=demo(), check=False)
    assert conflict.returncode == 1
    # kubectl scale sends no fieldManager: the manager is the user agent's name, with the subresource
    assert (
        'Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas'
        in conflict.stderr
    )
    forced = kube.run("apply", "--server-side", "--force-conflicts", "-f", "-", input=demo())
    assert forced.stdout.strip() == "deployment.apps/demo-api serverside-applied"
    assert json.loads(kube.run("get", "deploy", "demo-api", "-o", "json").stdout)["spec"]["replicas"] == 2


def test_describe_shows_the_objects_events(kube: Kube) -> None:
    kube.run("apply", "-f", "-", input=demo())
    uid = json.loads(kube.run("get", "deploy", "demo-api", "-o", "json").stdout)["metadata"]["uid"]
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "demo-api.1"},
        "involvedObject": {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": "demo-api",
            "namespace": kube.namespace,
            "uid": uid,
        },
        "reason": "ScalingReplicaSet",
        "message": "Scaled up replica set demo-api-abc to 2",
        "type": "Normal",
        "source": {"component": "deployment-controller"},
        "count": 1,
        "firstTimestamp": "2026-11-27T00:00:00Z",
        "lastTimestamp": "2026-11-27T00:00:00Z",
    }
    kube.run("create", "-f", "-", input=json.dumps(event))
    out = kube.run("describe", "deployment", "demo-api").stdout
    assert re.search(
        r"Normal\s+ScalingReplicaSet\s+.*deployment-controller\s+Scaled up replica set demo-api-abc to 2", out
    )
    events = kube.run("get", "events").stdout.splitlines()
    assert header(events[0]) == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert "deployment/demo-api" in events[1]
