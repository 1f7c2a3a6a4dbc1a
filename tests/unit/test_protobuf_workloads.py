"""Workload messages end to end: PodSpec/Container with volumes, probes, env, scheduling; Job, status, Event.

Every message is written with Go's zero fill (non-pointer zeros present), so each test checks both
that the real content survives and that the fill does not leak into the JSON.
"""

from __future__ import annotations

from typing import Any

from ferry.cluster.apiserver.protobuf import decode
from tests.unit.test_protobuf_encoder import body, entries, go_container, go_meta, go_pod_spec


def pod_spec(spec: list[Any]) -> dict[str, Any]:
    result: dict[str, Any] = decode(body("v1", "Pod", [(1, go_meta("p")), (2, spec)]))["spec"]
    return result


def first_container(extra: list[Any]) -> dict[str, Any]:
    result: dict[str, Any] = pod_spec(go_pod_spec([go_container("app", "img:1", extra=extra)]))["containers"][
        0
    ]
    return result


def test_volumes_of_the_common_sources_keep_pointer_zeros_and_inline_names() -> None:
    key_to_path = [(1, "k"), (2, "p"), (3, 0o400)]
    volumes = [
        [(1, "scratch"), (2, [(2, [(1, "")])])],
        [(1, "host"), (2, [(1, [(1, "/var/log"), (2, "")])])],
        [(1, "cfg"), (2, [(19, [(1, [(1, "app-config")]), (2, key_to_path), (3, 420), (4, False)])])],
        [(1, "sec"), (2, [(6, [(1, "creds"), (3, 0), (4, True)])])],
        [(1, "pvc"), (2, [(10, [(1, "claim"), (2, False)])])],
        [(1, "info"), (2, [(16, [(1, [(1, "labels"), (2, [(1, "v1"), (2, "metadata.labels")])])])])],
        [
            (1, "proj"),
            (2, [(26, [(1, [(4, [(1, ""), (2, 3600), (3, "token")])]), (1, [(3, [(1, [(1, "ca")])])])])]),
        ],
    ]
    spec = [(1, v) for v in volumes] + go_pod_spec([go_container("app", "img:1")])
    assert pod_spec(spec)["volumes"] == [
        {"name": "scratch", "emptyDir": {}},
        {"name": "host", "hostPath": {"path": "/var/log", "type": ""}},
        {
            "name": "cfg",
            "configMap": {
                "name": "app-config",
                "items": [{"key": "k", "path": "p", "mode": 256}],
                "defaultMode": 420,
                "optional": False,
            },
        },
        {"name": "sec", "secret": {"secretName": "creds", "defaultMode": 0, "optional": True}},
        {"name": "pvc", "persistentVolumeClaim": {"claimName": "claim"}},
        {
            "name": "info",
            "downwardAPI": {
                "items": [
                    {"path": "labels", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels"}}
                ]
            },
        },
        {
            "name": "proj",
            "projected": {
                "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3600, "path": "token"}},
                    {"configMap": {"name": "ca"}},
                ]
            },
        },
    ]


