"""Pod updates: only image, activeDeadlineSeconds, tolerations (additions) and grace period may change."""

from __future__ import annotations

import copy
from typing import Any

from ferry.cluster.resources.defaults.pods import default_pod
from ferry.cluster.resources.validation.pods import UPDATABLE_POD_FIELDS, validate_pod

HEADER = (
    "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
    "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
    "previously negative)"
)


def base() -> dict[str, Any]:
    obj: dict[str, Any] = {
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {
            "containers": [{"name": "app", "image": "app:1", "ports": [{"containerPort": 80}]}],
            "tolerations": [
                {"key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}
            ],
        },
    }
    default_pod(obj)
    return obj


def update(change: Any) -> list[str]:
    old = base()
    new = copy.deepcopy(old)
    change(new["spec"])
    default_pod(new)
    return [e.error() for e in validate_pod(new, old)]


def test_header_matches_kube_132() -> None:
    expected = f"spec: Forbidden: pod updates may not change fields other than {UPDATABLE_POD_FIELDS}"
    assert expected == HEADER


def test_image_change_is_allowed() -> None:
    assert update(lambda s: s["containers"][0].update(image="app:2")) == []


def test_active_deadline_rules() -> None:
    assert update(lambda s: s.update(activeDeadlineSeconds=60)) == []
    old = base()
    old["spec"]["activeDeadlineSeconds"] = 60
    new = copy.deepcopy(old)
    new["spec"]["activeDeadlineSeconds"] = 120
    assert [e.error() for e in validate_pod(new, old)] == [
        "spec.activeDeadlineSeconds: Invalid value: 120: must be less than or equal to previous value"
    ]
    del new["spec"]["activeDeadlineSeconds"]
    assert [e.error() for e in validate_pod(new, old)] == [
        "spec.activeDeadlineSeconds: Invalid value: null: must not update from a positive integer to nil value"
    ]


def test_tolerations_only_additions_and_seconds() -> None:
    assert update(lambda s: s["tolerations"].append({"key": "x", "operator": "Exists"})) == []
    assert update(lambda s: s["tolerations"][0].update(tolerationSeconds=60)) == []
    assert update(lambda s: s["tolerations"][0].update(key="other")) == [
        "spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"
    ]


def test_other_fields_are_forbidden_with_a_diff() -> None:
    errs = update(lambda s: s["containers"][0]["ports"][0].update(containerPort=81))
    assert len(errs) == 1
    header, *diff = errs[0].split("\n")
    assert header == HEADER
    assert diff == [
        '  - containers: [{"image": "app:1", "imagePullPolicy": "IfNotPresent", "name": "app", "ports": '
        '[{"containerPort": 80, "protocol": "TCP"}], "resources": {}, "terminationMessagePath": '
        '"/dev/termination-log", "terminationMessagePolicy": "File"}]',
        '  + containers: [{"image": "app:1", "imagePullPolicy": "IfNotPresent", "name": "app", "ports": '
        '[{"containerPort": 81, "protocol": "TCP"}], "resources": {}, "terminationMessagePath": '
        '"/dev/termination-log", "terminationMessagePolicy": "File"}]',
    ]


def test_adding_containers_is_forbidden() -> None:
    errs = update(lambda s: s["containers"].append({"name": "side", "image": "s:1"}))
    assert errs == ["spec.containers: Forbidden: pod updates may not add or remove containers"]


def test_grace_period_may_become_one_after_negative() -> None:
    old = base()
    old["spec"]["terminationGracePeriodSeconds"] = -1
    new = copy.deepcopy(old)
    new["spec"]["terminationGracePeriodSeconds"] = 1
    assert [e.error() for e in validate_pod(new, old)] == []
    new["spec"]["terminationGracePeriodSeconds"] = 5
    errs = [e.error() for e in validate_pod(new, old)]
    assert len(errs) == 1 and errs[0].startswith(HEADER)
