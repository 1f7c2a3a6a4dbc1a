"""Small charts written into a test's tmp_path, for the `ferry.charts` unit tests (real Helm engine, in-process)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "helm"
EXAMPLE_SERVICES = ("demo-api", "auth-service", "order-service", "payment-service", "api-gateway")


def make_chart(
    root: Path,
    templates: dict[str, str],
    *,
    name: str = "app",
    values: str = "",
    schema: dict[str, Any] | None = None,
    dependencies: list[dict[str, str]] | None = None,
    crds: dict[str, str] | None = None,
) -> Path:
    """Write a chart directory ``root/name`` and return its path."""
    chart = root / name
    (chart / "templates").mkdir(parents=True)
    lines = ["apiVersion: v2", f"name: {name}", "version: 0.1.0", 'appVersion: "1.0.0"']
    if dependencies:
        lines.append("dependencies:")
        for dep in dependencies:
            lines.append(f"  - name: {dep['name']}")
            lines += [f"    {k}: {v}" for k, v in dep.items() if k != "name"]
    (chart / "Chart.yaml").write_text("\n".join(lines) + "\n")
    (chart / "values.yaml").write_text(values)
    if schema is not None:
        (chart / "values.schema.json").write_text(json.dumps(schema))
    for path, text in templates.items():
        (chart / "templates" / path).write_text(text)
    for path, text in (crds or {}).items():
        (chart / "crds").mkdir(exist_ok=True)
        (chart / "crds" / path).write_text(text)
    return chart


def echo_values_chart(root: Path, *, values: str = "", schema: dict[str, Any] | None = None) -> Path:
    """A chart with one ConfigMap whose data.values is ``toJson .Values``: renders show the merged values."""
    return make_chart(
        root,
        {
            "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: echo\n"
            "data:\n  values: {{ toJson .Values | quote }}\n"
        },
        values=values,
        schema=schema,
    )


def deployment(
    name: str,
    pod_spec: dict[str, Any],
    *,
    kind: str = "Deployment",
    api_version: str = "apps/v1",
    namespace: str = "ns",
) -> dict[str, Any]:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec}},
    }


def configmap(name: str, data: dict[str, str], *, namespace: str = "ns", **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data,
        **extra,
    }


def secret(name: str, *, namespace: str = "ns", **content: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        **content,
    }


def template_annotations(obj: dict[str, Any]) -> dict[str, str]:
    result: dict[str, str] = obj["spec"]["template"].get("metadata", {}).get("annotations", {})
    return result
