"""Contract: dryRun, generateName, generation, status subresource, finalizers, scale."""

from __future__ import annotations

import asyncio

from tests.integration.conftest import Api

CM = "/api/v1/namespaces/default/configmaps"
DEPLOY = "/apis/apps/v1/namespaces/default/deployments"


def deployment(name: str = "web", image: str = "nginx:1.27", replicas: int = 2) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": image}]},
            },
        },
    }


async def test_dry_run_create_persists_nothing(api: Api) -> None:
    before = (await api.get(CM)).body["metadata"]["resourceVersion"]
    resp = await api.post(f"{CM}?dryRun=All", {"metadata": {"name": "dry"}, "data": {"a": "b"}})
    assert resp.status == 201
    assert resp.body["metadata"]["name"] == "dry"
    assert resp.body["metadata"]["uid"]
    assert (await api.get(f"{CM}/dry")).status == 404
    assert (await api.get(CM)).body["metadata"]["resourceVersion"] == before


async def test_dry_run_patch_returns_defaulted_object_without_persisting(api: Api) -> None:
    created = await api.post(DEPLOY, deployment())
    assert created.status == 201, created.body
    assert created.body["metadata"]["generation"] == 1
    resp = await api.patch(f"{DEPLOY}/web?dryRun=All", {"spec": {"replicas": 5}})
    assert resp.status == 200
    assert resp.body["spec"]["replicas"] == 5
    assert resp.body["metadata"]["generation"] == 2
    stored = (await api.get(f"{DEPLOY}/web")).body
    assert stored["spec"]["replicas"] == 2
    assert stored["metadata"]["generation"] == 1
    assert stored["metadata"]["resourceVersion"] == created.body["metadata"]["resourceVersion"]


async def test_deployment_defaults_and_generation(api: Api) -> None:
    created = (await api.post(DEPLOY, deployment())).body
    spec = created["spec"]
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
    }
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    container = spec["template"]["spec"]["containers"][0]
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["terminationMessagePath"] == "/dev/termination-log"
    # a label-only change does not bump generation; an annotation change does
    lab = await api.patch(f"{DEPLOY}/web", {"metadata": {"labels": {"x": "y"}}})
    assert lab.body["metadata"]["generation"] == 1
    ann = await api.patch(f"{DEPLOY}/web", {"metadata": {"annotations": {"x": "y"}}})
    assert ann.body["metadata"]["generation"] == 2