def test_container_ports_env_env_from_and_mounts() -> None:
    extra = [
        (3, "/bin/app"),
        (4, "--port=80"),
        (6, [(1, "http"), (2, 0), (3, 8080), (4, "TCP"), (5, "")]),
        (7, [(1, "PLAIN"), (2, "v")]),
        (7, [(1, "POD"), (2, ""), (3, [(1, [(1, "v1"), (2, "metadata.name")])])]),
        (7, [(1, "CFG"), (2, ""), (3, [(3, [(1, [(1, "cm")]), (2, "key"), (3, False)])])]),
        (7, [(1, "PW"), (2, ""), (3, [(4, [(1, [(1, "db")]), (2, "password")])])]),
        (7, [(1, "MEM"), (2, ""), (3, [(2, [(1, ""), (2, "limits.memory"), (3, [(1, "1Mi")])])])]),
        (9, [(1, "data"), (2, True), (3, "/data"), (4, ""), (6, "")]),
        (19, [(1, "APP_"), (2, [(1, [(1, "env-cm")])])]),
        (19, [(1, ""), (3, [(1, [(1, "env-secret")]), (2, True)])]),
    ]
    assert first_container(extra) == {
        "name": "app",
        "image": "img:1",
        "command": ["/bin/app"],
        "args": ["--port=80"],
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
        "envFrom": [
            {"prefix": "APP_", "configMapRef": {"name": "env-cm"}},
            {"secretRef": {"name": "env-secret", "optional": True}},
        ],
        "env": [
            {"name": "PLAIN", "value": "v"},
            {"name": "POD", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
            {
                "name": "CFG",
                "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "key", "optional": False}},
            },
            {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
            {
                "name": "MEM",
                "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}},
            },
        ],
        "volumeMounts": [{"name": "data", "readOnly": True, "mountPath": "/data"}],
    }


def test_probes_inline_their_handler_and_keep_non_omitempty_ports() -> None:
    http = [(1, "/healthz"), (2, [(1, 1), (2, 0), (3, "http")]), (3, ""), (4, "HTTP")]
    extra = [
        (10, [(1, [(2, http)]), (2, 0), (3, 1), (4, 10), (5, 1), (6, 3)]),
        (11, [(1, [(3, [(1, [(1, 0), (2, 5432)]), (2, "")])]), (2, 5), (3, 0), (4, 0), (5, 0), (6, 0)]),
        (22, [(1, [(4, [(1, 0)])]), (2, 0), (3, 0), (4, 0), (5, 0), (6, 0), (7, 0)]),
        (12, [(2, [(1, [(1, "sh"), (1, "-c"), (1, "sleep 5")])])]),
        (12, [(1, [(4, [(1, 0)])])]),
    ]
    container = first_container(extra)
    assert container["livenessProbe"] == {
        "httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert container["readinessProbe"] == {"tcpSocket": {"port": 5432}, "initialDelaySeconds": 5}
    assert container["startupProbe"] == {"grpc": {"port": 0}, "terminationGracePeriodSeconds": 0}
    assert container["lifecycle"] == {
        "postStart": {"sleep": {"seconds": 0}},
        "preStop": {"exec": {"command": ["sh", "-c", "sleep 5"]}},
    }


def test_security_contexts_keep_every_pointer_bool_and_int() -> None:
    container_sc = [
        (1, [(2, "ALL")]),
        (2, False),
        (4, 1000),
        (5, True),
        (6, True),
        (7, False),
        (11, [(1, "RuntimeDefault")]),
    ]
    pod_sc = [(2, 0), (3, False), (5, 2000)]
    spec = [(14, pod_sc), *go_pod_spec([go_container("app", "img:1", extra=[(15, container_sc)])])]
    got = pod_spec(spec)
    assert got["securityContext"] == {"runAsUser": 0, "runAsNonRoot": False, "fsGroup": 2000}
    assert got["containers"][0]["securityContext"] == {
        "capabilities": {"drop": ["ALL"]},
        "privileged": False,
        "runAsUser": 1000,
        "runAsNonRoot": True,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def test_scheduling_tolerations_affinity_and_spread() -> None:
    selector = [*entries(1, {"app": "web"})]
    requirement = [(1, "zone"), (2, "In"), (3, "a"), (3, "b")]
    node_affinity = [(1, [(1, [(1, requirement)])]), (2, [(1, 10), (2, [(1, requirement)])])]
    anti = [(2, [(1, 100), (2, [(1, selector), (3, "kubernetes.io/hostname")])])]
    spread = [(1, 1), (2, "zone"), (3, "DoNotSchedule"), (4, selector)]
    tolerations = [(1, "dedicated"), (2, "Equal"), (3, "web"), (4, "NoExecute"), (5, 0)]
    spec: list[Any] = [(18, [(1, node_affinity), (3, anti)]), (22, tolerations), (33, spread)]
    spec += [(4, 0), (5, 600), (21, False), *go_pod_spec([go_container("app", "img:1")])]
    got = pod_spec(spec)
    expr = {"key": "zone", "operator": "In", "values": ["a", "b"]}
    assert got["affinity"] == {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [expr]}]
            },
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 10, "preference": {"matchExpressions": [expr]}}
            ],
        },
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 100,
                    "podAffinityTerm": {
                        "labelSelector": {"matchLabels": {"app": "web"}},
                        "topologyKey": "kubernetes.io/hostname",
                    },
                }
            ]
        },
    }
    assert got["tolerations"] == [
        {
            "key": "dedicated",
            "operator": "Equal",
            "value": "web",
            "effect": "NoExecute",
            "tolerationSeconds": 0,
        }
    ]
    assert got["topologySpreadConstraints"] == [
        {
            "maxSkew": 1,
            "topologyKey": "zone",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"app": "web"}},
        }
    ]
    assert (got["terminationGracePeriodSeconds"], got["activeDeadlineSeconds"]) == (0, 600)
    assert got["automountServiceAccountToken"] is False


def test_init_and_ephemeral_containers_share_the_container_fields() -> None:
    spec = [
        (20, go_container("init", "busybox")),
        *go_pod_spec([go_container("app", "img:1")]),
        (34, [(1, go_container("debug", "busybox", extra=[(18, True)])), (2, "app")]),
    ]
    got = pod_spec(spec)
    assert got["initContainers"] == [{"name": "init", "image": "busybox"}]
    assert got["ephemeralContainers"] == [
        {"name": "debug", "image": "busybox", "tty": True, "targetContainerName": "app"}
    ]


