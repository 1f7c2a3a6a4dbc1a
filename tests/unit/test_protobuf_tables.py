"""The message tables: internally consistent, and right about the facts clients depend on.

Field numbers are spot-checked against k8s-wire.md section 10; the pointer flags against the Go
types of k8s.io/api v0.32 (the brief's list: a pointer keeps its zero, a plain field does not).
"""

from __future__ import annotations

import pytest

import ferry.cluster.apiserver.protobuf as package
from ferry.cluster.apiserver.protobuf.messages import KINDS, MESSAGES, Field, _parse, message_for


def field(message: str, name: str) -> Field:
    matches = [f for f in MESSAGES[message].fields.values() if f.name == name]
    assert len(matches) == 1, f"{message}.{name}"
    return matches[0]


def numbers(message: str) -> dict[str, int]:
    return {f.name: f.number for f in MESSAGES[message].fields.values()}


def test_public_surface() -> None:
    assert sorted(package.__all__) == ["CONTENT_TYPE", "KINDS", "MAGIC", "ProtobufError", "decode"]
    assert package.CONTENT_TYPE == "application/vnd.kubernetes.protobuf"
    assert package.MAGIC == b"k8s\x00"


def test_every_registered_kind_resolves_to_its_own_message() -> None:
    for (api_version, kind), name in KINDS.items():
        message = message_for(api_version, kind)
        assert message is not None and message.name == name == kind


def test_kinds_cover_the_typed_writes_of_kubectl_and_helm() -> None:
    required = {
        ("v1", "ConfigMap"),
        ("v1", "Secret"),
        ("v1", "Namespace"),
        ("v1", "Service"),
        ("v1", "Pod"),
        ("v1", "ServiceAccount"),
        ("v1", "Event"),
        ("apps/v1", "Deployment"),
        ("apps/v1", "ReplicaSet"),
        ("batch/v1", "Job"),
        ("authorization.k8s.io/v1", "SelfSubjectAccessReview"),
        ("coordination.k8s.io/v1", "Lease"),
        ("rbac.authorization.k8s.io/v1", "Role"),
        ("rbac.authorization.k8s.io/v1", "ClusterRole"),
        ("rbac.authorization.k8s.io/v1", "RoleBinding"),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    }
    assert required <= set(KINDS)
    delete_options = message_for("v1", "DeleteOptions")
    assert delete_options is not None and delete_options.name == "DeleteOptions"


def test_field_numbers_match_the_wire_reference() -> None:
    assert numbers("ObjectMeta") == {
        "name": 1,
        "generateName": 2,
        "namespace": 3,
        "selfLink": 4,
        "uid": 5,
        "resourceVersion": 6,
        "generation": 7,
        "creationTimestamp": 8,
        "deletionTimestamp": 9,
        "deletionGracePeriodSeconds": 10,
        "labels": 11,
        "annotations": 12,
        "ownerReferences": 13,
        "finalizers": 14,
        "managedFields": 17,
    }
    assert numbers("OwnerReference") == {
        "kind": 1,
        "name": 3,
        "uid": 4,
        "apiVersion": 5,
        "controller": 6,
        "blockOwnerDeletion": 7,
    }
    assert numbers("ConfigMap") == {"metadata": 1, "data": 2, "binaryData": 3, "immutable": 4}
    assert numbers("Secret") == {"metadata": 1, "data": 2, "type": 3, "stringData": 4, "immutable": 5}
    assert numbers("DeleteOptions") == {
        "gracePeriodSeconds": 1,
        "preconditions": 2,
        "orphanDependents": 3,
        "propagationPolicy": 4,
        "dryRun": 5,
        "ignoreStoreReadErrorWithClusterBreakingPotential": 6,
    }
    assert {k: v for k, v in numbers("ResourceAttributes").items() if v <= 7} == {
        "namespace": 1,
        "verb": 2,
        "group": 3,
        "version": 4,
        "resource": 5,
        "subresource": 6,
        "name": 7,
    }


@pytest.mark.parametrize(
    "path",
    [
        "DeploymentSpec.replicas",
        "DeploymentSpec.revisionHistoryLimit",
        "DeploymentSpec.progressDeadlineSeconds",
        "PodSpec.terminationGracePeriodSeconds",
        "PodSpec.activeDeadlineSeconds",
        "PodSpec.automountServiceAccountToken",
        "SecurityContext.allowPrivilegeEscalation",
        "SecurityContext.runAsNonRoot",
        "SecurityContext.readOnlyRootFilesystem",
        "ConfigMapVolumeSource.optional",
        "ConfigMapVolumeSource.defaultMode",
        "SecretVolumeSource.defaultMode",
        "JobSpec.activeDeadlineSeconds",
        "JobSpec.backoffLimit",
        "JobSpec.completions",
        "JobSpec.parallelism",
        "ServiceSpec.sessionAffinityConfig",
        "RollingUpdateDeployment.maxSurge",
        "VolumeSource.emptyDir",
    ],
)
def test_go_pointer_fields_are_marked(path: str) -> None:
    message, name = path.split(".")
    assert field(message, name).pointer


@pytest.mark.parametrize(
    "path",
    [
        "DeploymentSpec.paused",
        "DeploymentSpec.minReadySeconds",
        "PodSpec.hostNetwork",
        "ServicePort.nodePort",
    ],
)
def test_plain_omitempty_fields_are_not_marked(path: str) -> None:
    message, name = path.split(".")
    f = field(message, name)
    assert not (f.pointer or f.keep_zero)


def test_inline_embeddings_are_marked() -> None:
    assert field("Volume", "volumeSource").inline
    assert field("Probe", "handler").inline
    assert field("ConfigMapKeySelector", "localObjectReference").inline
    assert field("EphemeralContainer", "ephemeralContainerCommon").type == "EphemeralContainerCommon"
    assert MESSAGES["EphemeralContainerCommon"].fields == MESSAGES["Container"].fields


def test_a_broken_table_fails_loudly_at_import_time() -> None:
    with pytest.raises(RuntimeError, match=r"A\.x names unknown Nope"):
        _parse("A: x=1:Nope")
    with pytest.raises(RuntimeError, match="A repeats field number 1"):
        _parse("A: x=1 y=1")
    with pytest.raises(RuntimeError, match="bad field"):
        _parse("A: x=one")
