"""`render`: the engine's output as plain objects: release facts, order, namespaces, hooks, notes, CRDs."""

from __future__ import annotations

import tarfile
from pathlib import Path

from ferry.charts import render
from tests.unit.charts_support import make_chart

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata: {{a: '1'}}\n"


def test_release_facts_reach_the_templates(tmp_path: Path) -> None:
    chart = make_chart(
        tmp_path,
        {
            "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-facts\ndata:\n"
            "  facts: '{{ .Release.Namespace }} {{ .Release.Revision }} {{ .Release.IsInstall }} "
            "{{ .Release.IsUpgrade }} {{ .Capabilities.KubeVersion.Version }}'\n"
        },
    )
    first = render(chart, release="shop", namespace="sit")
    assert first.objects[0]["metadata"]["name"] == "shop-facts"
    assert first.objects[0]["data"]["facts"].split()[:4] == ["sit", "1", "true", "false"]
    upgrade = render(chart, release="shop", namespace="qa", revision=7, is_upgrade=True, kube_version="1.30")
    assert upgrade.objects[0]["data"]["facts"] == "qa 7 false true v1.30.0"
    assert (upgrade.release, upgrade.namespace, upgrade.revision) == ("shop", "qa", 7)
    assert (upgrade.chart.name, upgrade.chart.version, upgrade.chart.app_version) == ("app", "0.1.0", "1.0.0")


def test_objects_in_template_path_order_then_document_order(tmp_path: Path) -> None:
    chart = make_chart(
        tmp_path,
        {
            "b.yaml": CM.format(name="b1") + "---\n" + CM.format(name="b2"),
            "a.yaml": CM.format(name="a1"),
            "c.yaml": CM.format(name="c1"),
        },
    )
    rendered = render(chart, release="r", namespace="ns")
    assert [o["metadata"]["name"] for o in rendered.objects] == ["a1", "b1", "b2", "c1"]
    assert rendered.sources == [
        "app/templates/a.yaml",
        "app/templates/b.yaml",
        "app/templates/b.yaml",
        "app/templates/c.yaml",
    ]


def test_empty_documents_and_comment_only_files_are_dropped(tmp_path: Path) -> None:
    chart = make_chart(
        tmp_path,
        {
            "cm.yaml": "---\n# just a comment\n---\n" + CM.format(name="only") + "---\n---\n",
            "off.yaml": "{{- if .Values.enabled }}\n" + CM.format(name="off") + "{{- end }}\n",
            "comments.yaml": "# nothing rendered\n",
        },
    )
    assert [o["metadata"]["name"] for o in render(chart, release="r", namespace="ns").objects] == ["only"]


def test_namespace_is_filled_only_for_namespaced_kinds_without_one(tmp_path: Path) -> None:
    chart = make_chart(
        tmp_path,
        {
            "all.yaml": CM.format(name="plain")
            + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: elsewhere, namespace: other}\n"
            + "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: extra}\n"
            + "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: reader}\n"
            + "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: local}\n"
            + "---\napiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g}\n"
        },
    )
    rendered = render(chart, release="r", namespace="sit")
    got = {o["metadata"]["name"]: o["metadata"].get("namespace") for o in rendered.objects}
    assert got == {
        "plain": "sit",
        "elsewhere": "other",
        "extra": None,
        "reader": None,
        "local": "sit",
        "g": "sit",  # unknown custom kinds are taken as namespaced
    }


CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Cluster
  names: {plural: widgets, kind: Widget, singular: widget}
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]
"""


def test_crds_come_first_and_their_scope_decides_the_namespace(tmp_path: Path) -> None:
    chart = make_chart(
        tmp_path,
        {
            "w.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n",
            "c.yaml": CM.format(name="c"),
        },
        crds={"widgets.yaml": CRD},
    )
    rendered = render(chart, release="r", namespace="sit")
    assert [(o["kind"], o["metadata"].get("namespace")) for o in rendered.objects] == [
        ("CustomResourceDefinition", None),
        ("ConfigMap", "sit"),
        ("Widget", None),
    ]
    assert rendered.sources[0] == "app/crds/widgets.yaml"


def test_hooks_are_kept_apart_and_namespaced(tmp_path: Path) -> None:
    hook = (
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n"
        "    helm.sh/hook: pre-upgrade\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n"
        "      containers: [{name: m, image: busybox}]\n"
    )
    chart = make_chart(tmp_path, {"hook.yaml": hook, "cm.yaml": CM.format(name="c")})
    rendered = render(chart, release="r", namespace="sit")
    assert [o["metadata"]["name"] for o in rendered.objects] == ["c"]
    assert [o["metadata"]["name"] for o in rendered.hooks] == ["migrate"]
    assert rendered.hooks[0]["metadata"]["namespace"] == "sit"


def test_notes_are_kept_apart_and_subchart_notes_dropped(tmp_path: Path) -> None:
    chart = make_chart(
        tmp_path, {"NOTES.txt": "Hello from {{ .Release.Name }}\n", "cm.yaml": CM.format(name="c")}
    )
    sub = chart / "charts" / "sub"
    (sub / "templates").mkdir(parents=True)
    (sub / "Chart.yaml").write_text("apiVersion: v2\nname: sub\nversion: 0.1.0\n")
    (sub / "templates" / "NOTES.txt").write_text("sub notes\n")
    (sub / "templates" / "cm.yaml").write_text(CM.format(name="from-sub"))
    rendered = render(chart, release="rel", namespace="ns")
    assert rendered.notes == "Hello from rel\n"
    assert sorted(o["metadata"]["name"] for o in rendered.objects) == ["c", "from-sub"]


def test_a_v1_list_is_flattened(tmp_path: Path) -> None:
    chart = make_chart(
        tmp_path,
        {
            "list.yaml": "apiVersion: v1\nkind: List\nitems:\n- "
            + CM.format(name="x").replace("\n", "\n  ")
            + "\n- "
            + CM.format(name="y").replace("\n", "\n  ")
        },
    )
    assert [o["metadata"]["name"] for o in render(chart, release="r", namespace="ns").objects] == ["x", "y"]


def test_timestamps_stay_strings(tmp_path: Path) -> None:
    chart = make_chart(
        tmp_path,
        {"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\ndata:\n  day: 2024-01-01\n"},
    )
    assert render(chart, release="r", namespace="ns").objects[0]["data"]["day"] == "2024-01-01"


def test_lookup_is_empty_offline(tmp_path: Path) -> None:
    chart = make_chart(
        tmp_path,
        {
            "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: l}\ndata:\n"
            '  found: {{ if lookup "v1" "ConfigMap" "ns" "x" }}\'yes\'{{ else }}\'no\'{{ end }}\n'
        },
    )
    assert render(chart, release="r", namespace="ns").objects[0]["data"]["found"] == "no"


def test_a_packaged_chart_renders_like_its_directory(tmp_path: Path) -> None:
    chart = make_chart(tmp_path, {"cm.yaml": CM.format(name="{{ .Release.Name }}-c")})
    archive = tmp_path / "app-0.1.0.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(chart, arcname="app")
    from_dir = render(chart, release="r", namespace="ns")
    from_tgz = render(archive, release="r", namespace="ns")
    assert (
        from_tgz.objects
        == from_dir.objects
        == [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "r-c", "namespace": "ns"},
                "data": {"a": "1"},
            }
        ]
    )
