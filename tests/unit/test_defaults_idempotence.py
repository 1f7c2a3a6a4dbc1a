"""Properties over arbitrary input: defaulting is idempotent and nothing raises on odd JSON."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ferry.cluster.resources.defaults import pods as pod_defaults
from ferry.cluster.resources.defaults import workloads as workload_defaults
from ferry.cluster.resources.validation import pods as pod_validation
from ferry.cluster.resources.validation import workloads as workload_validation

DEFAULTERS = {**pod_defaults.DEFAULTERS, **workload_defaults.DEFAULTERS}
VALIDATORS = {**pod_validation.VALIDATORS, **workload_validation.VALIDATORS}

junk: Any = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 70000)
    | st.sampled_from(["", "x", "1Gi", "25%", "Always", "-1"]),
    lambda kids: (
        st.lists(kids, max_size=2) | st.dictionaries(st.sampled_from(["a", "name", "port"]), kids, max_size=2)
    ),
    max_leaves=4,
)


def maybe(strategy: Any) -> Any:
    """A field that is valid-ish, junk, or absent (None values are dropped by ``fixed_dictionaries``)."""
    return st.one_of(strategy, junk)


quantity = st.sampled_from(["100m", "0.5", "1.5Gi", "1000", "abc", "1n", 2, "+1", "1e3"])
probe = st.fixed_dictionaries(
    {},
    optional={
        "httpGet": st.fixed_dictionaries(
            {"port": maybe(st.integers(1, 65535))}, optional={"path": maybe(st.just(""))}
        ),
        "grpc": st.fixed_dictionaries({"port": st.integers(1, 65535)}),
        "timeoutSeconds": maybe(st.integers(0, 5)),
        "successThreshold": maybe(st.integers(0, 3)),
    },
)
container = st.fixed_dictionaries(
    {"name": maybe(st.sampled_from(["app", "side"]))},
    optional={
        "image": maybe(st.sampled_from(["nginx", "nginx:1.2", "r.io/a@sha256:" + "b" * 64, "Bad"])),
        "ports": maybe(
            st.lists(st.fixed_dictionaries({"containerPort": maybe(st.integers(0, 70000))}), max_size=2)
        ),
        "resources": maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "limits": st.dictionaries(st.sampled_from(["cpu", "memory"]), quantity, max_size=2),
                    "requests": st.dictionaries(st.sampled_from(["cpu", "memory"]), quantity, max_size=2),
                },
            )
        ),
        "livenessProbe": maybe(probe),
        "readinessProbe": maybe(probe),
        "env": maybe(
            st.lists(
                st.fixed_dictionaries(
                    {"name": st.just("E")},
                    optional={"valueFrom": st.just({"fieldRef": {"fieldPath": "metadata.name"}})},
                ),
                max_size=2,
            )
        ),
    },
)
volume = st.fixed_dictionaries(
    {"name": maybe(st.just("v"))},
    optional={
        "secret": maybe(st.just({"secretName": "s"})),
        "emptyDir": maybe(st.just({"sizeLimit": "1.5Gi"})),
    },
)
pod_spec = st.fixed_dictionaries(
    {"containers": maybe(st.lists(container, max_size=2))},
    optional={
        "initContainers": maybe(st.lists(container, max_size=1)),
        "volumes": maybe(st.lists(volume, max_size=2)),
        "restartPolicy": maybe(st.sampled_from(["Always", "Never", "OnFailure"])),
        "hostNetwork": st.booleans(),
        "securityContext": maybe(st.just({})),
        "terminationGracePeriodSeconds": maybe(st.integers(-1, 60)),
    },
)
template = st.fixed_dictionaries(
    {"spec": maybe(pod_spec)},
    optional={
        "metadata": maybe(st.fixed_dictionaries({}, optional={"labels": maybe(st.just({"app": "x"}))}))
    },
)
workload_spec = st.fixed_dictionaries(
    {"template": maybe(template)},
    optional={
        "replicas": maybe(st.integers(-1, 3)),
        "selector": maybe(st.just({"matchLabels": {"app": "x"}})),
        "strategy": maybe(st.fixed_dictionaries({}, optional={"type": maybe(st.just("RollingUpdate"))})),
        "updateStrategy": maybe(st.fixed_dictionaries({}, optional={"type": maybe(st.just("OnDelete"))})),
        "completions": maybe(st.integers(0, 3)),
        "parallelism": maybe(st.integers(0, 3)),
        "manualSelector": maybe(st.booleans()),
        "volumeClaimTemplates": maybe(st.lists(st.just({"metadata": {"name": "d"}, "spec": {}}), max_size=1)),
        "jobTemplate": maybe(st.fixed_dictionaries({"spec": st.fixed_dictionaries({"template": template})})),
    },
)
meta = st.fixed_dictionaries(
    {"name": st.just("web")}, optional={"uid": st.just("u-1"), "labels": maybe(st.just({"a": "b"}))}
)


@st.composite
def objects(draw: Any) -> tuple[tuple[str, str], dict[str, Any]]:
    key = draw(st.sampled_from(sorted(DEFAULTERS)))
    obj: dict[str, Any] = {"metadata": draw(meta)}
    if key == ("", "Pod"):
        obj["spec"] = draw(maybe(pod_spec))
    elif key == ("", "PodTemplate"):
        obj["template"] = draw(maybe(template))
    else:
        obj["spec"] = draw(maybe(workload_spec))
    return key, obj


@settings(max_examples=300, deadline=None)
@given(objects())
def test_defaulting_is_idempotent(case: tuple[tuple[str, str], dict[str, Any]]) -> None:
    key, obj = case
    DEFAULTERS[key](obj)
    once = copy.deepcopy(obj)
    DEFAULTERS[key](obj)
    assert obj == once


@settings(max_examples=300, deadline=None)
@given(objects(), objects())
def test_validators_never_raise(case: tuple[tuple[str, str], dict[str, Any]], old_case: Any) -> None:
    key, obj = case
    validator_key = key if key in VALIDATORS else None
    if validator_key is None:
        return
    DEFAULTERS[key](obj)
    errs = VALIDATORS[validator_key](obj, None)
    assert all(e.error() for e in errs)
    VALIDATORS[validator_key](obj, old_case[1])
    VALIDATORS[validator_key](obj, obj)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(VALIDATORS)), junk, junk, junk)
def test_validators_never_raise_on_junk(key: tuple[str, str], spec: Any, old: Any, meta: Any) -> None:
    obj = {"metadata": meta, "spec": spec, "template": spec, "data": spec}
    assert all(e.error() for e in VALIDATORS[key](obj, None))
    VALIDATORS[key](obj, {"spec": old, "template": old, "data": old, "metadata": meta})
