"""Workload defaults: the demo-api Deployment as a real 1.32 cluster shows it, and the other kinds."""

from __future__ import annotations

from typing import Any

import yaml

from ferry.cluster.resources.defaults.workloads import DEFAULTERS

DEMO_API = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: demo-api
spec:
  replicas: 2
  selector:
    matchLabels:
      app: demo-api
  template:
    metadata:
      labels:
        app: demo-api
    spec:
      containers:
        - name: demo-api
          image: myrepo/demo-api:1.0.0
          ports:
            - containerPort: 3000
"""

# `kubectl get deploy demo-api -o yaml` on kube-apiserver v1.32 after `kubectl apply -f` of DEMO_API.
# Server-owned fields (uid, resourceVersion, generation, creationTimestamp, annotations, status) are
# set by the API server and controllers, not by defaulting; they are listed here for completeness
# and removed before the comparison.
KUBECTL_GET_YAML = """
apiVersion: apps/v1
kind: Deployment
metadata:
  annotations:
    deployment.kubernetes.io/revision: "1"
  creationTimestamp: "2025-01-01T00:00:00Z"
  generation: 1
  name: demo-api
  namespace: default
  resourceVersion: "1001"
  uid: 0b7c9f8e-1111-4222-8333-944455556666
spec:
  progressDeadlineSeconds: 600
  replicas: 2
  revisionHistoryLimit: 10
  selector:
    matchLabels:
      app: demo-api
  strategy:
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 25%
    type: RollingUpdate
  template:
    metadata:
      creationTimestamp: null
      labels:
        app: demo-api
    spec:
      containers:
      - image: myrepo/demo-api:1.0.0
        imagePullPolicy: IfNotPresent
        name: demo-api
        ports:
        - containerPort: 3000
          protocol: TCP
        resources: {}
        terminationMessagePath: /dev/termination-log
        terminationMessagePolicy: File
      dnsPolicy: ClusterFirst
      restartPolicy: Always
      schedulerName: default-scheduler
      securityContext: {}
      terminationGracePeriodSeconds: 30
status:
  availableReplicas: 2
  observedGeneration: 1
  readyReplicas: 2
  replicas: 2
  updatedReplicas: 2
