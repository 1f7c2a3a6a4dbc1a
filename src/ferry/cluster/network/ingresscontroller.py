"""The ingress controller: Ingresses and IngressClasses from the informers to the :class:`IngressProxy`, and the
address back into each served Ingress's status. The network agent hosts it (it shares the agent's
:class:`ServiceTable`, fed by the same Service and EndpointSlice informers, and its lifetime); the agent's
``handlers``/``sync``/start/stop call the methods here.

**Handlers → keys → sync**, level-triggered as the agent's: ``ing/<ns>/<name>`` and ``ingclass//<name>``.
Every sync rebuilds the whole :class:`RouteTable` from the caches (a few microseconds per Ingress; a cluster on
one laptop has tens) and swaps it into the proxy, so a request sees either the old or the new routes, never a
mix. It then reconciles the status of the synced Ingress (an IngressClass sync: of every Ingress, since a class
change can adopt or release many): ours get ``status.loadBalancer.ingress: [{ip: <host>, ports: [{port,
protocol: TCP}]}]`` (the ports entry because the address is not on port 80; ``kubectl get ingress`` shows the
ADDRESS), and an Ingress that is no longer ours loses exactly that entry (another controller's is left alone).
Status is written only while the proxy listens, with a merge patch of the status subresource, and only when it
differs, so the update event it causes syncs to a no-op.

**Start**: create the IngressClass ``ferry`` (controller ``ferry.dev/ingress``, marked default) when no class of
ours exists (an AlreadyExists from a race is fine), listen, write ``ingress.json`` (``{"host", "port", "url"}``)
next to the agent's state so that ``ferry cluster status`` and tests learn a port chosen by the kernel, then
write the status of every Ingress served. A port that is taken is a Warning event ``IngressFailed`` on the Node
and a log line; the agent runs on without ingress.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ferry.cluster.controllers.runtime.manager import Handlers, HandlerSet, Keys
from ferry.cluster.controllers.runtime.types import ApiStatusError, Client, EventRecorder, Lister, Obj
from ferry.cluster.network.ingress import IngressProxy
from ferry.cluster.network.ingressrules import (
    CLASS_NAME,
    CONTROLLER,
    DEFAULT_CLASS_ANNOTATION,
    RouteTable,
    is_ours,
    our_classes,
)
from ferry.cluster.network.services import ServiceTable

__all__ = ["INGRESSCLASSES", "INGRESSES", "IngressController", "read_ingress_file"]

log = logging.getLogger("ferry.network.ingress")

INGRESSES = "networking.k8s.io/v1/ingresses"
INGRESSCLASSES = "networking.k8s.io/v1/ingressclasses"
INGRESS_FILE = "ingress.json"


def read_ingress_file(state_dir: Path) -> dict[str, Any] | None:
    """What the running controller wrote (``host``, ``port``, ``url``), or None."""
    try:
        data: dict[str, Any] = json.loads((state_dir / INGRESS_FILE).read_text())
    except (OSError, ValueError):
        return None
    return data


def _meta(obj: Obj) -> tuple[str, str]:
    m = obj.get("metadata") or {}
    return str(m.get("namespace") or ""), str(m.get("name") or "")


class IngressController:
    """Routes, proxy and status for the Ingresses of our classes; see the module docstring."""

    def __init__(
        self,
        table: ServiceTable,
        *,
        ingresses: Lister,
        classes: Lister,
        client: Client | None,
        recorder: EventRecorder,
        host: str = "127.0.0.1",
        port: int = 0,
        state_dir: Path | None = None,
        node_ref: Obj | None = None,
    ) -> None:
        self.ingresses, self.classes = ingresses, classes
        self.client = client
        self.recorder = recorder
        self.state_dir = state_dir
        self.node_ref = node_ref
        self.proxy = IngressProxy(table, host=host, port=port)
        self.listening = False

    # -- events → keys ----------------------------------------------------------------------------------
    def handlers(self) -> Mapping[str, HandlerSet]:
        def keyed(prefix: str) -> Handlers:
            def one(obj: Obj) -> Keys:
                ns, name = _meta(obj)
                return [f"{prefix}/{ns}/{name}"]

            def changed(old: Obj, new: Obj) -> Keys:
                return [] if old is new else one(new)

            return Handlers(one, changed, one)

        return {INGRESSES: keyed("ing"), INGRESSCLASSES: keyed("ingclass")}

    async def sync(self, key: str) -> None:
        kind, _, rest = key.partition("/")
        ns, _, name = rest.partition("/")
        self.rebuild()
        if not self.listening:
            return
        if kind == "ing":
            obj = self.ingresses.get(ns, name)
            if obj is not None:
                await self._reconcile_status(obj)
        else:
            await self._reconcile_all()

    def rebuild(self) -> RouteTable:
        names, default = our_classes(self.classes.list())
        routes = RouteTable.build(i for i in self.ingresses.list() if is_ours(i, names, default))
        self.proxy.routes = routes
        return routes

    # -- status -----------------------------------------------------------------------------------------
    def _entry(self) -> dict[str, Any]:
        return {"ip": self.proxy.host, "ports": [{"port": self.proxy.port, "protocol": "TCP"}]}

    async def _reconcile_status(self, ing: Obj) -> None:
        ns, name = _meta(ing)
        current = list(((ing.get("status") or {}).get("loadBalancer") or {}).get("ingress") or [])
        mine = self._entry()
        ours = (ns, name) in self.proxy.routes.ingresses
        others = [e for e in current if e.get("ip") != mine["ip"]]
        wanted = [*others, mine] if ours else others
        if wanted == current or self.client is None:
            return
        body = {"status": {"loadBalancer": {"ingress": wanted}}}
        try:
            await self.client.patch(INGRESSES, ns, name, body, patch_type="merge", subresource="status")
        except ApiStatusError as e:
            if not e.not_found:  # deleted meanwhile: nothing to do
                raise

    async def _reconcile_all(self) -> None:
        for ing in self.ingresses.list():
            await self._reconcile_status(ing)

    # -- lifetime ---------------------------------------------------------------------------------------
    async def _ensure_class(self) -> None:
        if self.client is None or our_classes(self.classes.list())[0]:
            return
        body = {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IngressClass",
            "metadata": {"name": CLASS_NAME, "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
            "spec": {"controller": CONTROLLER},
        }
        try:
            await self.client.create(INGRESSCLASSES, None, body)
            log.info("ingress: created IngressClass %s (default, controller %s)", CLASS_NAME, CONTROLLER)
        except ApiStatusError as e:
            if not e.already_exists:
                raise

    async def start(self) -> bool:
        """Create our IngressClass if missing, listen, record the port, write statuses. False: not listening."""
        try:
            await self._ensure_class()
        except Exception as e:  # the proxy still serves Ingresses that name a class of ours
            log.warning("ingress: cannot create IngressClass %s: %s", CLASS_NAME, e)
        self.rebuild()
        try:
            await self.proxy.start()
        except OSError as e:
            message = f"cannot listen on {self.proxy.host}:{self.proxy.port}: {e.strerror or e}"
            log.error("ingress: %s", message)
            if self.node_ref is not None:
                self.recorder.event(self.node_ref, "Warning", "IngressFailed", message)
            return False
        self.listening = True
        self._write_file()
        log.info("ingress serving on http://%s:%d", self.proxy.host, self.proxy.port)
        try:
            await self._reconcile_all()
        except Exception as e:  # each Ingress's next sync retries
            log.warning("ingress: writing status failed: %s", e)
        return True

    def _write_file(self) -> None:
        if self.state_dir is None:
            return
        self.state_dir.mkdir(parents=True, exist_ok=True)
        path, tmp = self.state_dir / INGRESS_FILE, self.state_dir / f".{INGRESS_FILE}.tmp"
        host, port = self.proxy.host, self.proxy.port
        tmp.write_text(json.dumps({"host": host, "port": port, "url": f"http://{host}:{port}"}))
        os.replace(tmp, path)

    async def close(self) -> None:
        self.listening = False
        if self.state_dir is not None:
            (self.state_dir / INGRESS_FILE).unlink(missing_ok=True)
        await self.proxy.close()
