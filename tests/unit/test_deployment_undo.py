"""Rollback: ``kubectl rollout undo`` reuses the old ReplicaSet (revision renumbered, revision-history),
and the deprecated ``deprecated.deployment.rollback.to`` annotation still works (§1.11, §2)."""

from __future__ import annotations

import copy
from typing import Any

from ferry.cluster.controllers.deployment.annotations import SKIP_ON_COPY
from tests.unit.deployment_world import DEPLOYMENTS, REPLICASETS, World, condition, make_deployment

REVISION = "deployment.kubernetes.io/revision"
HISTORY = "deployment.kubernetes.io/revision-history"
CAUSE = "kubernetes.io/change-cause"


async def converge(world: World, rounds: int = 12) -> None:
    for _ in range(rounds):
        await world.sync()
        world.settle()
    world.take()


async def roll_to(world: World, image: str) -> None:
    world.clock.advance(60)

    def mutate(d: dict[str, Any]) -> None:
        d["spec"]["template"]["spec"]["containers"][0]["image"] = image
        d["metadata"].setdefault("annotations", {})[CAUSE] = f"set image {image}"

    world.edit(mutate)
    await converge(world)


def revisions(world: World) -> dict[str, tuple[str, str | None, str]]:
    """RS name → (revision, revision-history, image)."""
    return {
        rs["metadata"]["name"]: (
            rs["metadata"]["annotations"][REVISION],
            rs["metadata"]["annotations"].get(HISTORY),
            rs["spec"]["template"]["spec"]["containers"][0]["image"],
        )
        for rs in world.rss()
    }


def kubectl_undo(world: World, to_revision: int) -> None:
    """What kubectl sends: a JSON patch replacing the template (hash label removed) and the annotations."""
    rs = next(r for r in world.rss() if r["metadata"]["annotations"][REVISION] == str(to_revision))

    def mutate(d: dict[str, Any]) -> None:
        template = copy.deepcopy(rs["spec"]["template"])
        del template["metadata"]["labels"]["pod-template-hash"]
        d["spec"]["template"] = template
        kept = {k: v for k, v in d["metadata"].get("annotations", {}).items() if k in SKIP_ON_COPY}
        kept.update({k: v for k, v in rs["metadata"]["annotations"].items() if k not in SKIP_ON_COPY})
        d["metadata"]["annotations"] = kept

    world.edit(mutate)


async def three_revisions() -> tuple[World, dict[str, str]]:
    world = World(make_deployment(replicas=4, annotations={CAUSE: "set image v1"}))
    await converge(world)
    await roll_to(world, "v2")
    await roll_to(world, "v3")
    names = {image: name for name, (_, _, image) in revisions(world).items()}
    assert revisions(world) == {
        names["nginx:1"]: ("1", None, "nginx:1"),
        names["v2"]: ("2", None, "v2"),
        names["v3"]: ("3", None, "v3"),
    }
    return world, names


async def test_undo_to_revision_1_reuses_that_replica_set_as_revision_4() -> None:
    world, names = await three_revisions()
    uids = {rs["metadata"]["name"]: rs["metadata"]["uid"] for rs in world.rss()}
    kubectl_undo(world, 1)
    await world.sync()
    actions, _ = world.take()
    assert all(a[0] != "create" for a in actions)
    await converge(world)

    assert revisions(world) == {
        names["nginx:1"]: ("4", "1", "nginx:1"),
        names["v2"]: ("2", None, "v2"),
        names["v3"]: ("3", None, "v3"),
    }
    assert {rs["metadata"]["name"]: rs["metadata"]["uid"] for rs in world.rss()} == uids  # same objects
    assert world.sizes() == {names["nginx:1"]: 4, names["v2"]: 0, names["v3"]: 0}
    d = world.deployment()
    assert d["metadata"]["annotations"][REVISION] == "4"
    assert d["metadata"]["annotations"][CAUSE] == "set image v1"
    assert condition(d, "Progressing")["reason"] == "NewReplicaSetAvailable"

    # A plain undo now goes back to revision 3's template, which becomes revision 5.
    kubectl_undo(world, 3)
    await converge(world)
    assert revisions(world)[names["v3"]] == ("5", "3", "v3")
    assert world.deployment()["metadata"]["annotations"][REVISION] == "5"
    await world.sync_quiet()


async def test_the_deprecated_rollback_annotation_rolls_back_to_the_previous_revision() -> None:
    world, names = await three_revisions()
    world.edit(lambda d: d["metadata"]["annotations"].update({"deprecated.deployment.rollback.to": "0"}))
    await world.sync()
    actions, events = world.take()
    assert [(a[0], a[1]) for a in actions] == [("update", DEPLOYMENTS)]
    sent = actions[0][3]
    assert "deprecated.deployment.rollback.to" not in sent["metadata"]["annotations"]
    assert sent["spec"]["template"]["spec"]["containers"][0]["image"] == "v2"
    assert "pod-template-hash" not in sent["spec"]["template"]["metadata"]["labels"]
    assert sent["metadata"]["annotations"][CAUSE] == "set image v2"
    assert events == [
        ("default/web", "Normal", "DeploymentRollback", 'Rolled back deployment "web" to revision 2')
    ]

    world.edit(lambda d: None)  # the API bumps generation for the template change
    await converge(world)
    assert revisions(world)[names["v2"]] == ("4", "2", "v2")


async def test_rollback_to_an_unknown_revision_only_clears_the_annotation() -> None:
    world, _ = await three_revisions()
    world.edit(lambda d: d["metadata"]["annotations"].update({"deprecated.deployment.rollback.to": "9"}))
    await world.sync()
    actions, events = world.take()
    assert [(a[0], a[1]) for a in actions] == [("update", DEPLOYMENTS)]
    assert "deprecated.deployment.rollback.to" not in actions[0][3]["metadata"]["annotations"]
    assert actions[0][3]["spec"]["template"]["spec"]["containers"][0]["image"] == "v3"
    assert events == [
        (
            "default/web",
            "Warning",
            "DeploymentRollbackRevisionNotFound",
            "Unable to find the revision to rollback to.",
        )
    ]


async def test_rollback_to_the_current_revision_warns_template_unchanged() -> None:
    world, _ = await three_revisions()
    world.edit(lambda d: d["metadata"]["annotations"].update({"deprecated.deployment.rollback.to": "3"}))
    await world.sync()
    _, events = world.take()
    assert events == [
        (
            "default/web",
            "Warning",
            "DeploymentRollbackTemplateUnchanged",
            'The rollback revision contains the same template as current deployment "web"',
        )
    ]


async def test_rollback_without_history_warns_last_revision_not_found() -> None:
    world = World(make_deployment(replicas=1, annotations={"deprecated.deployment.rollback.to": "0"}))
    await world.sync()
    actions, events = world.take()
    # The new RS is found or created first (kube does the same), then the annotation is dropped.
    assert [(a[0], a[1]) for a in actions] == [
        ("create", REPLICASETS),
        ("update", DEPLOYMENTS + "/status"),
        ("update", DEPLOYMENTS),
    ]
    assert "deprecated.deployment.rollback.to" not in actions[-1][3]["metadata"]["annotations"]
    assert events[-1] == (
        "default/web",
        "Warning",
        "DeploymentRollbackRevisionNotFound",
        "Unable to find last revision.",
    )