"""
SERVER_OWNED = ("annotations", "creationTimestamp", "generation", "resourceVersion", "uid")


def test_demo_api_defaults_to_what_kubectl_shows() -> None:
    obj = yaml.safe_load(DEMO_API)
    obj["metadata"]["namespace"] = "default"  # kubectl apply adds it
    DEFAULTERS[("apps", "Deployment")](obj)
    expected = yaml.safe_load(KUBECTL_GET_YAML)
    del expected["status"]
    for key in SERVER_OWNED:
        del expected["metadata"][key]
    assert obj == expected
    assert yaml.safe_dump(obj["spec"]) == yaml.safe_dump(yaml.safe_load(KUBECTL_GET_YAML)["spec"])


def _apply(group: str, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    DEFAULTERS[(group, kind)](obj)
    return obj


def _template(labels: dict[str, str] | None = None, restart: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox"}]}
    if restart:
        spec["restartPolicy"] = restart
    meta = {"labels": labels} if labels else {}
    return {"metadata": meta, "spec": spec}


DEFAULTED_POD_SPEC = {
    "containers": [
        {
            "name": "c",
            "image": "busybox",
            "imagePullPolicy": "Always",
            "resources": {},
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
        }
    ],
    "dnsPolicy": "ClusterFirst",
    "restartPolicy": "Always",
    "schedulerName": "default-scheduler",
    "securityContext": {},
    "terminationGracePeriodSeconds": 30,
}


def test_recreate_strategy_gets_no_rolling_update() -> None:
    obj = _apply("apps", "Deployment", {"spec": {"strategy": {"type": "Recreate"}, "replicas": 0}})
    assert obj["spec"]["strategy"] == {"type": "Recreate"}
    assert obj["spec"]["replicas"] == 0


def test_replica_set() -> None:
    obj = _apply("apps", "ReplicaSet", {"spec": {"template": _template({"app": "a"})}})
    assert obj["spec"] == {
        "replicas": 1,
        "template": {
            "metadata": {"labels": {"app": "a"}, "creationTimestamp": None},
            "spec": DEFAULTED_POD_SPEC,
        },
    }


def test_stateful_set() -> None:
    claim = {"metadata": {"name": "data"}, "spec": {"resources": {"requests": {"storage": "1Gi"}}}}
    obj = _apply("apps", "StatefulSet", {"spec": {"template": _template(), "volumeClaimTemplates": [claim]}})
    spec = obj["spec"]
    assert {k: v for k, v in spec.items() if k not in ("template", "volumeClaimTemplates")} == {
        "podManagementPolicy": "OrderedReady",
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
        "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
        "replicas": 1,
        "revisionHistoryLimit": 10,
    }
    assert spec["volumeClaimTemplates"] == [
        {
            "metadata": {"name": "data", "creationTimestamp": None},
            "spec": {"resources": {"requests": {"storage": "1Gi"}}, "volumeMode": "Filesystem"},
            "status": {"phase": "Pending"},
        }
    ]


def test_stateful_set_explicit_rolling_update_without_body_stays_nil() -> None:
    obj = _apply("apps", "StatefulSet", {"spec": {"updateStrategy": {"type": "RollingUpdate"}}})
    assert obj["spec"]["updateStrategy"] == {"type": "RollingUpdate"}


def test_daemon_set() -> None:
    obj = _apply("apps", "DaemonSet", {"spec": {"template": _template()}})
    assert obj["spec"]["updateStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
    }
    assert obj["spec"]["revisionHistoryLimit"] == 10


def test_job_defaults_and_generated_selector() -> None:
    uid = "5c3e0b0e-0000-4000-8000-000000000001"
    obj = _apply(
        "batch",
        "Job",
        {"metadata": {"name": "pi", "uid": uid}, "spec": {"template": _template(restart="Never")}},
    )
    labels = {
        "batch.kubernetes.io/controller-uid": uid,
        "batch.kubernetes.io/job-name": "pi",
        "controller-uid": uid,
        "job-name": "pi",
    }
    assert obj["metadata"]["labels"] == labels
    spec = obj["spec"]
    assert {k: v for k, v in spec.items() if k != "template"} == {
        "backoffLimit": 6,
        "completionMode": "NonIndexed",
        "completions": 1,
        "manualSelector": False,
        "parallelism": 1,
        "podReplacementPolicy": "TerminatingOrFailed",
        "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}},
        "suspend": False,
    }
    assert spec["template"]["metadata"] == {"creationTimestamp": None, "labels": labels}
    assert spec["template"]["spec"]["restartPolicy"] == "Never"


def test_job_without_uid_skips_selector_generation() -> None:
    obj = _apply(
        "batch", "Job", {"metadata": {"name": "pi"}, "spec": {"parallelism": 3, "template": _template()}}
    )
    assert "selector" not in obj["spec"]
    assert "completions" not in obj["spec"]  # only parallelism given: completions stays unset
    assert obj["spec"]["parallelism"] == 3


def test_job_with_pod_failure_policy() -> None:
    policy = {"rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]}
    obj = _apply("batch", "Job", {"spec": {"podFailurePolicy": policy, "backoffLimitPerIndex": 1}})
    assert obj["spec"]["podReplacementPolicy"] == "Failed"
    assert obj["spec"]["podFailurePolicy"]["rules"][0]["onPodConditions"][0]["status"] == "True"
    assert obj["spec"]["backoffLimit"] == 2147483647


def test_cron_job() -> None:
    obj = _apply(
        "batch",
        "CronJob",
        {"spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": _template()}}}},
    )
    spec = obj["spec"]
    assert (spec["concurrencyPolicy"], spec["suspend"]) == ("Allow", False)
    assert (spec["successfulJobsHistoryLimit"], spec["failedJobsHistoryLimit"]) == (3, 1)
    assert spec["jobTemplate"]["metadata"] == {"creationTimestamp": None}
    assert spec["jobTemplate"]["spec"]["template"]["spec"] == DEFAULTED_POD_SPEC
    assert "backoffLimit" not in spec["jobTemplate"]["spec"]


def test_replication_controller() -> None:
    obj = _apply(
        "", "ReplicationController", {"metadata": {}, "spec": {"template": _template({"app": "rc"})}}
    )
    assert obj["spec"]["selector"] == {"app": "rc"}
    assert obj["metadata"]["labels"] == {"app": "rc"}
    assert obj["spec"]["replicas"] == 1
