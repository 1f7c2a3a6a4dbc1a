"""Helm's real release machinery (helm-python-sdk 0.2.2, Helm Go SDK v4.2.3) against the embedded cluster.

Each test installs the small chart in ``charts/web`` into a namespace of its own (the ``kube`` fixture) on the
session's ``ferry cluster up --detach`` process, and reads the results back with the real kubectl.

What Helm does on the wire (k8s-wire.md §4): release Secrets are written as protobuf (POST/PUT/DELETE) and found
with label-selector lists; every chart object is written with server-side apply, fieldManager =
basename(argv[0]), fieldValidation=Strict. OpenAPI validation is left ON everywhere: no call passes
``disable_openapi_validation``, so every install/upgrade/rollback also needs the server's ``/openapi/v3``.
Waiting is off (the wrapper's default ``wait=None``): there are no controllers yet, Deployments never get ready.
Only the wrapper's public ``Config`` API is used; none of these steps needs the raw ``_native.call_string`` path.

Note: Helm keeps its discovery cache in ``~/.kube/cache`` (or ``$KUBECACHEDIR`` as set when the process started;
the Go runtime reads the environment once, so it cannot be redirected from inside the test).
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest

from tests.e2e.conftest import Kube

pytestmark = pytest.mark.e2e

CHART = Path(__file__).parent / "charts" / "web"
REL = "shop"
OBJ = f"{REL}-web"  # every chart object is named "<release>-web"
KINDS = ("configmap", "service", "deployment")
#: Upgrade: new image tag, 3 replicas, and FEATURE_FLAG removed (null deletes a default key in Helm values).
UPGRADE_VALUES: dict[str, Any] = {"image": {"tag": "2.0.0"}, "replicas": 3, "env": {"FEATURE_FLAG": None}}
#: Helm's SSA field manager: basename of the process's C argv[0] (the interpreter, e.g. "python").
FIELD_MANAGER = os.path.basename(sys.orig_argv[0])


# --- helpers -------------------------------------------------------------------------------------------------


def kget(kube: Kube, kind: str, name: str) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(
        kube.run("get", kind, name, "-o", "json", "--show-managed-fields").stdout
    )
    return obj


def assert_absent(kube: Kube, kind: str, name: str) -> None:
    proc = kube.run("get", kind, name, "-o", "name", check=False)
    assert proc.returncode != 0 and "NotFound" in proc.stderr, (proc.stdout, proc.stderr)


def release_secrets(kube: Kube, release: str) -> dict[str, dict[str, Any]]:
    """The release's storage Secrets, by name, found the way Helm finds them (label selector)."""
    out = kube.run("get", "secrets", "-l", f"owner=helm,name={release}", "-o", "json").stdout
    return {item["metadata"]["name"]: item for item in json.loads(out)["items"]}


