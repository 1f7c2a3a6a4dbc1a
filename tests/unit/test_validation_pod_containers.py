"""Pod spec validation: containers, ports, env, probes, resources, policies (exact paths and messages)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ferry.cluster.apiserver.errors import invalid
from ferry.cluster.resources.defaults.pods import default_pod
from ferry.cluster.resources.validation.pods import validate_pod, validate_pod_template

C0 = "spec.containers[0]"


def pod(container: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    ctr = {"name": "app", "image": "nginx:1.27"}
    ctr.update(container or {})
    obj: dict[str, Any] = {
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {"containers": [ctr], **spec},
    }
    default_pod(obj)
    return obj


def errors(obj: dict[str, Any]) -> list[str]:
    return [e.error() for e in validate_pod(obj, None)]


def test_defaulted_minimal_pod_is_valid() -> None:
    assert errors(pod()) == []


def test_containers_required() -> None:
    obj = pod()
    obj["spec"]["containers"] = []
    assert errors(obj) == ["spec.containers: Required value"]


def test_image_required_and_name_rules() -> None:
    obj = pod({"image": "", "name": "Bad_Name"})
    assert errors(obj) == [
        f'{C0}.name: Invalid value: "Bad_Name": a lowercase RFC 1123 label must consist of lower case '
        "alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. "
        "'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
        f"{C0}.image: Required value",
    ]


def test_duplicate_container_names() -> None:
    obj = pod()
    obj["spec"]["containers"].append(copy.deepcopy(obj["spec"]["containers"][0]))
    assert errors(obj) == ['spec.containers[1].name: Duplicate value: "app"']


def test_ports() -> None:
    ports = [
        {"containerPort": 0},
        {"containerPort": 70000, "protocol": "HTTP", "name": "web"},
        {"containerPort": 80, "name": "web"},
        {"containerPort": 81, "name": "Web--", "hostPort": 99999},
    ]
    assert errors(pod({"ports": ports})) == [
        f"{C0}.ports[0].containerPort: Required value",
        f"{C0}.ports[1].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
        f'{C0}.ports[1].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
        f'{C0}.ports[2].name: Duplicate value: "web"',
        f'{C0}.ports[3].name: Invalid value: "Web--": must contain only alpha-numeric characters (a-z, 0-9), '
        "and hyphens (-)",
        f'{C0}.ports[3].name: Invalid value: "Web--": must not contain consecutive hyphens',
        f'{C0}.ports[3].name: Invalid value: "Web--": must not begin or end with a hyphen',
        f"{C0}.ports[3].hostPort: Invalid value: 99999: must be between 1 and 65535, inclusive",
    ]


def test_host_port_conflicts() -> None:
    obj = pod({"ports": [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 81, "hostPort": 8080}]})
    assert errors(obj) == [f'{C0}.ports[1].hostPort: Duplicate value: "TCP//8080"']


def test_env() -> None:
    env = [
        {"name": ""},
        {"name": "A=B"},
        {"name": "X", "valueFrom": {}},
        {"name": "Y", "value": "v", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {
            "name": "Z",
            "valueFrom": {
                "fieldRef": {"fieldPath": "spec.nodeName"},
                "secretKeyRef": {"name": "s", "key": "k"},
            },
        },
        {"name": "W", "valueFrom": {"fieldRef": {"fieldPath": "status.phase"}}},
        {"name": "V", "valueFrom": {"fieldRef": {"fieldPath": "bogus"}}},
        {"name": "U", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "a/b"}}},
    ]
    assert errors(pod({"env": env})) == [
        f"{C0}.env[0].name: Required value",
        f'{C0}.env[1].name: Invalid value: "A=B": a valid environment variable name must consist only of '
        "printable ASCII characters other than '='",
        f'{C0}.env[2].valueFrom: Invalid value: "": must specify one of: `fieldRef`, `resourceFieldRef`, '
        "`configMapKeyRef` or `secretKeyRef`",
        f'{C0}.env[3].valueFrom: Invalid value: "": may not be specified when `value` is not empty',
        f'{C0}.env[4].valueFrom: Invalid value: "": may not have more than one field specified at a time',
        f'{C0}.env[5].valueFrom.fieldRef.fieldPath: Unsupported value: "status.phase": supported values: '
        '"metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName", '
        '"status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"',
        f'{C0}.env[6].valueFrom.fieldRef.fieldPath: Invalid value: "bogus": error converting fieldPath: '
        "field label not supported: bogus",
        f'{C0}.env[7].valueFrom.configMapKeyRef.key: Invalid value: "a/b": a valid config key must consist '
        "of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex "
        "used for validation is '[-._a-zA-Z0-9]+')",
    ]


def test_env_downward_labels_subscript_is_allowed() -> None:
    env = [{"name": "L", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}}]
    assert errors(pod({"env": env})) == []


def test_env_from() -> None:
    env_from = [{"prefix": "P_"}, {"configMapRef": {"name": "cm"}, "secretRef": {"name": "s"}}]
    assert errors(pod({"envFrom": env_from})) == [
        f'{C0}.envFrom: Invalid value: "": must specify one of: `configMapRef` or `secretRef`',
        f'{C0}.envFrom: Invalid value: "": may not have more than one field specified at a time',
    ]


def test_probes() -> None:
    container = {
        "livenessProbe": {"successThreshold": 2, "httpGet": {"port": 8080}, "exec": {"command": ["true"]}},
        "readinessProbe": {
            "periodSeconds": -1,
            "terminationGracePeriodSeconds": 5,
            "tcpSocket": {"port": "http"},
        },
        "startupProbe": {"successThreshold": 3},
    }
    assert errors(pod(container)) == [
        f"{C0}.livenessProbe.httpGet: Forbidden: may not specify more than 1 handler type",
        f"{C0}.livenessProbe.successThreshold: Invalid value: 2: must be 1",
        f"{C0}.readinessProbe.periodSeconds: Invalid value: -1: must be greater than or equal to 0",
        f"{C0}.readinessProbe.terminationGracePeriodSeconds: Invalid value: 5: must not be set for readinessProbes",
        f"{C0}.startupProbe: Required value: must specify a handler type",
        f"{C0}.startupProbe.successThreshold: Invalid value: 3: must be 1",
    ]


def test_probe_handler_details() -> None:
    container = {
        "livenessProbe": {"httpGet": {"path": "", "port": 0, "scheme": "FTP"}},
        "readinessProbe": {"exec": {"command": []}},
    }
    obj = pod(container)
    obj["spec"]["containers"][0]["livenessProbe"]["httpGet"]["path"] = ""
    obj["spec"]["containers"][0]["livenessProbe"]["httpGet"]["scheme"] = "FTP"
    assert errors(obj) == [
        f"{C0}.livenessProbe.httpGet.path: Required value",
        f"{C0}.livenessProbe.httpGet.port: Invalid value: 0: must be between 1 and 65535, inclusive",
        f'{C0}.livenessProbe.httpGet.scheme: Unsupported value: "FTP": supported values: "HTTP", "HTTPS"',
        f"{C0}.readinessProbe.exec.command: Required value",
    ]


def test_resources_requests_must_not_exceed_limits() -> None:
    res = {"requests": {"cpu": "2", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "512Mi"}}
    obj = pod({"resources": res})
    assert errors(obj) == [
        f'{C0}.resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1',
        f'{C0}.resources.requests: Invalid value: "1Gi": must be less than or equal to memory limit of 512Mi',
    ]
    message = invalid("Pod", "", "p", validate_pod(obj, None)).message
    assert message.startswith(
        'Pod "p" is invalid: [spec.containers[0].resources.requests: Invalid value: "2"'
    )


def test_resources_names_and_values() -> None:
    res = {"limits": {"gpu": "1", "example.com/dev": "500m", "memory": "-1"}, "requests": {"cpu": "abc"}}
    obj = pod()
    obj["spec"]["containers"][0]["resources"] = res  # as sent: skip the Pod defaulter's limit->request copy
    assert errors(obj) == [
        f'{C0}.resources.limits[example.com/dev]: Invalid value: "500m": must be an integer',
        f'{C0}.resources.limits[gpu]: Invalid value: "gpu": must be a standard resource type or fully qualified',
        f'{C0}.resources.limits[gpu]: Invalid value: "gpu": must be a standard resource for containers',
        f'{C0}.resources.limits[memory]: Invalid value: "-1": must be greater than or equal to 0',
        f'{C0}.resources.requests[cpu]: Invalid value: "abc": quantities must match the regular expression '
        "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
    ]


def test_extended_resources_need_equal_limits() -> None:
    res = {"requests": {"example.com/dev": "2"}, "limits": {"example.com/dev": "1"}}
    assert errors(pod({"resources": res})) == [
        f'{C0}.resources.requests: Invalid value: "2": must be equal to example.com/dev limit of 1'
    ]


def test_policies_and_enums() -> None:
    obj = pod(
        {"imagePullPolicy": "Sometimes", "terminationMessagePolicy": "Log"},
        restartPolicy="Maybe",
        dnsPolicy="X",
    )
    assert errors(obj) == [
        f'{C0}.terminationMessagePolicy: Unsupported value: "Log": supported values: "File", "FallbackToLogsOnError"',
        f'{C0}.imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"',
        'spec.restartPolicy: Unsupported value: "Maybe": supported values: "Always", "OnFailure", "Never"',
        'spec.dnsPolicy: Unsupported value: "X": supported values: "ClusterFirstWithHostNet", "ClusterFirst", '
        '"Default", "None"',
    ]


def test_spec_level_fields() -> None:
    obj = pod(
        activeDeadlineSeconds=0,
        hostname="a.b",
        serviceAccountName="Bad",
        tolerations=[{"operator": "Equal", "value": "x"}, {"key": "k", "operator": "Exists", "value": "v"}],
        dnsPolicy="None",
    )
    errs = errors(obj)
    assert errs[0] == "spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"
    assert errs[1].startswith('spec.serviceAccountName: Invalid value: "Bad": a lowercase RFC 1123 subdomain')
    assert errs[2:] == [
        "spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive",
        'spec.hostname: Invalid value: "a.b": must not contain dots',
        'spec.tolerations[0].operator: Invalid value: "Equal": operator must be Exists when `key` is empty, '
        'which means "match all values and all keys"',
        "spec.tolerations[1].operator: Invalid value: \"v\": value must be empty when `operator` is 'Exists'",
    ]


def test_init_containers() -> None:
    obj = pod(
        initContainers=[{"name": "app", "image": "busybox", "readinessProbe": {"exec": {"command": ["x"]}}}]
    )
    assert errors(obj) == [
        'spec.initContainers[0].name: Duplicate value: "app"',
        "spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers without "
        "restartPolicy=Always",
    ]
    sidecar = pod(
        initContainers=[{"name": "side", "image": "b", "restartPolicy": "Always", "readinessProbe": {}}]
    )
    assert errors(sidecar) == [
        "spec.initContainers[0].readinessProbe: Required value: must specify a handler type"
    ]


def test_pod_only_rules() -> None:
    obj = pod({"image": " nginx"}, ephemeralContainers=[{"name": "dbg", "image": "busybox"}])
    assert errors(obj) == [
        f'{C0}.image: Invalid value: " nginx": must not have leading or trailing whitespace',
        "spec.ephemeralContainers: Forbidden: cannot be set on create",
    ]


def test_host_network_requires_matching_host_port() -> None:
    obj = pod({"ports": [{"containerPort": 80, "hostPort": 81}]}, hostNetwork=True)
    assert errors(obj) == [
        f"{C0}.ports[0].hostPort: Invalid value: 81: must match `containerPort` when `hostNetwork` is true"
    ]


def test_wrong_json_types_become_field_errors() -> None:
    obj = pod({"ports": "80", "env": [{"name": 5}]}, terminationGracePeriodSeconds="30")
    assert errors(obj) == [
        'spec.terminationGracePeriodSeconds: Invalid value: "30": must be of type integer',
        f'{C0}.ports: Invalid value: "80": must be of type array',
        f"{C0}.env[0].name: Invalid value: 5: must be of type string",
        f"{C0}.env[0].name: Required value",
    ]


def test_pod_template_kind_reports_template_labels_path() -> None:
    obj: dict[str, Any] = {
        "template": {"metadata": {"labels": {"a": "-x"}}, "spec": pod()["spec"]},
    }
    errs = [e.error() for e in validate_pod_template(obj, None)]
    assert len(errs) == 1 and errs[0].startswith(
        'template.labels: Invalid value: "-x": a valid label must be'
    )


@pytest.mark.parametrize("bad_spec", [None, "x", 3, []])
def test_spec_of_wrong_type(bad_spec: Any) -> None:
    obj = {"metadata": {"name": "p"}, "spec": bad_spec}
    errs = [e.error() for e in validate_pod(obj, None)]
    assert errs and all(isinstance(e, str) for e in errs)
