"""The real kubectl v1.32 against the embedded cluster (default validation on)."""

from __future__ import annotations

import json
import re
import time

import yaml

from tests.e2e.conftest import Kube

DEMO = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: demo-api
spec:
  replicas: 2
  selector:
    matchLabels:
      app: demo-api
  template:
    metadata:
      labels:
        app: demo-api
    spec:
      containers:
        - name: demo-api
          image: myrepo/demo-api:{version}
          ports:
            - containerPort: 3000
{env}"""


def demo(version: str = "1.0.0", env: dict[str, str] | None = None) -> str:
    block = ""
    if env:
        block = "          env:\n" + "".join(
            f'            - name: {k}\n              value: "{v}"\n' for k, v in env.items()
        )
    return DEMO.format(version=version, env=block)


def header(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


def test_version_reports_server_1_32(kube: Kube) -> None:
    out = kube.run("version", "-o", "json").stdout
    server = json.loads(out)["serverVersion"]
    assert server["major"] == "1" and server["minor"] == "32"


def test_api_resources_lists_kinds_with_short_names(kube: Kube) -> None:
    out = kube.run("api-resources", namespaced=False).stdout
    lines = {header(line)[0]: line for line in out.splitlines()[1:]}
    assert re.search(r"deployments\s+deploy\s+apps/v1\s+true\s+Deployment", lines["deployments"])
    assert re.search(r"configmaps\s+cm\s+v1\s+true\s+ConfigMap", lines["configmaps"])
    assert re.search(r"namespaces\s+ns\s+v1\s+false\s+Namespace", lines["namespaces"])
    assert "customresourcedefinitions" in lines


def test_apply_create_update_unchanged(kube: Kube) -> None:
    assert kube.run("apply", "-f", "-", input=demo()).stdout.strip() == "deployment.apps/demo-api created"
    assert kube.run("apply", "-f", "-", input=demo()).stdout.strip() == "deployment.apps/demo-api unchanged"
    changed = kube.run("apply", "-f", "-", input=demo("1.0.1", {"LOG_LEVEL": "debug"}))
    assert changed.stdout.strip() == "deployment.apps/demo-api configured"
    live = json.loads(kube.run("get", "deploy", "demo-api", "-o", "json").stdout)
    container = live["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "myrepo/demo-api:1.0.1"
    assert container["env"] == [{"name": "LOG_LEVEL", "value": "debug"}]
    assert live["metadata"]["generation"] == 2
    # removing the env var through apply removes it (strategic merge patch with $setElementOrder / null)
    kube.run("apply", "-f", "-", input=demo("1.0.1"))
    live = json.loads(kube.run("get", "deploy", "demo-api", "-o", "json").stdout)
    assert "env" not in live["spec"]["template"]["spec"]["containers"][0]


def test_apply_server_side_and_field_removal(kube: Kube) -> None:
    out = kube.run("apply", "--server-side", "-f", "-", input=demo(env={"A": "1", "B": "2"}))
    assert out.stdout.strip() == "deployment.apps/demo-api serverside-applied"
    kube.run("apply", "--server-side", "-f", "-", input=demo(env={"A": "1"}))
    live = json.loads(kube.run("get", "deploy", "demo-api", "-o", "json", "--show-managed-fields").stdout)
    assert live["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "A", "value": "1"}]
    managers = {m["manager"]: m for m in live["metadata"]["managedFields"]}
    assert managers["kubectl"]["operation"] == "Apply"


def test_diff_shows_changes_and_exit_codes(kube: Kube) -> None:
    kube.run("apply", "-f", "-", input=demo())
    same = kube.run("diff", "-f", "-", input=demo(), check=False)
    assert same.returncode == 0, same.stderr
    changed = kube.run("diff", "-f", "-", input=demo("2.0.0"), check=False)
    assert changed.returncode == 1, changed.stderr
    assert "-      - image: myrepo/demo-api:1.0.0" in changed.stdout
    assert "+      - image: myrepo/demo-api:2.0.0" in changed.stdout
    assert "-  generation: 1\n+  generation: 2" in changed.stdout
    # diff persists nothing
    live = json.loads(kube.run("get", "deploy", "demo-api", "-o", "json").stdout)
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "myrepo/demo-api:1.0.0"


def test_get_prints_kube_columns(kube: Kube) -> None:
    kube.run("apply", "-f", "-", input=demo())
    lines = kube.run("get", "deployments").stdout.splitlines()
    assert header(lines[0]) == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert header(lines[1])[:4] == ["demo-api", "0/2", "0", "0"]
    wide = kube.run("get", "deploy", "-o", "wide").stdout.splitlines()
    assert header(wide[0]) == [
        "NAME",
        "READY",
        "UP-TO-DATE",
        "AVAILABLE",
        "AGE",
        "CONTAINERS",
        "IMAGES",
        "SELECTOR",
    ]
    assert header(wide[1])[5:] == ["demo-api", "myrepo/demo-api:1.0.0", "app=demo-api"]
    as_yaml = yaml.safe_load(kube.run("get", "deploy", "demo-api", "-o", "yaml").stdout)
    assert as_yaml["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": "25%"}
    kube.run("label", "deploy", "demo-api", "tier=api")
    labelled = kube.run("get", "deploy", "-l", "tier=api", "-o", "name").stdout.split()
    assert labelled == ["deployment.apps/demo-api"]
    assert kube.run("get", "deploy", "-l", "tier in (db,cache)", "-o", "name").stdout.strip() == ""
    assert kube.run("get", "deploy", "-l", "tier,!missing", "-o", "name").stdout.split() == labelled
    everywhere = kube.run("get", "deploy", "-A", namespaced=False).stdout.splitlines()
    assert header(everywhere[0])[:2] == ["NAMESPACE", "NAME"]
    assert any(header(line)[:2] == [kube.namespace, "demo-api"] for line in everywhere[1:])


def test_get_watch_sees_changes(kube: Kube) -> None:
    kube.run("create", "configmap", "watched", "--from-literal=a=1")
    proc = kube.popen("get", "configmaps", "-w", "--output-watch-events")
    try:
        time.sleep(1.5)
        kube.run("label", "configmap", "watched", "seen=yes")
        kube.run("delete", "configmap", "watched")
        time.sleep(1.5)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    rows = [header(line) for line in out.splitlines() if line.strip()]
    assert rows[0] == ["EVENT", "NAME", "DATA", "AGE"]
    events = [(r[0], r[1]) for r in rows[1:] if r[1] == "watched"]
    assert events[0] == ("ADDED", "watched")
    assert ("MODIFIED", "watched") in events
    assert events[-1] == ("DELETED", "watched")


def test_describe_deployment(kube: Kube) -> None:
    kube.run("apply", "-f", "-", input=demo())
    out = kube.run("describe", "deployment", "demo-api").stdout
    assert re.search(r"^Name:\s+demo-api$", out, re.M)
    assert re.search(rf"^Namespace:\s+{kube.namespace}$", out, re.M)
    assert re.search(r"^Selector:\s+app=demo-api$", out, re.M)
    assert re.search(r"^StrategyType:\s+RollingUpdate$", out, re.M)
    assert re.search(r"^RollingUpdateStrategy:\s+25% max unavailable, 25% max surge$", out, re.M)
    assert re.search(r"Image:\s+myrepo/demo-api:1.0.0", out)
    assert re.search(r"Port:\s+3000/TCP", out)


def test_label_annotate_patch_scale(kube: Kube) -> None:
    kube.run("apply", "-f", "-", input=demo())
    assert (
        kube.run("label", "deploy", "demo-api", "team=core").stdout.strip()
        == "deployment.apps/demo-api labeled"
    )
    assert (
        kube.run("annotate", "deploy", "demo-api", "note=hi").stdout.strip()
        == "deployment.apps/demo-api annotated"
    )
    smp = kube.run(
        "patch",
        "deploy",
        "demo-api",
        "-p",
        '{"spec":{"template":{"spec":{"containers":[{"name":"demo-api","image":"myrepo/demo-api:3"}]}}}}',
    )
    assert smp.stdout.strip() == "deployment.apps/demo-api patched"
    merge = kube.run("patch", "deploy", "demo-api", "--type", "merge", "-p", '{"spec":{"minReadySeconds":5}}')
    assert merge.stdout.strip() == "deployment.apps/demo-api patched"
    jsonp = kube.run(
        "patch",
        "deploy",
        "demo-api",
        "--type",
        "json",
        "-p",
        '[{"op":"replace","path":"/spec/replicas","value":4}]',
    )
    assert jsonp.stdout.strip() == "deployment.apps/demo-api patched"
    same = kube.run("patch", "deploy", "demo-api", "--type", "merge", "-p", '{"spec":{"minReadySeconds":5}}')
    assert same.stdout.strip() == "deployment.apps/demo-api patched (no change)"
    assert (
        kube.run("scale", "deploy", "demo-api", "--replicas=3").stdout.strip()
        == "deployment.apps/demo-api scaled"
    )
    live = json.loads(kube.run("get", "deploy", "demo-api", "-o", "json").stdout)
    assert live["metadata"]["labels"]["team"] == "core"
    assert live["metadata"]["annotations"]["note"] == "hi"
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "myrepo/demo-api:3"
    assert live["spec"]["minReadySeconds"] == 5
    assert live["spec"]["replicas"] == 3
    bad = kube.run(
        "patch",
        "deploy",
        "demo-api",
        "--type",
        "json",
        "-p",
        '[{"op":"test","path":"/spec/replicas","value":9}]',
        check=False,
    )
    assert bad.returncode == 1
    assert "testing value /spec/replicas failed" in bad.stderr, bad.stderr


def test_create_typed_objects_over_protobuf(kube: Kube) -> None:
    assert (
        kube.run("create", "configmap", "cm1", "--from-literal=a=b").stdout.strip() == "configmap/cm1 created"
    )
    dup = kube.run("create", "configmap", "cm1", "--from-literal=a=b", check=False)
    assert dup.returncode == 1
    assert 'configmaps "cm1" already exists' in dup.stderr
    assert (
        kube.run("create", "secret", "generic", "s1", "--from-literal=k=v").stdout.strip()
        == "secret/s1 created"
    )
    secret = json.loads(kube.run("get", "secret", "s1", "-o", "json").stdout)
    assert secret["data"] == {"k": "dg=="} and secret["type"] == "Opaque"
    assert (
        kube.run("create", "deployment", "web", "--image=nginx:1.27", "--replicas=2").stdout.strip()
        == "deployment.apps/web created"
    )
    dep = json.loads(kube.run("get", "deploy", "web", "-o", "json").stdout)
    assert dep["spec"]["replicas"] == 2
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert (
        kube.run("create", "service", "clusterip", "web", "--tcp=80:8080").stdout.strip()
        == "service/web created"
    )
    svc = kube.run("get", "svc", "web").stdout.splitlines()
    assert header(svc[0]) == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    cells = header(svc[1])
    assert (
        cells[1] == "ClusterIP"
        and cells[2].startswith("10.")
        and cells[3] == "<none>"
        and cells[4] == "80/TCP"
    )
    ns = f"{kube.namespace}-extra"
    assert kube.run("create", "namespace", ns, namespaced=False).stdout.strip() == f"namespace/{ns} created"
    assert kube.run("auth", "can-i", "create", "deployments").stdout.strip() == "yes"


def test_delete_cascade_variants_and_wait(kube: Kube) -> None:
    for name in ("bg", "fg", "orph"):
        kube.run("create", "deployment", name, "--image=nginx:1.27")
    assert kube.run("delete", "deploy", "bg").stdout.strip() == 'deployment.apps "bg" deleted'
    assert (
        kube.run("delete", "deploy", "fg", "--cascade=foreground", timeout=30).stdout.strip()
        == 'deployment.apps "fg" deleted'
    )
    assert (
        kube.run("delete", "deploy", "orph", "--cascade=orphan", timeout=30).stdout.strip()
        == 'deployment.apps "orph" deleted'
    )
    left = kube.run("get", "deploy", "-o", "name").stdout.strip()
    assert left == ""
    missing = kube.run("delete", "deploy", "nothere", check=False)
    assert missing.returncode == 1
    assert 'Error from server (NotFound): deployments.apps "nothere" not found' in missing.stderr


def test_get_all(kube: Kube) -> None:
    kube.run("apply", "-f", "-", input=demo())
    kube.run("create", "service", "clusterip", "demo-api", "--tcp=80:3000")
    out = kube.run("get", "all").stdout
    assert "deployment.apps/demo-api" in out
    assert "service/demo-api" in out
