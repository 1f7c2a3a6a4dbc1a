"""The chart ferry ships for its own reconciler (charts/ferry-reconciler): it renders and lints with ferry's
chart engine, and meets ferry's guardrails: an image pinned by tag and digest (never latest), probes and
limits on every container, least-privilege RBAC (no cluster-admin, no wildcards, namespaced Roles only in
the target namespaces), a checksum of its config on the pod template, and a schema that refuses bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ferry.charts import ValuesError, ValuesLayer, lint, render

CHART = Path(__file__).resolve().parents[2] / "charts" / "ferry-reconciler"
DIGEST = "sha256:" + "ab" * 32


def values(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "image": {"repository": "registry.example.com/ferry", "tag": "0.1.0-a8f3d21", "digest": DIGEST},
        "appRepo": {"url": "https://git.example.com/shop/app.git", "credentialsSecret": "git-creds"},
        "targetNamespaces": ["shop-sit", "shop-qa"],
    }
    base.update(over)
    return base


def objects(**over: Any) -> list[dict[str, Any]]:
    layer = ValuesLayer(values(**over), source="test values")
    return render(CHART, release="ferry-reconciler", namespace="ferry-system", values=[layer]).objects


def of(objs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] == kind]


def test_it_lints_clean_and_renders_the_reconciler_with_its_webhook_service() -> None:
    report = lint(CHART, values=[ValuesLayer(values(), source="test values")])
    assert report.clean and report.findings == (), [str(f) for f in report.findings]
    objs = objects()
    assert sorted({o["kind"] for o in objs}) == [
        "ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment", "Role", "RoleBinding", "Service",
        "ServiceAccount",
    ]  # fmt: skip
    [dep] = of(objs, "Deployment")
    assert dep["spec"]["replicas"] == 1 and dep["spec"]["strategy"] == {"type": "Recreate"}
    [c] = dep["spec"]["template"]["spec"]["containers"]
    assert c["command"] == ["python3", "-m", "ferry"]
    assert c["args"][:3] == [
        "reconcile",
        "--repo-url=$(FERRY_APP_REPO_URL)",
        "--webhook=$(FERRY_WEBHOOK_LISTEN)",
    ]
    [cm] = of(objs, "ConfigMap")
    assert cm["data"]["FERRY_APP_REPO_URL"] == "https://git.example.com/shop/app.git"
    assert cm["data"]["FERRY_WEBHOOK_LISTEN"] == "0.0.0.0:8080" and cm["data"]["FERRY_IN_CLUSTER"] == "1"
    [svc] = of(objs, "Service")
    assert svc["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    assert dep["spec"]["template"]["spec"]["serviceAccountName"] == "ferry-reconciler"


def test_guardrails_image_by_digest_probes_limits_and_no_root() -> None:
    [dep] = of(objects(), "Deployment")
    pod = dep["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    for c in pod["containers"]:
        assert c["image"] == f"registry.example.com/ferry:0.1.0-a8f3d21@{DIGEST}"
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert c[probe]["httpGet"] == {"path": "/healthz", "port": "http"}, probe
        assert set(c["resources"]["limits"]) == {"cpu", "memory"}
        assert set(c["resources"]["requests"]) == {"cpu", "memory"}
        assert c["securityContext"]["readOnlyRootFilesystem"] is True


def test_rbac_is_least_privilege_namespaced_roles_only_in_the_target_namespaces() -> None:
    objs = objects()
    roles = of(objs, "Role")
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["shop-qa", "shop-sit"]
    bindings = of(objs, "RoleBinding") + of(objs, "ClusterRoleBinding")
    assert all(b["roleRef"]["name"] != "cluster-admin" for b in bindings)
    assert all(
        s == {"kind": "ServiceAccount", "name": "ferry-reconciler", "namespace": "ferry-system"}
        for b in bindings
        for s in b["subjects"]
    )
    every_rule = [rule for r in roles + of(objs, "ClusterRole") for rule in r["rules"]]
    for rule in every_rule:
        assert "*" not in rule["apiGroups"] + rule["resources"] + rule["verbs"], rule
        assert not {"escalate", "bind", "impersonate"} & set(rule["verbs"]), rule
    configmaps = next(r for r in roles[0]["rules"] if "configmaps" in r["resources"])
    assert {"get", "list", "watch", "create", "patch", "delete"} <= set(
        configmaps["verbs"]
    )  # status, inventory
    [cluster_role] = of(objs, "ClusterRole")
    assert cluster_role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["namespaces"],
            "resourceNames": ["shop-sit", "shop-qa"],
            "verbs": ["get"],
        }
    ]
    [with_create] = of(objects(rbac={"create": True, "createNamespaces": True, "rules": []}), "ClusterRole")
    assert {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["create"]} in with_create["rules"]


def test_a_changed_setting_changes_the_config_checksum_and_nothing_else_does() -> None:
    def checksum(**over: Any) -> str:
        [dep] = of(objects(**over), "Deployment")
        value: str = dep["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
        return value

    base = checksum()
    assert len(base) == 64
    assert checksum(reconcile={"intervalSeconds": 10}) != base
    assert checksum(appRepo={"url": "https://git.example.com/shop/other.git"}) != base
    assert (
        checksum(
            resources={"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}}
        )
        == base
    )


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"image": {"repository": "r.example.com/ferry", "tag": "latest", "digest": ""}}, "image.tag"),
        ({"image": {"repository": "r.example.com/ferry", "tag": "", "digest": ""}}, "image.tag"),
        (
            {"image": {"repository": "r.example.com/ferry:1.0", "tag": "1.0", "digest": ""}},
            "image.repository",
        ),
        ({"appRepo": {"url": ""}}, "appRepo.url"),
        ({"appRepo": {"url": "/srv/app"}}, "appRepo.url"),
        ({"targetNamespaces": []}, "targetNamespaces"),
        (
            {"rbac": {"create": True, "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get"]}]}},
            "rbac.rules",
        ),
        ({"resources": {"limits": None}}, "resources"),  # null deletes the default limits
    ],
)
def test_the_schema_refuses_bad_values(over: dict[str, Any], message: str) -> None:
    with pytest.raises(ValuesError, match=message):
        objects(**over)