def test_job_spec_pointers_and_selector_expressions() -> None:
    selector = [(2, [(1, "app"), (2, "Exists")])]
    template = [(1, go_meta()), (2, go_pod_spec([go_container("j", "busybox")], restart_policy="Never"))]
    spec = [
        (1, 1),
        (2, 0),
        (3, 0),
        (4, selector),
        (5, False),
        (6, template),
        (7, 0),
        (8, 0),
        (9, "NonIndexed"),
    ]
    spec += [(10, False)]
    job = decode(body("batch/v1", "Job", [(1, go_meta("j")), (2, spec), (3, [(4, 0), (5, 0), (6, 0)])]))
    assert job == {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "j"},
        "spec": {
            "parallelism": 1,
            "completions": 0,
            "activeDeadlineSeconds": 0,
            "backoffLimit": 0,
            "selector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]},
            "manualSelector": False,
            "template": {
                "spec": {"containers": [{"name": "j", "image": "busybox"}], "restartPolicy": "Never"}
            },
            "ttlSecondsAfterFinished": 0,
            "completionMode": "NonIndexed",
            "suspend": False,
        },
    }


def test_deployment_status_and_conditions() -> None:
    condition: list[Any] = [(1, "Available"), (2, "True"), (4, "MinimumReplicasAvailable"), (5, "ok")]
    condition += [(6, [(1, 1795745477)]), (7, [(1, 1795745400)])]
    status = [(1, 3), (2, 2), (3, 2), (4, 2), (5, 0), (6, condition), (7, 2), (8, 0)]
    obj = decode(body("apps/v1", "Deployment", [(3, status)]))
    assert obj["status"] == {
        "observedGeneration": 3,
        "replicas": 2,
        "updatedReplicas": 2,
        "readyReplicas": 2,
        "availableReplicas": 2,
        "conditions": [
            {
                "type": "Available",
                "status": "True",
                "lastUpdateTime": "2026-11-27T02:11:17Z",
                "lastTransitionTime": "2026-11-27T02:10:00Z",
                "reason": "MinimumReplicasAvailable",
                "message": "ok",
            }
        ],
        "collisionCount": 0,
    }


def test_core_event_with_micro_time_series_and_non_omitempty_reporting_fields() -> None:
    involved = [(1, "Pod"), (2, "default"), (3, "web-1"), (4, "uid"), (5, "v1"), (6, ""), (7, "")]
    raw = [
        (1, go_meta("web-1.1", "default")),
        (2, involved),
        (3, "Pulled"),
        (4, "pulled"),
        (5, [(1, "kubelet"), (2, "")]),
        (6, b""),
        (7, b""),
        (8, 0),
        (9, "Normal"),
        (10, [(1, 1795745477), (2, 5_000)]),
        (11, [(1, 2), (2, [(1, 1795745478)])]),
        (12, ""),
        (14, ""),
        (15, ""),
    ]
    assert decode(body("v1", "Event", raw)) == {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "web-1.1", "namespace": "default"},
        "involvedObject": {
            "kind": "Pod",
            "namespace": "default",
            "name": "web-1",
            "uid": "uid",
            "apiVersion": "v1",
        },
        "reason": "Pulled",
        "message": "pulled",
        "source": {"component": "kubelet"},
        "type": "Normal",
        "eventTime": "2026-11-27T02:11:17.000005Z",
        "series": {"count": 2, "lastObservedTime": "2026-11-27T02:11:18.000000Z"},
        "reportingComponent": "",
        "reportingInstance": "",
    }


def test_self_subject_access_review_for_a_non_resource_url() -> None:
    raw = [
        (1, go_meta()),
        (2, [(2, [(1, "/healthz"), (2, "get")])]),
        (3, [(1, False), (4, False), (2, ""), (3, "")]),
    ]
    assert decode(body("authorization.k8s.io/v1", "SelfSubjectAccessReview", raw)) == {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"nonResourceAttributes": {"path": "/healthz", "verb": "get"}},
        "status": {"allowed": False},
    }


def test_service_account_and_lease() -> None:
    sa = [(1, go_meta("builder")), (3, [(1, "regcred")]), (4, False)]
    assert decode(body("v1", "ServiceAccount", sa)) == {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "builder"},
        "imagePullSecrets": [{"name": "regcred"}],
        "automountServiceAccountToken": False,
    }
    lease = [(1, go_meta("leader")), (2, [(1, ""), (2, 15), (5, 0)])]
    assert decode(body("coordination.k8s.io/v1", "Lease", lease))["spec"] == {
        "holderIdentity": "",
        "leaseDurationSeconds": 15,
        "leaseTransitions": 0,
    }
