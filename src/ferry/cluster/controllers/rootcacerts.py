"""Root CA publisher: a ``kube-root-ca.crt`` ConfigMap with the cluster CA in every active namespace.

Mirrors kube's ``root-ca-cert-publisher`` (``pkg/controller/certificates/rootcacertpublisher``): pods verify the
API server with it, through the ``ca.crt`` item of the ``kube-api-access`` projected volume, when they reach it
as ``https://kubernetes.default.svc``. Keys are namespace names; ``sync(ns)`` creates the ConfigMap when it is
missing and puts ``ca.crt`` and the description annotation back when someone changed them (level-triggered;
other keys and labels are left alone, as kube does). Terminating namespaces are skipped.

Handlers: a namespace added or updated; a ``kube-root-ca.crt`` ConfigMap updated or deleted (a deletion is
undone within one sync). The CA is read once, when the controller is built, from the cluster's data dir.
"""

from __future__ import annotations

from pathlib import Path

from ferry.cluster.controllers.endpoints import meta, namespace_terminating
from ferry.cluster.controllers.runtime.manager import ControllerContext, ControllerSpec, Handlers, HandlerSet
from ferry.cluster.controllers.runtime.types import ApiStatusError, Client, Lister, Obj

NAMESPACES = "v1/namespaces"
CONFIG_MAPS = "v1/configmaps"
NAME = "kube-root-ca.crt"
DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as "
    "the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of "
    "Kubernetes clusters."
)
ANNOTATION = "kubernetes.io/description"


class RootCAPublisher:
    """Keeps ``kube-root-ca.crt`` (``ca.crt``: the cluster CA) in every active namespace."""

    def __init__(self, namespaces: Lister, config_maps: Lister, client: Client, ca_pem: str) -> None:
        self.namespaces, self.config_maps, self.client, self.ca_pem = namespaces, config_maps, client, ca_pem

    def handlers(self) -> dict[str, HandlerSet]:
        def ns(obj: Obj) -> list[str]:
            return [str(meta(obj).get("name"))]

        def cm(obj: Obj) -> list[str]:
            return [str(meta(obj).get("namespace"))] if meta(obj).get("name") == NAME else []

        return {
            NAMESPACES: Handlers(ns, lambda old, new: ns(new), lambda obj: []),
            CONFIG_MAPS: Handlers(lambda obj: [], lambda old, new: cm(new), cm),
        }

    async def sync(self, key: str) -> None:
        namespace = self.namespaces.get(None, key)
        if namespace is None or (namespace.get("status") or {}).get("phase") != "Active":
            return
        current = self.config_maps.get(key, NAME)
        try:
            if current is None:
                body: Obj = {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": NAME, "namespace": key, "annotations": {ANNOTATION: DESCRIPTION}},
                    "data": {"ca.crt": self.ca_pem},
                }
                await self.client.create(CONFIG_MAPS, key, body)
                return
            data = current.get("data") or {}
            annotations = meta(current).get("annotations") or {}
            if data.get("ca.crt") == self.ca_pem and annotations.get(ANNOTATION) == DESCRIPTION:
                return
            updated = dict(current)
            updated["data"] = dict(data) | {"ca.crt": self.ca_pem}
            updated["metadata"] = dict(meta(current)) | {
                "annotations": dict(annotations) | {ANNOTATION: DESCRIPTION}
            }
            await self.client.update(CONFIG_MAPS, key, updated)
        except ApiStatusError as e:
            if not (e.already_exists or e.not_found or e.code == 409 or namespace_terminating(e)):
                raise


def root_ca_publisher(ca_file: Path) -> ControllerSpec:
    """The publisher's spec; ``ca_file`` (``<data dir>/pki/ca.crt``) is read in the controller-manager process."""

    def build(c: ControllerContext) -> RootCAPublisher:
        return RootCAPublisher(c.lister(NAMESPACES), c.lister(CONFIG_MAPS), c.client, ca_file.read_text())

    return ControllerSpec("root-ca-cert-publisher", build, workers=1)
