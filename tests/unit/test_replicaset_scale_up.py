"""Scale up: slow-start batches 1, 2, 4, …, the pod built from the template, an injected create failure."""

from __future__ import annotations

import pytest

from ferry.cluster.controllers.runtime.types import ApiStatusError
from tests.unit.replicaset_support import KEY, NS, PODS, RS, Harness, api_error, rs_obj, verbs

EXPECTED_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "generateName": "web-",
        "labels": {"app": "web", "tier": "front"},
        "annotations": {"note": "x"},
        "finalizers": ["example.com/keep"],
        "ownerReferences": [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "web",
                "uid": "rs-uid",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    },
    "spec": {"containers": [{"name": "app", "image": "web:1"}]},
}


def _names(h: Harness) -> list[str]:
    return sorted(h.listers[PODS].objects[k]["metadata"]["name"] for k in h.listers[PODS].objects)


async def test_creates_the_missing_pods_from_the_template_in_batches_of_1_2_4() -> None:
    rs = rs_obj(
        replicas=7,
        template_labels={"app": "web", "tier": "front"},
        template_extra_meta={"annotations": {"note": "x"}, "finalizers": ["example.com/keep"]},
    )
    h = Harness([rs])
    h.client.yield_in_create = True

    assert await h.sync() is None

    actions = h.take_actions()
    assert (
        actions == [("create", PODS, NS, EXPECTED_POD)] * 7
    )  # status unchanged: it counts the pods it started with
    assert h.client.batches == [1, 2, 4]
    names = _names(h)
    assert h.take_events() == [(KEY, "Normal", "SuccessfulCreate", f"Created pod: {n}") for n in names]
    assert not h.expectations.satisfied(KEY)

    h.deliver()  # the informer shows the 7 pods: every creation observed
    assert h.expectations.satisfied(KEY)
    await h.sync()
    [(verb, resource, ns, body)] = h.take_actions()
    assert (verb, resource, ns) == ("update", f"{RS}/status", NS)
    assert body["status"] == {"replicas": 7, "fullyLabeledReplicas": 7, "observedGeneration": 1}

    h.deliver()
    await h.sync()
    assert h.take_actions() == []
    assert h.take_events() == []


async def test_a_failing_batch_stops_the_slow_start_and_lowers_expectations_for_the_skipped_pods() -> None:
    h = Harness([rs_obj(replicas=10)])
    h.client.yield_in_create = True
    quota = api_error(403, "Forbidden", 'pods "web-x" is forbidden: exceeded quota: q')
    h.client.fail_on[("create", PODS, 5)] = quota  # the second create of the batch of 4

    with pytest.raises(ApiStatusError) as raised:
        await h.sync()
    assert raised.value is quota

    actions = h.take_actions()
    # Batches 1 and 2 succeed; the batch of 4 runs to its end (3 successes, 1 failure); nothing more starts.
    assert h.client.batches == [1, 2, 4]
    assert verbs(actions) == [("create", PODS)] * 7 + [("update", f"{RS}/status")]
    status = actions[-1][3]["status"]
    assert status["replicas"] == 0
    assert status["conditions"] == [
        {
            "type": "ReplicaFailure",
            "status": "True",
            "lastTransitionTime": "2026-01-01T00:00:00Z",
            "reason": "FailedCreate",
            "message": 'pods "web-x" is forbidden: exceeded quota: q',
        }
    ]
    events = h.take_events()
    assert [e[2] for e in events] == ["SuccessfulCreate"] * 4 + ["FailedCreate"] + ["SuccessfulCreate"] * 2
    assert events[4] == (
        KEY,
        "Warning",
        "FailedCreate",
        'Error creating: pods "web-x" is forbidden: exceeded quota: q',
    )
    assert len(h.listers[PODS].objects) == 6

    # 10 expected, 4 never coming (3 skipped + 1 failed): only the 6 real pods are awaited.
    assert not h.expectations.satisfied(KEY)
    h.deliver()
    assert h.expectations.satisfied(KEY)

    # The retry creates the remaining 4 (batches 1, 2, 1) and clears the condition.
    h.client.create_started_with.clear()
    assert await h.sync() is None
    actions = h.take_actions()
    assert h.client.batches == [1, 2, 1]
    assert verbs(actions) == [("create", PODS)] * 4 + [("update", f"{RS}/status")]
    assert actions[-1][3]["status"] == {"replicas": 6, "fullyLabeledReplicas": 6, "observedGeneration": 1}
    h.deliver()
    await h.sync()
    assert [a[3]["status"]["replicas"] for a in h.take_actions()] == [10]
    h.deliver()
    await h.sync()
    assert h.take_actions() == []


async def test_one_pass_creates_at_most_burst_replicas() -> None:
    h = Harness([rs_obj(replicas=600)])
    h.client.yield_in_create = True
    await h.sync()
    assert len(h.take_actions()) == 500
    assert h.client.batches == [1, 2, 4, 8, 16, 32, 64, 128, 245]
    h.deliver()
    h.client.create_started_with.clear()
    await h.sync()
    actions = h.take_actions()
    assert verbs(actions) == [("create", PODS)] * 100 + [("update", f"{RS}/status")]


async def test_a_terminating_namespace_swallows_the_error_without_events() -> None:
    h = Harness([rs_obj(replicas=3)])
    terminating = api_error(
        403,
        "Forbidden",
        'pods "web-x" is forbidden: unable to create new content in namespace default '
        "because it is being terminated",
        details={
            "causes": [{"type": "NamespaceTerminating", "message": "namespace default is being terminated"}]
        },
    )
    h.client.fail = {("create", PODS): terminating}
    assert await h.sync() is None
    assert verbs(h.take_actions()) == [("create", PODS)] * 3  # treated as successes, so no batch is skipped
    assert h.take_events() == []


async def test_a_template_without_labels_is_refused_before_any_request() -> None:
    h = Harness([rs_obj(replicas=2, template_labels={}, selector={})])
    with pytest.raises(Exception, match="unable to create pods, no labels"):
        await h.sync()
    [(verb, resource, _, body)] = h.take_actions()
    assert (verb, resource) == ("update", f"{RS}/status")
    assert body["status"]["conditions"][0]["message"] == "unable to create pods, no labels"
    assert h.take_events() == []
