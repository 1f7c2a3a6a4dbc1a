"""Discovery and OpenAPI as kubectl and Helm read them."""

from __future__ import annotations

from tests.integration.conftest import Api

AGG = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"


async def test_aggregated_discovery_is_recognised_by_content_type(api: Api) -> None:
    resp = await api.get("/apis", headers={"Accept": AGG})
    assert (
        resp.headers["Content-Type"] == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    )
    groups = {g["metadata"]["name"]: g for g in resp.body["items"]}
    apps = {r["resource"]: r for r in groups["apps"]["versions"][0]["resources"]}
    deploy = apps["deployments"]
    assert deploy["shortNames"] == ["deploy"] and deploy["categories"] == ["all"]
    scale = next(s for s in deploy["subresources"] if s["subresource"] == "scale")
    assert scale["responseKind"] == {"group": "autoscaling", "version": "v1", "kind": "Scale"}
    core = await api.get("/api", headers={"Accept": AGG})
    assert [i["metadata"]["name"] for i in core.body["items"]] == [""]


async def test_legacy_documents_and_trailing_slashes(api: Api) -> None:
    for path in ("/api", "/api/", "/apis/", "/version/"):
        assert (await api.get(path)).status == 200, path
    assert (await api.get("/api")).body["versions"] == ["v1"]
    gv = await api.get("/apis/apps/v1")
    names = {r["name"]: r for r in gv.body["resources"]}
    assert (
        names["deployments/scale"]["group"] == "autoscaling" and names["deployments/scale"]["kind"] == "Scale"
    )
    assert (await api.get("/apis/apps")).body["preferredVersion"] == {
        "groupVersion": "apps/v1",
        "version": "v1",
    }
    assert (await api.get("/apis/nothere/v1")).status == 404


async def test_openapi_root_hashes_are_stable_and_patch_declares_field_validation(api: Api) -> None:
    first = (await api.get("/openapi/v3")).body["paths"]
    second = (await api.get("/openapi/v3")).body["paths"]
    assert first == second
    url = first["apis/apps/v1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/apis/apps/v1?hash=")
    doc = (await api.get(url)).body
    for path, item in doc["paths"].items():
        patch = item.get("patch")
        if patch is not None:
            params = {p["name"] for p in patch["parameters"]}
            assert "fieldValidation" in params, path
    v2 = await api.get("/openapi/v2")
    assert v2.status == 200 and v2.body["swagger"] == "2.0"


async def test_new_crd_is_discoverable_at_once(api: Api) -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                    },
                }
            ],
        },
    }
    assert (await api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)).status == 201
    gv = await api.get("/apis/example.com/v1")
    assert gv.status == 200
    assert [r["name"] for r in gv.body["resources"]] == ["gadgets"]
    assert "apis/example.com/v1" in (await api.get("/openapi/v3")).body["paths"]
    created = await api.post(
        "/apis/example.com/v1/namespaces/default/gadgets",
        {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}, "spec": {"any": 1}},
    )
    assert created.status == 201 and created.body["spec"] == {"any": 1}
