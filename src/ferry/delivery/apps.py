"""An *app*: one service in one environment, and the objects it should be.

Both ways of delivering (push deploys and the GitOps reconciler) start from the same question: given the
platform model, the config repo at some revision and possibly an explicit image pin, which plain Kubernetes
objects should exist for `order-service` in `qa`? `render_app` answers it, always the same way:

1. the service's chart (``Platform.chart_dir``), released as the service's name in the environment's namespace;
2. values, later wins: chart defaults → the environment's values files from the config repo (environment-wide,
   then the service's) → ``set_values`` (``--set`` strings) → the image pin (``repository@digest``);
3. config propagation (``add_config_checksums``) unless the service turned it off; what it added is returned,
   so a plan or diff can show it.

The pin comes from the config repo (`envs/<env>/<service>/pin.yaml`) unless the caller passes one: a push
deploy of a freshly built tag does, the reconciler never does. No pin at all is an error that says how to get
one. The inventory that the apply engine keeps for prune is named after the app (``<env>-<service>``) and
lives in the environment's namespace, so two environments on one cluster never prune each other's objects.

Nothing here talks to a cluster; ``client_config`` only says how to reach the environment's.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ferry.charts import Change, image_values, render
from ferry.charts import add_config_checksums as _add_checksums
from ferry.delivery.apply import ClientConfig, InventoryRef
from ferry.delivery.configrepo import ConfigRepo
from ferry.delivery.environments import Environment
from ferry.delivery.pins import Pin
from ferry.delivery.platform import DeliveryService, Platform

__all__ = ["AppError", "DesiredApp", "app_name", "client_config", "render_app"]


class AppError(Exception):
    """The app cannot be rendered for a reason outside the chart (no pin yet, ...); one readable line."""


def app_name(env: str, service: str) -> str:
    """The app's name: labels (``ferry.dev/app``), the inventory, the release records."""
    return f"{env}-{service}"


@dataclass(frozen=True)
class DesiredApp:
    env: Environment
    service: DeliveryService
    pin: Pin
    objects: list[dict[str, Any]]
    checksums: list[Change] = field(default_factory=list)  # what config propagation added
    values_files: tuple[str, ...] = ()  # config-repo paths of the values layers used, in order
    revision: str | None = None  # the config repo commit its values (and pin, unless given) came from

    @property
    def name(self) -> str:
        return app_name(self.env.name, self.service.name)

    @property
    def namespace(self) -> str:
        return self.env.namespace

    @property
    def inventory(self) -> InventoryRef:
        return InventoryRef(app=self.name, namespace=self.env.namespace)


IN_CLUSTER_ENV = "FERRY_IN_CLUSTER"


def client_config(env: Environment) -> ClientConfig:
    """How to reach the environment's cluster (a kubeconfig and a context in it).

    With ``$FERRY_IN_CLUSTER`` set (the reconciler's chart sets it), an environment without ``cluster:`` — on
    a laptop, the embedded cluster — is the cluster the process runs in: no kubeconfig, so lightkube uses the
    pod's ServiceAccount. One with a ``context`` and no ``kubeconfig`` then reads ``$KUBECONFIG`` explicitly,
    because lightkube would otherwise try the ServiceAccount first (kubectl's order is ``$KUBECONFIG`` first).
    """
    if os.environ.get(IN_CLUSTER_ENV):
        if env.cluster.embedded:
            return ClientConfig(kubeconfig=None, context=None)
        if env.cluster.kubeconfig is None and os.environ.get("KUBECONFIG"):
            return ClientConfig(kubeconfig=Path(os.environ["KUBECONFIG"]), context=env.cluster.context)
    return ClientConfig(kubeconfig=env.cluster.kubeconfig, context=env.cluster.context)


def render_app(
    platform: Platform,
    repo: ConfigRepo | None,
    env: str,
    service: str,
    *,
    pin: Pin | None = None,
    set_values: Sequence[str] = (),
    revision: str = "HEAD",
    kube_version: str | None = None,
) -> DesiredApp:
    """The objects ``service`` should be in ``env`` (see the module docstring for the layers).

    Raises ``PlatformError`` for an unknown environment or service, ``AppError`` when there is no pin, and
    ``ChartError`` for a broken chart or values that fail its schema; nothing is applied by this function.
    """
    environment = platform.environment(env)
    svc = platform.service(service)
    layers: list[dict[str, Any]] = []
    used: list[str] = []
    commit: str | None = None
    if repo is not None:
        for vf in repo.values_files(environment.name, svc.name, revision=revision):
            layers.append(vf.values)
            used.append(vf.path)
        commit = repo.head() if revision == "HEAD" else revision
    chosen = (
        pin
        if pin is not None
        else (repo.read_pin(environment.name, svc.name, revision=revision) if repo else None)
    )
    if chosen is None:
        raise AppError(
            f"no image is pinned for {svc.name} in {environment.name}: promote a build first "
            f"(ferry promote {svc.name} --to {environment.name} --build <record>) or deploy a tag"
        )
    rendered = render(
        Path(platform.chart_dir(svc.name)),
        release=svc.name,
        namespace=environment.namespace,
        values=layers,
        set_values=set_values,
        pin=image_values(chosen.repository, chosen.tag, chosen.digest),
        kube_version=kube_version,
    )
    objects = [dict(o) for o in rendered.objects]
    checksums = _add_checksums(objects) if svc.config_checksums else []
    return DesiredApp(
        env=environment,
        service=svc,
        pin=chosen,
        objects=objects,
        checksums=list(checksums),
        values_files=tuple(used),
        revision=commit,
    )
