"""Expectations gate manageReplicas until the informer has shown the previous pass's writes."""

from __future__ import annotations

from tests.unit.replicaset_support import KEY, PODS, RS, Harness, pod_obj, rs_obj, verbs


async def test_a_second_pass_before_the_informer_caught_up_does_not_create_again() -> None:
    h = Harness([rs_obj(replicas=3)])
    await h.sync()
    assert verbs(h.take_actions()) == [("create", PODS)] * 3
    stale = dict(h.listers[PODS].objects)
    h.listers[PODS].objects.clear()  # the cache has not seen the new pods yet

    await h.sync()
    assert h.take_actions() == []  # gated: no duplicate creates, and status (0 pods) is unchanged

    h.listers[PODS].objects.update(stale)
    h.deliver()
    assert h.expectations.satisfied(KEY)
    await h.sync()
    assert verbs(h.take_actions()) == [("update", f"{RS}/status")]


async def test_status_is_still_computed_while_gated() -> None:
    h = Harness()
    rs = rs_obj(replicas=3)
    h.listers[RS].put(rs)
    h.listers[PODS].put(pod_obj("a", h.clock, owner=rs))
    h.expectations.expect_creations(KEY, 2)
    await h.sync()
    [(verb, resource, _, body)] = h.take_actions()
    assert (verb, resource) == ("update", f"{RS}/status")
    assert body["status"]["replicas"] == 1


async def test_expectations_expire_after_five_minutes() -> None:
    h = Harness([rs_obj(replicas=1)])
    h.expectations.expect_creations(KEY, 1)
    await h.sync()
    assert h.take_actions() == []
    h.clock.advance(301)
    await h.sync()
    assert verbs(h.take_actions()) == [("create", PODS)]


async def test_only_the_requested_deletions_are_observed() -> None:
    h = Harness()
    rs = rs_obj(
        replicas=1,
        status={
            "replicas": 2,
            "readyReplicas": 2,
            "availableReplicas": 2,
            "fullyLabeledReplicas": 2,
            "observedGeneration": 1,
        },
    )
    h.listers[RS].put(rs)
    h.listers[PODS].put(pod_obj("newer", h.clock, owner=rs, created_ago=10, ready_for=5))
    h.listers[PODS].put(pod_obj("older", h.clock, owner=rs))
    h.deliver()
    # Keep the pod in the cache after the delete request, as a graceful deletion would.
    h.client.delete = _record_only(h)  # type: ignore[method-assign]
    await h.sync()
    assert h.take_actions() == [("delete", PODS, "default", "newer")]
    assert not h.expectations.satisfied(KEY)

    # Another pod of the RS goes away: not the one we asked for, so still waiting.
    h.on(PODS).on_delete(pod_obj("older", h.clock, owner=rs))
    assert not h.expectations.satisfied(KEY)
    h.on(PODS).on_delete(pod_obj("newer", h.clock, owner=rs))
    assert h.expectations.satisfied(KEY)


async def test_deleting_the_replicaset_drops_its_expectations() -> None:
    h = Harness([rs_obj(replicas=1)])
    h.expectations.expect_creations(KEY, 5)
    assert h.on(RS).on_delete(h.rs()) == [KEY]
    assert h.expectations.satisfied(KEY)
    assert h.expectations.get(KEY) is None


async def test_syncing_a_replicaset_that_is_gone_drops_its_expectations() -> None:
    h = Harness()
    h.expectations.expect_creations(KEY, 5)
    assert await h.sync() is None
    assert h.take_actions() == []
    assert h.expectations.get(KEY) is None


def _record_only(h: Harness):  # type: ignore[no-untyped-def]
    async def delete(resource: str, namespace: str | None, name: str, *, options: object = None) -> None:
        h.client.actions.append(("delete", resource, namespace, name))

    return delete
