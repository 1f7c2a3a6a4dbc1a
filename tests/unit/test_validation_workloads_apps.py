"""Deployment, ReplicaSet, StatefulSet, DaemonSet and ControllerRevision validation."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from ferry.cluster.apiserver.errors import invalid
from ferry.cluster.resources.defaults.workloads import DEFAULTERS
from ferry.cluster.resources.validation.workloads import VALIDATORS


def make(kind: str, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
        },
    }
    body.update(spec)
    obj = {"kind": kind, "metadata": {"name": "web", "namespace": "default"}, "spec": body}
    DEFAULTERS[("apps", kind)](obj)
    return obj


def errors(obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    return [e.error() for e in VALIDATORS[("apps", obj["kind"])](obj, old)]


def changed(obj: dict[str, Any], fn: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    new = copy.deepcopy(obj)
    fn(new["spec"])
    return new


def test_valid_objects() -> None:
    for kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"):
        assert errors(make(kind)) == [], kind


def test_deployment_selector_must_match_template_labels() -> None:
    obj = make("Deployment", selector={"matchLabels": {"app": "x"}})
    errs = VALIDATORS[("apps", "Deployment")](obj, None)
    assert invalid("Deployment", "apps", "web", errs).message == (
        'Deployment.apps "web" is invalid: spec.template.metadata.labels: Invalid value: '
        'map[string]string{"app":"web"}: `selector` does not match template `labels`'
    )


def test_deployment_missing_and_empty_selector() -> None:
    obj = make("Deployment")
    del obj["spec"]["selector"]
    assert errors(obj) == [
        "spec.selector: Required value",
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not '
        "match template `labels`",
    ]
    assert errors(make("Deployment", selector={})) == [
        "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment"
    ]


def test_deployment_invalid_selector_skips_template_checks() -> None:
    obj = make("Deployment", selector={"matchExpressions": [{"key": "app", "operator": "Is"}]})
    errs = errors(obj)
    assert errs == [
        'spec.selector.matchExpressions[0].operator: Invalid value: "Is": not a valid selector operator',
        "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:"
        '[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:"app", Operator:"Is", '
        "Values:[]string(nil)}}}: invalid label selector",
    ]


def test_deployment_template_rules() -> None:
    obj = make("Deployment")
    pod_spec = obj["spec"]["template"]["spec"]
    pod_spec.update(restartPolicy="OnFailure", activeDeadlineSeconds=5)
    pod_spec["containers"][0]["image"] = ""
    assert errors(obj) == [
        "spec.template.spec.containers[0].image: Required value",
        'spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"',
        "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported",
    ]


def test_deployment_rolling_update_rules() -> None:
    both_zero = make(
        "Deployment",
        strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"}},
    )
    assert errors(both_zero) == [
        "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, "
        'StrVal:"0%"}: may not be 0 when `maxSurge` is 0'
    ]
    bad = make("Deployment", strategy={"rollingUpdate": {"maxSurge": "x", "maxUnavailable": "120%"}})
    assert errors(bad) == [
        'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"120%"}: '
        "must not be greater than 100%",
        'spec.strategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"x"}: '
        "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', "
        "regex used for validation is '[0-9]+%')",
    ]
    negative = make("Deployment", strategy={"rollingUpdate": {"maxSurge": -1}})
    assert errors(negative) == [
        "spec.strategy.rollingUpdate.maxSurge: Invalid value: -1: must be greater than or equal to 0"
    ]


def test_deployment_strategy_types() -> None:
    recreate = make("Deployment", strategy={"type": "Recreate", "rollingUpdate": {}})
    assert errors(recreate) == [
        "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"
    ]
    assert errors(make("Deployment", strategy={"type": "BlueGreen"})) == [
        'spec.strategy: Unsupported value: apps.DeploymentStrategy{Type:"BlueGreen", '
        'RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: supported values: "Recreate", "RollingUpdate"'
    ]


def test_deployment_numbers() -> None:
    obj = make("Deployment", replicas=-1, minReadySeconds=700, revisionHistoryLimit=-2)
    assert errors(obj) == [
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
        "spec.revisionHistoryLimit: Invalid value: -2: must be greater than or equal to 0",
        "spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds",
    ]


def test_deployment_selector_is_immutable() -> None:
    old = make("Deployment")
    new = changed(old, lambda s: s["selector"]["matchLabels"].update(tier="a"))
    new["spec"]["template"]["metadata"]["labels"]["tier"] = "a"
    assert errors(new, old) == [
        'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "tier":"a"}, '
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"
    ]
    assert errors(changed(old, lambda s: s.update(replicas=5)), old) == []


def test_replica_set() -> None:
    assert errors(make("ReplicaSet", selector={})) == [
        "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment"
    ]
    old = make("ReplicaSet")
    new = changed(old, lambda s: s.update(selector={"matchLabels": {"app": "web", "x": "y"}}))
    assert errors(new, old)[-1].endswith("field is immutable")


def test_stateful_set_rules() -> None:
    obj = make(
        "StatefulSet", podManagementPolicy="Random", updateStrategy={"type": "OnDelete", "rollingUpdate": {}}
    )
    obj["spec"]["template"]["spec"]["activeDeadlineSeconds"] = 3
    assert errors(obj) == [
        "spec.podManagementPolicy: Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'",
        "spec.updateStrategy.rollingUpdate: Invalid value: {}: only allowed for updateStrategy 'RollingUpdate'",
        "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in StatefulSet is not Supported",
    ]
    assert errors(make("StatefulSet", selector={}))[0].endswith("empty selector is invalid for statefulset")


def test_stateful_set_claim_templates_provide_volumes() -> None:
    obj = make("StatefulSet", volumeClaimTemplates=[{"metadata": {"name": "data"}, "spec": {}}])
    obj["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [{"name": "data", "mountPath": "/d"}]
    assert errors(obj) == []


def test_stateful_set_update_rules() -> None:
    old = make("StatefulSet", serviceName="web")
    ok = changed(old, lambda s: s.update(replicas=3, minReadySeconds=5))
    assert errors(ok, old) == []
    bad = changed(old, lambda s: s.update(serviceName="other"))
    assert errors(bad, old) == [
        "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
        "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
    ]


def test_daemon_set_rules() -> None:
    obj = make(
        "DaemonSet",
        updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 1}},
    )
    assert errors(obj) == [
        "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:0, IntVal:1, "
        'StrVal:""}: may not be set when maxUnavailable is non-zero'
    ]
    zero = make("DaemonSet", updateStrategy={"rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}})
    assert errors(zero) == [
        "spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0"
    ]
    no_sel = make("DaemonSet")
    del no_sel["spec"]["selector"]
    assert errors(no_sel) == [
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not '
        "match template `labels`"
    ]


def test_controller_revision() -> None:
    validate = VALIDATORS[("apps", "ControllerRevision")]
    assert [e.error() for e in validate({"revision": -1}, None)] == [
        "data: Required value: data is mandatory",
        "revision: Invalid value: -1: must be greater than or equal to 0",
    ]
    old = {"data": {"spec": {"a": 1}}, "revision": 1}
    assert [e.error() for e in validate({"data": {"spec": {"a": 2}}, "revision": 1}, old)] == [
        'data: Invalid value: {"spec":{"a":2}}: field is immutable'
    ]
    assert validate({"data": {"spec": {"a": 1}}, "revision": 1}, old) == []


def test_daemon_set_update_reports_immutable_selector_first() -> None:
    old = make("DaemonSet")
    new = changed(old, lambda s: s.update(selector={"matchLabels": {"app": "other"}}))
    assert errors(new, old) == [
        'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"other"}, '
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable",
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not '
        "match template `labels`",
    ]
    assert errors(make("DaemonSet", updateStrategy={"type": "Surge"})) == [
        'spec.updateStrategy: Unsupported value: apps.DaemonSetUpdateStrategy{Type:"Surge", '
        'RollingUpdate:(*apps.RollingUpdateDaemonSet)(nil)}: supported values: "RollingUpdate", "OnDelete"'
    ]
