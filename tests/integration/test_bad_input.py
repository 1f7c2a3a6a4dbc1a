"""Bad input: a clear 4xx Status, never a 5xx, nothing stored."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.conftest import Api

CM = "/api/v1/namespaces/default/configmaps"
DEPLOY = "/apis/apps/v1/namespaces/default/deployments"


async def _count(api: Api) -> int:
    return len((await api.get(CM)).body["items"])


async def test_malformed_json(api: Api) -> None:
    before = await _count(api)
    resp = await api.post(CM, data=b'{"metadata": {"name": "x"', content_type="application/json")
    assert resp.status == 400
    assert resp.body["kind"] == "Status" and resp.body["reason"] == "BadRequest"
    assert await _count(api) == before


async def test_malformed_yaml(api: Api) -> None:
    resp = await api.post(CM, data=b"metadata:\n  name: [x\n", content_type="application/yaml")
    assert resp.status == 400
    assert "yaml" in resp.body["message"].lower()


async def test_wrong_kind(api: Api) -> None:
    resp = await api.post(CM, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}})
    assert resp.status == 400
    assert (
        resp.body["message"] == "the kind in the data (Secret) does not match the expected kind (ConfigMap)"
    )
    assert (await api.get(f"{CM}/x")).status == 404


async def test_wrong_api_version(api: Api) -> None:
    resp = await api.post(DEPLOY, {"apiVersion": "apps/v2", "kind": "Deployment", "metadata": {"name": "x"}})
    assert resp.status == 400


async def test_oversized_body_is_413(api: Api) -> None:
    body = json.dumps({"metadata": {"name": "huge"}, "data": {"v": "x" * (3 * 1024 * 1024 + 10)}}).encode()
    resp = await api.post(CM, data=body)
    assert resp.status == 413
    assert resp.body["kind"] == "Status"
    assert (await api.get(f"{CM}/huge")).status == 404


async def test_not_an_object(api: Api) -> None:
    for payload in (b"[]", b"42", b'"text"', b"null"):
        resp = await api.post(CM, data=payload)
        assert 400 <= resp.status < 500, (payload, resp.status, resp.body)


async def test_unknown_field_strict_warn_ignore(api: Api) -> None:
    body = {"metadata": {"name": "u1"}, "data": {"a": "b"}, "bogus": 1}
    strict = await api.post(f"{CM}?fieldValidation=Strict", body)
    assert strict.status == 400
    assert strict.body["message"] == (
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "bogus"'
    )
    warn = await api.post(f"{CM}?fieldValidation=Warn", body)
    assert warn.status == 201
    assert 'unknown field \\"bogus\\"' in warn.headers.get("Warning", "")
    assert "bogus" not in warn.body
    body["metadata"]["name"] = "u2"
    ignore = await api.post(f"{CM}?fieldValidation=Ignore", body)
    assert ignore.status == 201 and "Warning" not in ignore.headers


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


def _objects() -> st.SearchStrategy[dict]:
    meta = st.fixed_dictionaries(
        {},
        optional={
            "name": st.text(max_size=70) | json_values,
            "labels": st.dictionaries(st.text(max_size=70), st.text(max_size=70) | json_values, max_size=3)
            | json_values,
            "annotations": json_values,
            "finalizers": json_values,
            "ownerReferences": json_values,
        },
    )
    return st.fixed_dictionaries(
        {"metadata": meta},
        optional={
            "apiVersion": st.sampled_from(["apps/v1", "v1", "x"]) | json_values,
            "kind": st.sampled_from(["Deployment", "ConfigMap"]) | json_values,
            "spec": json_values
            | st.fixed_dictionaries(
                {},
                optional={
                    "replicas": json_values,
                    "selector": json_values,
                    "template": json_values,
                    "strategy": json_values,
                },
            ),
            "data": json_values,
        },
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=_objects(),
    path=st.sampled_from(
        [
            CM,
            DEPLOY,
            "/api/v1/namespaces",
            "/api/v1/namespaces/default/services",
            "/api/v1/namespaces/default/pods",
            "/apis/batch/v1/namespaces/default/jobs",
        ]
    ),
)
async def test_fuzzed_bodies_never_5xx(api: Api, body: dict, path: str) -> None:
    resp = await api.post(path, body)
    assert resp.status < 500, (path, body, resp.body)


async def test_server_side_apply_rejects_unknown_fields_like_kube(api: Api) -> None:
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "ssa"},
        "spec": {
            "replicaz": 2,
            "selector": {"matchLabels": {"a": "b"}},
            "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "c", "image": "i"}]},
            },
        },
    }
    resp = await api.patch(f"{DEPLOY}/ssa?fieldManager=me", body, content_type="application/apply-patch+yaml")
    assert resp.status == 400
    assert resp.body["message"] == (
        "failed to create typed patch object (default/ssa; apps/v1, Kind=Deployment): "
        ".spec.replicaz: field not declared in schema"
    )
    assert (await api.get(f"{DEPLOY}/ssa")).status == 404
