"""``kind: List`` documents with the real kubectl: it validates them against ``/openapi/v2`` (protobuf)."""

from __future__ import annotations

import json

from tests.e2e.conftest import Kube

LIST = """\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: one}
  data: {x: "1"}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: two}
"""


def test_apply_create_and_delete_a_list(kube: Kube) -> None:
    applied = kube.run("apply", "-f", "-", input=LIST)
    assert applied.stdout.split("\n")[:2] == ["configmap/one created", "configmap/two created"]
    # What `kubectl get -o yaml` prints for several objects is a List too: it applies back unchanged.
    printed = kube.run("get", "configmaps", "one", "two", "-o", "yaml").stdout
    assert printed.startswith("apiVersion: v1\nitems:")
    again = kube.run("apply", "-f", "-", input=printed)
    assert again.stdout.split("\n")[:2] == ["configmap/one configured", "configmap/two configured"]
    kube.run("delete", "-f", "-", input=LIST)
    created = kube.run("create", "-f", "-", input=LIST)
    assert created.stdout.split("\n")[:2] == ["configmap/one created", "configmap/two created"]


def test_a_list_item_with_an_unknown_field_is_refused_by_the_server(kube: Kube) -> None:
    bad = LIST.replace('  data: {x: "1"}\n', '  data: {x: "1"}\n  bogus: 2\n')
    refused = kube.run("apply", "-f", "-", input=bad, check=False)
    assert refused.returncode == 1
    assert 'strict decoding error: unknown field "bogus"' in refused.stderr
    # The other item is still applied: kubectl sends each item on its own, as against kube.
    names = [i["metadata"]["name"] for i in json.loads(kube.run("get", "cm", "-o", "json").stdout)["items"]]
    assert "one" not in names and "two" in names


def test_openapi_v2_is_served_in_json_and_protobuf(kube: Kube) -> None:
    doc = json.loads(kube.run("get", "--raw", "/openapi/v2", namespaced=False).stdout)
    assert doc["swagger"] == "2.0" and doc["definitions"] == {}
