"""Subresources with their own shapes: ``/scale``, ``pods/log``, ``pods/binding``, ``pods/eviction``,
``namespaces/finalize``, and SelfSubjectAccessReview.

``/scale`` answers an ``autoscaling/v1`` Scale built from the object (``spec.replicas``,
``status.replicas``, ``status.selector`` as the selector's string form); writes to it change only
``spec.replicas`` of the parent, with the Scale's resourceVersion as a precondition when given.
``/status`` needs no code of its own: it is an update with ``subresource="status"``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ferry.cluster.apiserver import errors, kubeletproxy
from ferry.cluster.apiserver.auth import Attributes, UserInfo
from ferry.cluster.apiserver.codec import JSON_PATCH, decode_body, dumps
from ferry.cluster.apiserver.context import ApiContext
from ferry.cluster.apiserver.deletion import DeleteOptions, delete_object
from ferry.cluster.apiserver.handlers import json_response, read_body, write_options
from ferry.cluster.apiserver.objects import get_path, meta, now_utc, rfc3339, set_path
from ferry.cluster.apiserver.patch import PatchError, apply_json_patch, apply_merge_patch
from ferry.cluster.apiserver.routing import RequestInfo
from ferry.cluster.apiserver.selectors import format_label_selector
from ferry.cluster.apiserver.storage import WriteOptions
from ferry.cluster.resources.types import Obj, ResourceType


def to_scale(rt: ResourceType, obj: Obj) -> dict[str, Any]:
    assert rt.scale is not None
    m = obj.get("metadata") or {}
    sel = get_path(obj, rt.scale.selector)
    selector = (
        sel if rt.scale.selector_is_string else format_label_selector(sel if isinstance(sel, dict) else None)
    )
    status: dict[str, Any] = {"replicas": get_path(obj, rt.scale.status_replicas) or 0}
    if selector:
        status["selector"] = selector
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: m[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in m
        },
        "spec": {"replicas": get_path(obj, rt.scale.spec_replicas) or 0},
        "status": status,
    }


def _replicas_from_scale(rt: ResourceType, scale: Any, name: str) -> tuple[int, str | None]:
    if not isinstance(scale, dict):
        raise errors.bad_request("the body of the request must be a Scale object")
    replicas = (scale.get("spec") or {}).get("replicas", 0)
    if not isinstance(replicas, int) or isinstance(replicas, bool):
        raise errors.invalid(
            "Scale",
            "autoscaling",
            name,
            [errors.invalid_value("spec.replicas", replicas, "must be an integer")],
        )
    if replicas < 0:
        raise errors.invalid(
            "Scale",
            "autoscaling",
            name,
            [errors.invalid_value("spec.replicas", replicas, "must be greater than or equal to 0")],
        )
    rv = (scale.get("metadata") or {}).get("resourceVersion")
    return replicas, str(rv) if rv else None


async def get_scale(ctx: ApiContext, info: RequestInfo) -> web.StreamResponse:
    assert info.name is not None
    entry = ctx.storage.get(info.rt, info.namespace, info.name)
    return json_response(dumps(to_scale(info.rt, entry.obj())))


async def _write_scale(
    ctx: ApiContext, info: RequestInfo, compute: Any, opts: WriteOptions
) -> web.StreamResponse:
    rt, name = info.rt, info.name
    assert name is not None and rt.scale is not None

    async def mutate(old: Obj) -> tuple[Obj, bool]:
        scale = compute(to_scale(rt, old))
        replicas, rv = _replicas_from_scale(rt, scale, name)
        if rv is not None and rv != str(meta(old).get("resourceVersion")):
            raise errors.conflict(rt.plural, rt.group, name)
        set_path(old, rt.scale.spec_replicas, replicas)  # type: ignore[union-attr]
        return old, False

    result = await ctx.storage.guaranteed_update(rt, info.namespace, name, mutate, opts, subresource="scale")
    return json_response(dumps(to_scale(rt, result.obj)), 200, result.warnings)


async def put_scale(request: web.Request, ctx: ApiContext, info: RequestInfo) -> web.StreamResponse:
    opts = write_options(request)
    body, _ = decode_body(await read_body(request, ctx), request.headers.get("Content-Type"))
    return await _write_scale(ctx, info, lambda _current: body, opts)


async def patch_scale(
    ctx: ApiContext, info: RequestInfo, ptype: str, doc: Any, opts: WriteOptions
) -> web.StreamResponse:
    def compute(current: dict[str, Any]) -> Any:
        try:
            if ptype == JSON_PATCH:
                return apply_json_patch(current, doc)
            # strategic merge, merge and apply all reduce to a merge on the tiny Scale object
            return apply_merge_patch(current, doc)
        except PatchError as e:
            raise errors.ApiError(422, "Invalid", str(e))

    return await _write_scale(ctx, info, compute, opts)


async def pod_log(request: web.Request, ctx: ApiContext, info: RequestInfo) -> web.StreamResponse:
    """Proxied to the kubelet of the pod's node (:mod:`~ferry.cluster.apiserver.kubeletproxy`); a pod with no
    kubelet API behind it (unscheduled, or on a sim node) answers that its container is waiting to start."""
    assert info.name is not None
    pod = ctx.storage.get(info.rt, info.namespace, info.name).obj()
    container = kubeletproxy.choose_container(pod, info.name, request.query.get("container"))
    query = kubeletproxy.log_query(request.query, info.name)
    node_name = (pod.get("spec") or {}).get("nodeName")
    node = None
    if node_name:
        nodes = ctx.catalog.lookup("", "v1", "nodes")
        assert nodes is not None
        node = ctx.storage.get(nodes, None, str(node_name)).obj()
    endpoint = kubeletproxy.kubelet_endpoint(node)
    if endpoint is None or not ctx.settings.ca_file:
        reason = kubeletproxy.waiting_reason(pod, container)
        raise errors.bad_request(
            f'container "{container}" in pod "{info.name}" is waiting to start: {reason}'
        )
    return await kubeletproxy.proxy_logs(
        request,
        endpoint=endpoint,
        namespace=str(info.namespace),
        name=info.name,
        container=container,
        query=query,
        ca_file=ctx.settings.ca_file,
        verify=request.query.get("insecureSkipTLSVerifyBackend", "false").lower() != "true",
    )


async def bind_pod(request: web.Request, ctx: ApiContext, info: RequestInfo) -> web.StreamResponse:
    assert info.name is not None
    opts = write_options(request)
    binding, _ = decode_body(await read_body(request, ctx), request.headers.get("Content-Type"))
    target = (binding or {}).get("target") if isinstance(binding, dict) else None
    node = target.get("name") if isinstance(target, dict) else None
    if not node:
        raise errors.invalid("Binding", "", info.name, [errors.required("target.name")])
    name = info.name

    async def mutate(pod: Obj) -> tuple[Obj, bool]:
        if meta(pod).get("deletionTimestamp"):
            raise errors.conflict("pods/binding", "", name, "pod is being deleted")
        spec = pod.setdefault("spec", {})
        if spec.get("nodeName"):
            raise errors.conflict(
                "pods/binding", "", name, f'pod {name} is already assigned to node "{spec["nodeName"]}"'
            )
        spec["nodeName"] = node
        conds = [
            c
            for c in (pod.setdefault("status", {}).get("conditions") or [])
            if c.get("type") != "PodScheduled"
        ]
        conds.append(
            {
                "type": "PodScheduled",
                "status": "True",
                "lastProbeTime": None,
                "lastTransitionTime": rfc3339(now_utc()),
            }
        )
        pod["status"]["conditions"] = conds
        return pod, False

    # Binding writes spec.nodeName, which a normal update may not change: go through the status path's
    # sibling, a direct guaranteed update that keeps the rest of spec.
    await ctx.storage.guaranteed_update(
        info.rt, info.namespace, info.name, mutate, opts, subresource="binding"
    )
    return json_response(
        dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}), 201
    )


async def evict_pod(request: web.Request, ctx: ApiContext, info: RequestInfo) -> web.StreamResponse:
    assert info.name is not None
    eviction, _ = decode_body(await read_body(request, ctx), request.headers.get("Content-Type"))
    opts = DeleteOptions.parse(
        (eviction or {}).get("deleteOptions") if isinstance(eviction, dict) else None, dict(request.query)
    )
    await delete_object(ctx.storage, info.rt, info.namespace, info.name, opts)
    return json_response(
        dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}), 201
    )


async def finalize_namespace(request: web.Request, ctx: ApiContext, info: RequestInfo) -> web.StreamResponse:
    assert info.name is not None
    opts = write_options(request)
    body, _ = decode_body(await read_body(request, ctx), request.headers.get("Content-Type"))
    if not isinstance(body, dict):
        raise errors.bad_request("the body of the request must be a Namespace object")
    finalizers = (body.get("spec") or {}).get("finalizers") or []

    async def mutate(ns: Obj) -> tuple[Obj, bool]:
        ns.setdefault("spec", {})["finalizers"] = list(finalizers)
        if not finalizers:
            ns["spec"].pop("finalizers")
        return ns, False

    result = await ctx.storage.guaranteed_update(
        info.rt, None, info.name, mutate, opts, subresource="finalize"
    )
    m = meta(result.obj)
    if m.get("deletionTimestamp") and not finalizers and not m.get("finalizers") and not opts.dry_run:
        entry = ctx.store.get(info.rt.store_key(None, info.name))
        if entry is not None:
            gone = await ctx.store.delete(entry.key, expected_rev=entry.rev)
            return json_response(gone.raw)
    return json_response(result.raw)


async def self_subject_access_review(
    request: web.Request, ctx: ApiContext, info: RequestInfo, user: UserInfo
) -> web.StreamResponse:
    opts = write_options(request)
    body, _ = decode_body(await read_body(request, ctx), request.headers.get("Content-Type"))
    if not isinstance(body, dict):
        raise errors.bad_request("the body of the request must be a SelfSubjectAccessReview object")
    body.setdefault("apiVersion", info.rt.api_version)
    body.setdefault("kind", info.rt.kind)
    if info.rt.default is not None:
        info.rt.default(body)
    if info.rt.validate is not None:
        errs = info.rt.validate(body, None)
        if errs:
            raise errors.invalid(info.rt.kind, info.rt.group, "", errs)
    spec = body.get("spec") or {}
    ra = spec.get("resourceAttributes")
    nra = spec.get("nonResourceAttributes")
    if isinstance(ra, dict):
        attrs = Attributes(
            user=user,
            verb=str(ra.get("verb", "")),
            namespace=str(ra.get("namespace", "")),
            group=str(ra.get("group", "")),
            version=str(ra.get("version", "")),
            resource=str(ra.get("resource", "")),
            subresource=str(ra.get("subresource", "")),
            name=str(ra.get("name", "")),
        )
    else:
        nra = nra if isinstance(nra, dict) else {}
        attrs = Attributes(
            user=user, verb=str(nra.get("verb", "")), path=str(nra.get("path", "")), resource_request=False
        )
    decision = ctx.authorizer.authorize(attrs)
    body.setdefault("metadata", {})
    status: dict[str, Any] = {"allowed": decision.allowed}
    if decision.reason:
        status["reason"] = decision.reason
    body["status"] = status
    del opts
    return json_response(dumps(body), 201)