async def test_status_is_owned_by_the_status_subresource(api: Api) -> None:
    created = (await api.post(DEPLOY, deployment())).body
    assert created["status"] == {}
    # a write to the main resource cannot set status
    changed = dict(created, status={"replicas": 7})
    main = await api.put(f"{DEPLOY}/web", changed)
    assert main.status == 200
    assert main.body["status"] == {}
    # /status writes status and keeps annotations, without bumping generation
    body = main.body
    body["status"] = {"replicas": 2, "observedGeneration": 1}
    body["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/revision"] = "1"
    body["spec"]["replicas"] = 9
    st = await api.put(f"{DEPLOY}/web/status", body)
    assert st.status == 200, st.body
    assert st.body["status"]["replicas"] == 2
    assert st.body["spec"]["replicas"] == 2
    assert st.body["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    assert st.body["metadata"]["generation"] == 1


async def test_scale_subresource_answers_autoscaling_v1(api: Api) -> None:
    await api.post(DEPLOY, deployment(replicas=2))
    scale = await api.get(f"{DEPLOY}/web/scale")
    assert scale.status == 200
    assert scale.body["kind"] == "Scale"
    assert scale.body["apiVersion"] == "autoscaling/v1"
    assert scale.body["spec"] == {"replicas": 2}
    assert scale.body["status"]["selector"] == "app=web"
    patched = await api.patch(f"{DEPLOY}/web/scale", {"spec": {"replicas": 3}})
    assert patched.status == 200
    assert patched.body["spec"]["replicas"] == 3
    assert (await api.get(f"{DEPLOY}/web")).body["spec"]["replicas"] == 3


async def test_generate_name(api: Api) -> None:
    resp = await api.post(CM, {"metadata": {"generateName": "gen-"}})
    assert resp.status == 201
    name = resp.body["metadata"]["name"]
    assert name.startswith("gen-") and len(name) == len("gen-") + 5
    assert all(c in "bcdfghjklmnpqrstvwxz2456789" for c in name[4:])


async def test_deletion_with_finalizers_is_two_phase(api: Api) -> None:
    body = {"metadata": {"name": "fin", "finalizers": ["example.com/hold"]}}
    await api.post(CM, body)
    first = await api.delete(f"{CM}/fin", {"propagationPolicy": "Background"})
    assert first.status == 200
    held = (await api.get(f"{CM}/fin")).body
    assert held["metadata"]["deletionTimestamp"]
    assert held["metadata"]["deletionGracePeriodSeconds"] == 0
    # a finalizer cannot be added once deletion started
    held["metadata"]["finalizers"] = ["example.com/hold", "example.com/more"]
    refused = await api.put(f"{CM}/fin", held)
    assert refused.status == 422
    # removing the last finalizer completes the deletion
    release = await api.patch(f"{CM}/fin", {"metadata": {"finalizers": None}})
    assert release.status == 200
    assert (await api.get(f"{CM}/fin")).status == 404


async def test_foreground_and_orphan_add_their_finalizers(api: Api) -> None:
    await api.post(DEPLOY, deployment("fg"))
    await api.post(DEPLOY, deployment("orph"))
    fg = await api.delete(f"{DEPLOY}/fg", {"propagationPolicy": "Foreground"})
    assert fg.body["metadata"]["finalizers"] == ["foregroundDeletion"]
    orph = await api.delete(f"{DEPLOY}/orph", {"propagationPolicy": "Orphan"})
    assert orph.body["metadata"]["finalizers"] == ["orphan"]


async def test_delete_preconditions(api: Api) -> None:
    created = (await api.post(CM, {"metadata": {"name": "pre"}})).body
    wrong = await api.delete(f"{CM}/pre", {"preconditions": {"uid": "not-the-uid"}})
    assert wrong.status == 409
    assert "Precondition failed: UID in precondition: not-the-uid" in wrong.body["message"]
    right = await api.delete(f"{CM}/pre", {"preconditions": {"uid": created["metadata"]["uid"]}})
    assert right.status == 200
    assert (await api.get(f"{CM}/pre")).status == 404


async def test_namespace_lifecycle(api: Api) -> None:
    missing = await api.post("/api/v1/namespaces/nope/configmaps", {"metadata": {"name": "x"}})
    assert missing.status == 404
    assert missing.body["message"] == 'namespaces "nope" not found'
    assert (await api.post("/api/v1/namespaces", {"metadata": {"name": "team"}})).status == 201
    # content with a finalizer keeps the namespace terminating until the finalizer goes
    held = {"metadata": {"name": "held", "finalizers": ["example.com/hold"]}}
    assert (await api.post("/api/v1/namespaces/team/configmaps", held)).status == 201
    assert (
        await api.post("/api/v1/namespaces/team/configmaps", {"metadata": {"name": "plain"}})
    ).status == 201
    deleting = await api.delete("/api/v1/namespaces/team")
    assert deleting.status == 200
    assert deleting.body["status"]["phase"] == "Terminating"
    refused = await api.post("/api/v1/namespaces/team/configmaps", {"metadata": {"name": "x"}})
    assert refused.status == 403
    assert "because it is being terminated" in refused.body["message"]
    for _ in range(50):
        if (await api.get("/api/v1/namespaces/team/configmaps/plain")).status == 404:
            break
        await asyncio.sleep(0.1)
    assert (await api.get("/api/v1/namespaces/team/configmaps/plain")).status == 404
    assert (await api.get("/api/v1/namespaces/team")).status == 200
    await api.patch("/api/v1/namespaces/team/configmaps/held", {"metadata": {"finalizers": None}})
    for _ in range(50):
        if (await api.get("/api/v1/namespaces/team")).status == 404:
            break
        await asyncio.sleep(0.1)
    assert (await api.get("/api/v1/namespaces/team")).status == 404
    protected = await api.delete("/api/v1/namespaces/default")
    assert protected.status == 403