def system_labels(secret: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = secret["metadata"]["labels"]
    return {key: labels[key] for key in ("owner", "name", "status", "version") if key in labels}


def decode_release(secret: dict[str, Any]) -> dict[str, Any]:
    """``data.release`` holds base64(gzip(JSON)) as bytes, so the JSON Secret carries it base64-encoded twice."""
    payload = base64.b64decode(base64.b64decode(secret["data"]["release"]))
    release: dict[str, Any] = json.loads(gzip.decompress(payload))
    return release


def web_container(deploy: dict[str, Any]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = deploy["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["web"]
    return containers[0]


def env_of(deploy: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in web_container(deploy).get("env", [])}


def revisions(cfg: helm.Config, release: str) -> list[tuple[int, str]]:
    return [(r["revision"], r["status"]) for r in cfg.history(release)]


def assert_helm_owned(obj: dict[str, Any], namespace: str) -> None:
    meta = obj["metadata"]
    assert meta["labels"]["app.kubernetes.io/managed-by"] == "Helm", meta
    assert meta["annotations"]["meta.helm.sh/release-name"] == REL, meta
    assert meta["annotations"]["meta.helm.sh/release-namespace"] == namespace, meta


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


# --- fixtures ------------------------------------------------------------------------------------------------


@pytest.fixture
def helm_log() -> Iterator[Records]:
    """Helm's own debug log (it arrives on Go threads); must be set up before the Config is created."""
    logger = logging.getLogger("tests.e2e.helm")
    records = Records()
    logger.addHandler(records)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    helm.enable_logging(logging.DEBUG, logger)
    try:
        yield records
    finally:
        helm.disable_logging()
        logger.removeHandler(records)


@pytest.fixture
def cfg(kube: Kube) -> Iterator[helm.Config]:
    with helm.Config(kubeconfig_path=kube.kubeconfig, namespace=kube.namespace) as config:
        yield config


# --- tests ---------------------------------------------------------------------------------------------------


def test_install_creates_helm_owned_objects_and_release_secret(kube: Kube, helm_log: Records) -> None:
    # built here, after helm_log is installed: the library binds its log handler when a Config is created
    with helm.Config(kubeconfig_path=kube.kubeconfig, namespace=kube.namespace) as cfg:
        check_install(kube, cfg)
    # Helm took the server-side apply path with strict field validation (validation was not disabled)
    assert any(
        "using server-side apply" in m and "fieldValidationDirective=Strict" in m for m in helm_log.messages
    ), helm_log.messages


def check_install(kube: Kube, cfg: helm.Config) -> None:
    release = cfg.install(CHART, REL)
    assert (release["name"], release["namespace"], release["revision"], release["status"]) == (
        REL,
        kube.namespace,
        1,
        "deployed",
    )

    objects = {kind: kget(kube, kind, OBJ) for kind in KINDS}
    for obj in objects.values():
        assert_helm_owned(obj, kube.namespace)
        # written by server-side apply under Helm's field manager
        applied = [m for m in obj["metadata"].get("managedFields", []) if m["operation"] == "Apply"]
        assert [m["manager"] for m in applied] == [FIELD_MANAGER], obj["metadata"].get("managedFields")
    assert objects["configmap"]["data"] == {"greeting": "hello", "imageTag": "1.0.0"}
    svc_spec = objects["service"]["spec"]
    assert svc_spec["ports"][0]["port"] == 80 and svc_spec["ports"][0]["targetPort"] == 8080
    assert svc_spec["selector"] == {"app.kubernetes.io/name": "web", "app.kubernetes.io/instance": REL}
    assert svc_spec["clusterIP"]
    deploy = objects["deployment"]
    assert deploy["spec"]["replicas"] == 2
    assert web_container(deploy)["image"] == "myrepo/web:1.0.0"
    assert env_of(deploy) == {"LOG_LEVEL": "info", "FEATURE_FLAG": "on"}

    secrets = release_secrets(kube, REL)
    assert list(secrets) == [f"sh.helm.release.v1.{REL}.v1"]
    secret = secrets[f"sh.helm.release.v1.{REL}.v1"]
    assert secret["type"] == "helm.sh/release.v1"
    assert system_labels(secret) == {"owner": "helm", "name": REL, "status": "deployed", "version": "1"}
    stored = decode_release(secret)  # the protobuf bytes Helm sent round-trip intact
    assert (stored["name"], stored["namespace"], stored["version"]) == (REL, kube.namespace, 1)
    assert stored["info"]["status"] == "deployed"
    assert stored["chart"]["metadata"]["name"] == "web"
    assert stored["apply_method"] == "ssa"

    assert cfg.status(REL)["status"] == "deployed"
    assert [(r["name"], r["revision"]) for r in cfg.list()] == [(REL, 1)]
    assert revisions(cfg, REL) == [(1, "deployed")]


def test_upgrade_applies_new_image_and_removes_env_var(kube: Kube, cfg: helm.Config) -> None:
    cfg.install(CHART, REL)
    # a field owned by another manager must survive Helm's apply
    kube.run("annotate", "deployment", OBJ, "example.com/owner=payments")
    generation = kget(kube, "deployment", OBJ)["metadata"]["generation"]

    upgraded = cfg.upgrade(CHART, REL, UPGRADE_VALUES)
    assert (upgraded["revision"], upgraded["status"]) == (2, "deployed")

    deploy = kget(kube, "deployment", OBJ)
    assert web_container(deploy)["image"] == "myrepo/web:2.0.0"
    assert deploy["spec"]["replicas"] == 3
    # FEATURE_FLAG was applied by Helm in v1 and is absent from v2: server-side apply removes it
    assert env_of(deploy) == {"LOG_LEVEL": "info"}
    assert deploy["metadata"]["generation"] == generation + 1
    assert deploy["metadata"]["annotations"]["example.com/owner"] == "payments"
    assert deploy["metadata"]["labels"]["app.kubernetes.io/version"] == "2.0.0"
    assert_helm_owned(deploy, kube.namespace)
    assert kget(kube, "configmap", OBJ)["data"] == {"greeting": "hello", "imageTag": "2.0.0"}

    secrets = release_secrets(kube, REL)
    assert sorted(secrets) == [f"sh.helm.release.v1.{REL}.v1", f"sh.helm.release.v1.{REL}.v2"]
    assert system_labels(secrets[f"sh.helm.release.v1.{REL}.v1"])["status"] == "superseded"
    v2 = secrets[f"sh.helm.release.v1.{REL}.v2"]
    assert v2["type"] == "helm.sh/release.v1"
    assert system_labels(v2) == {"owner": "helm", "name": REL, "status": "deployed", "version": "2"}
    assert decode_release(v2)["config"] == UPGRADE_VALUES

    assert revisions(cfg, REL) == [(1, "superseded"), (2, "deployed")]


def test_rollback_creates_revision_3_with_the_old_image(kube: Kube, cfg: helm.Config) -> None:
    cfg.install(CHART, REL)
    cfg.upgrade(CHART, REL, UPGRADE_VALUES)
    assert web_container(kget(kube, "deployment", OBJ))["image"] == "myrepo/web:2.0.0"

    cfg.rollback(REL, version=1)

    assert revisions(cfg, REL) == [(1, "superseded"), (2, "superseded"), (3, "deployed")]
    deploy = kget(kube, "deployment", OBJ)
    assert web_container(deploy)["image"] == "myrepo/web:1.0.0"
    assert deploy["spec"]["replicas"] == 2
    assert env_of(deploy) == {"LOG_LEVEL": "info", "FEATURE_FLAG": "on"}
    assert kget(kube, "configmap", OBJ)["data"]["imageTag"] == "1.0.0"

    secrets = release_secrets(kube, REL)
    assert {name: system_labels(s)["status"] for name, s in secrets.items()} == {
        f"sh.helm.release.v1.{REL}.v1": "superseded",
        f"sh.helm.release.v1.{REL}.v2": "superseded",
        f"sh.helm.release.v1.{REL}.v3": "deployed",
    }
    v3 = decode_release(secrets[f"sh.helm.release.v1.{REL}.v3"])
    assert v3["version"] == 3
    assert v3["info"]["description"] == "Rollback to 1"
    assert cfg.status(REL)["revision"] == 3


def test_second_install_of_the_same_name_fails(kube: Kube, cfg: helm.Config) -> None:
    cfg.install(CHART, REL)
    before = kget(kube, "deployment", OBJ)["metadata"]["resourceVersion"]

    with pytest.raises(helm.HelmReleaseError, match="cannot reuse a name that is still in use"):
        cfg.install(CHART, REL, {"image": {"tag": "9.9.9"}})

    assert list(release_secrets(kube, REL)) == [f"sh.helm.release.v1.{REL}.v1"]
    deploy = kget(kube, "deployment", OBJ)
    assert deploy["metadata"]["resourceVersion"] == before
    assert web_container(deploy)["image"] == "myrepo/web:1.0.0"
    assert revisions(cfg, REL) == [(1, "deployed")]


def test_uninstall_removes_objects_and_release_secrets(kube: Kube, cfg: helm.Config) -> None:
    cfg.install(CHART, REL)
    cfg.upgrade(CHART, REL, UPGRADE_VALUES)
    assert len(release_secrets(kube, REL)) == 2

    result = cfg.uninstall(REL)

    assert result["release"]["status"] == "uninstalled"
    for kind in KINDS:
        assert_absent(kube, kind, OBJ)
    assert release_secrets(kube, REL) == {}
    with pytest.raises(helm.HelmNotFoundError):
        cfg.history(REL)
    assert cfg.list(all_states=True) == []
    # the name is free again
    assert cfg.install(CHART, REL)["revision"] == 1
    assert list(release_secrets(kube, REL)) == [f"sh.helm.release.v1.{REL}.v1"]


def test_unknown_field_is_rejected_and_the_release_marked_failed(
    kube: Kube, cfg: helm.Config, tmp_path: Path
) -> None:
    """A typo in a template: strict field validation refuses the Deployment, Helm records the failure."""
    bad = tmp_path / "web"
    shutil.copytree(CHART, bad)
    template = bad / "templates" / "deployment.yaml"
    text = template.read_text()
    assert "  replicas: {{ .Values.replicas }}\n" in text
    template.write_text(text.replace("  replicas: {{ .Values.replicas }}\n", "  replicaz: 3\n"))

    with pytest.raises(helm.HelmReleaseError, match="replicaz"):
        cfg.install(bad, REL)

    assert_absent(kube, "deployment", OBJ)
    secrets = release_secrets(kube, REL)
    assert list(secrets) == [f"sh.helm.release.v1.{REL}.v1"]
    assert system_labels(secrets[f"sh.helm.release.v1.{REL}.v1"])["status"] == "failed"
    assert revisions(cfg, REL) == [(1, "failed")]
