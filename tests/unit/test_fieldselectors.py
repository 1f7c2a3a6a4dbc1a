"""Per-kind field selectors: accepted labels, object field values, kube's rejection messages."""

from __future__ import annotations

import pytest

from ferry.cluster.apiserver.selectors import SelectorError, parse_field_selector
from ferry.cluster.resources.fieldselectors import (
    FIELD_SELECTORS,
    accepted_fields,
    convert_field_selector,
    object_fields,
    unsupported_field_message,
)

POD = {
    "metadata": {"name": "web-1", "namespace": "shop"},
    "spec": {
        "nodeName": "n1",
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "serviceAccountName": "default",
        "hostNetwork": True,
    },
    "status": {
        "phase": "Running",
        "podIPs": [{"ip": "10.0.0.5"}, {"ip": "fd00::5"}],
        "nominatedNodeName": "",
    },
}


def test_pod_fields() -> None:
    assert object_fields("", "Pod", POD) == {
        "metadata.name": "web-1",
        "metadata.namespace": "shop",
        "spec.nodeName": "n1",
        "spec.host": "n1",
        "spec.restartPolicy": "Always",
        "spec.schedulerName": "default-scheduler",
        "spec.serviceAccountName": "default",
        "spec.hostNetwork": "true",
        "status.phase": "Running",
        "status.podIP": "10.0.0.5",
        "status.podIPs": "",
        "status.nominatedNodeName": "",
    }
    assert object_fields("", "Pod", {})["spec.hostNetwork"] == "false"


def test_pod_accepted_labels_and_spec_host_alias() -> None:
    assert accepted_fields("", "Pod") == {
        "metadata.name",
        "metadata.namespace",
        "spec.nodeName",
        "spec.host",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.podIPs",
        "status.nominatedNodeName",
    }
    converted = convert_field_selector("", "Pod", parse_field_selector("spec.host=n1,status.phase!=Failed"))
    assert converted.requirements == (("spec.nodeName", "=", "n1"), ("status.phase", "!=", "Failed"))
    assert converted.matches(object_fields("", "Pod", POD))


def test_core_event_fields_as_kubectl_describe_uses_them() -> None:
    event = {
        "metadata": {"name": "web-1.17c0", "namespace": "shop"},
        "involvedObject": {
            "kind": "Pod",
            "name": "web-1",
            "namespace": "shop",
            "uid": "u-1",
            "apiVersion": "v1",
        },
        "reason": "Pulled",
        "type": "Normal",
        "reportingComponent": "kubelet",
    }
    fields = object_fields("", "Event", event)
    assert fields["source"] == "kubelet"  # source.component falls back to reportingComponent
    assert fields["involvedObject.resourceVersion"] == ""
    describe = "involvedObject.uid=u-1,involvedObject.name=web-1,involvedObject.namespace=shop,involvedObject.kind=Pod"
    assert convert_field_selector("", "Event", parse_field_selector(describe)).matches(fields)
    event["source"] = {"component": "kubelet-x"}
    assert object_fields("", "Event", event)["source"] == "kubelet-x"


def test_events_k8s_io_uses_its_own_names() -> None:
    event = {
        "metadata": {"name": "e"},
        "regarding": {"kind": "Pod", "name": "web-1"},
        "reportingController": "kubelet",
    }
    fields = object_fields("events.k8s.io", "Event", event)
    assert (fields["regarding.kind"], fields["reportingController"]) == ("Pod", "kubelet")
    with pytest.raises(SelectorError) as err:
        convert_field_selector("events.k8s.io", "Event", parse_field_selector("involvedObject.kind=Pod"))
    assert str(err.value) == "field label not supported: involvedObject.kind"


def test_other_kinds_values() -> None:
    assert object_fields("", "Secret", {"type": "kubernetes.io/tls"})["type"] == "kubernetes.io/tls"
    assert object_fields("", "Namespace", {"status": {"phase": "Active"}})["status.phase"] == "Active"
    assert object_fields("", "Node", {"spec": {"unschedulable": True}})["spec.unschedulable"] == "true"
    assert object_fields("", "Node", {})["spec.unschedulable"] == "false"
    assert object_fields("", "ReplicationController", {"status": {"replicas": 3}})["status.replicas"] == "3"
    assert object_fields("batch", "Job", {"status": {"succeeded": 2}})["status.successful"] == "2"
    assert object_fields("batch", "Job", {})["status.successful"] == "0"
    assert object_fields("apps", "Deployment", {"metadata": {"name": "d"}}) == {
        "metadata.name": "d",
        "metadata.namespace": "",
    }


@pytest.mark.parametrize(
    ("group", "kind", "field", "message"),
    [
        ("", "Pod", "spec.foo", "field label not supported: spec.foo"),
        ("", "Node", "metadata.namespace", "field label not supported: metadata.namespace"),
        ("", "Namespace", "name", "field label not supported: name"),
        ("batch", "Job", "status.succeeded", 'field label "status.succeeded" not supported for batchv1.Job'),
        (
            "apps",
            "ReplicaSet",
            "status.replicas",
            '"status.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"',
        ),
        (
            "",
            "ConfigMap",
            "data",
            '"data" is not a known field selector: only "metadata.name", "metadata.namespace"',
        ),
    ],
)
def test_rejections_use_the_kinds_message(group: str, kind: str, field: str, message: str) -> None:
    with pytest.raises(SelectorError) as err:
        convert_field_selector(group, kind, parse_field_selector(f"{field}=x"))
    assert str(err.value) == message
    assert unsupported_field_message(field, group=group, kind=kind) == message


def test_generic_message_without_kind() -> None:
    assert unsupported_field_message("spec.foo") == "field label not supported: spec.foo"


def test_metadata_fields_are_accepted_where_kube_accepts_them() -> None:
    assert accepted_fields("apps", "Deployment") == {"metadata.name", "metadata.namespace"}
    assert accepted_fields("", "Node") == {"metadata.name", "spec.unschedulable"}
    assert accepted_fields("", "Namespace") == {"metadata.name", "status.phase"}
    assert accepted_fields("certificates.k8s.io", "CertificateSigningRequest") == {
        "metadata.name",
        "spec.signerName",
    }


def test_declared_labels_are_exactly_what_extractors_produce() -> None:
    for labels, extract in FIELD_SELECTORS.values():
        assert tuple(extract({})) == labels
        assert all(isinstance(v, str) for v in extract({}).values())
