"""Contract: the exact Status errors kubectl and Helm branch on."""

from __future__ import annotations

from tests.integration.conftest import Api

CM = "/api/v1/namespaces/default/configmaps"


def cm(name: str, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


async def test_stale_update_is_409_with_kube_message(api: Api) -> None:
    created = await api.post(CM, cm("c1", a="1"))
    assert created.status == 201
    stale_rv = created.body["metadata"]["resourceVersion"]
    first = dict(created.body, data={"a": "2"})
    assert (await api.put(f"{CM}/c1", first)).status == 200
    second = dict(created.body, data={"a": "3"})
    second["metadata"]["resourceVersion"] = stale_rv
    resp = await api.put(f"{CM}/c1", second)
    assert resp.status == 409
    assert resp.body["reason"] == "Conflict"
    assert resp.body["message"] == (
        'Operation cannot be fulfilled on configmaps "c1": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    assert (await api.get(f"{CM}/c1")).body["data"] == {"a": "2"}


async def test_create_twice_is_409_already_exists(api: Api) -> None:
    assert (await api.post(CM, cm("dup"))).status == 201
    resp = await api.post(CM, cm("dup"))
    assert resp.status == 409
    assert resp.body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'configmaps "dup" already exists',
        "reason": "AlreadyExists",
        "details": {"name": "dup", "kind": "configmaps"},
        "code": 409,
    }


async def test_grouped_not_found_names_plural_dot_group(api: Api) -> None:
    resp = await api.get("/apis/apps/v1/namespaces/default/deployments/nothere")
    assert resp.status == 404
    assert resp.body["message"] == 'deployments.apps "nothere" not found'
    assert resp.body["details"] == {"name": "nothere", "group": "apps", "kind": "deployments"}


async def test_invalid_name_is_422_with_causes(api: Api) -> None:
    resp = await api.post(CM, cm("Bad_Name"))
    assert resp.status == 422
    assert resp.body["reason"] == "Invalid"
    assert resp.body["message"].startswith(
        'ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": '
    )
    cause = resp.body["details"]["causes"][0]
    assert cause["reason"] == "FieldValueInvalid"
    assert cause["field"] == "metadata.name"
    assert (await api.get(f"{CM}/Bad_Name")).status == 404


async def test_invalid_label_value_is_422(api: Api) -> None:
    body = cm("labels")
    body["metadata"]["labels"] = {"app": "has space"}
    resp = await api.post(CM, body)
    assert resp.status == 422
    assert resp.body["details"]["causes"][0]["field"] == "metadata.labels"


async def test_deployment_missing_image_names_the_field(api: Api) -> None:
    dep = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c"}]}},
        },
    }
    resp = await api.post("/apis/apps/v1/namespaces/default/deployments", dep)
    assert resp.status == 422
    fields = [c["field"] for c in resp.body["details"]["causes"]]
    assert "spec.template.spec.containers[0].image" in fields
    assert resp.body["message"].startswith('Deployment.apps "web" is invalid: ')


async def test_anonymous_gets_401_but_may_read_version(api: Api) -> None:
    resp = await api.get("/api/v1/namespaces", token=None)
    assert resp.status == 401
    assert resp.body["reason"] == "Unauthorized"
    wrong = await api.get("/api/v1/namespaces", token="not-the-token")
    assert wrong.status == 401
    version = await api.get("/version", token=None)
    assert version.status == 200
    assert version.body["minor"] == "32"


async def test_unknown_resource_is_404_status(api: Api) -> None:
    resp = await api.get("/api/v1/namespaces/default/widgets")
    assert resp.status == 404
    assert resp.body["kind"] == "Status"
