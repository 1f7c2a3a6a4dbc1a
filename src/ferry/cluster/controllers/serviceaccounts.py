"""ServiceAccount controller: a ``default`` ServiceAccount in every active namespace.

Mirrors kube's ``pkg/controller/serviceaccount/serviceaccounts_controller.go`` (the controller-manager's
``serviceaccount-controller``; token Secrets are no longer minted since 1.24, so neither are they here).

Keys are namespace names. ``sync(<namespace>)`` is level-triggered and idempotent:

* the namespace is gone, or not ``Active`` (``Terminating``): nothing to do. Creating into a terminating
  namespace would be refused anyway, and the namespace controller is busy deleting its contents;
* for each ServiceAccount to ensure (``default``), if the cache has none of that name, create
  ``{"metadata": {"name": "default", "namespace": <ns>}}``. ``AlreadyExists`` means the cache was behind
  (or a user created it first): fine. A refusal because the namespace started terminating meanwhile is
  ignored; any other failure is raised after trying every name, so the runtime retries with back-off.

Handlers (what enqueues a namespace): a namespace added or updated (an update may be the phase turning
back to Active after a deletion was cancelled, or a resync), and a ServiceAccount *deleted* — which is how a
``kubectl delete serviceaccount default`` is undone within one sync. ServiceAccount adds and updates and
namespace deletions need nothing.

Race: the cache may not show a ServiceAccount created a moment ago by this controller; the second create
is then answered AlreadyExists and ignored, so no duplicate and no error. The controller never updates or
deletes a ServiceAccount: users own their content (secrets, imagePullSecrets, automount flag).
"""

from __future__ import annotations

from collections.abc import Sequence

from ferry.cluster.controllers.endpoints import meta, namespace_terminating
from ferry.cluster.controllers.runtime.types import ApiStatusError, Client, Clock, EventRecorder, Lister, Obj

NAMESPACES = "v1/namespaces"
SERVICE_ACCOUNTS = "v1/serviceaccounts"
DEFAULT_SERVICE_ACCOUNTS: tuple[str, ...] = ("default",)


def service_account(namespace: str, name: str) -> Obj:
    """The object kube's controller creates: a name and nothing else (defaults come from the API)."""
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": namespace}}


class ServiceAccountsController:
    """Ensures the ServiceAccounts of ``names`` (default: ``default``) exist in every active namespace."""

    resources = (NAMESPACES, SERVICE_ACCOUNTS)

    def __init__(
        self,
        namespaces: Lister,
        service_accounts: Lister,
        client: Client,
        recorder: EventRecorder,
        clock: Clock,
        *,
        names: Sequence[str] = DEFAULT_SERVICE_ACCOUNTS,
    ) -> None:
        self.namespaces, self.service_accounts = namespaces, service_accounts
        self.client, self.recorder, self.clock = client, recorder, clock
        self.names = tuple(names)

    # -- event handlers: return the namespaces to sync -----------------------------------------------
    def on_add(self, resource: str, obj: Obj) -> list[str]:
        return [str(meta(obj).get("name"))] if resource == NAMESPACES else []

    def on_update(self, resource: str, old: Obj, new: Obj) -> list[str]:
        return [str(meta(new).get("name"))] if resource == NAMESPACES else []

    def on_delete(self, resource: str, obj: Obj) -> list[str]:
        if resource == SERVICE_ACCOUNTS and meta(obj).get("name") in self.names:
            return [str(meta(obj).get("namespace"))]
        return []

    # -- reconcile -----------------------------------------------------------------------------------
    async def sync(self, key: str) -> None:
        namespace = self.namespaces.get(None, key)
        if namespace is None or (namespace.get("status") or {}).get("phase") != "Active":
            return
        failures: list[ApiStatusError] = []
        for name in self.names:
            if self.service_accounts.get(key, name) is not None:
                continue
            try:
                await self.client.create(SERVICE_ACCOUNTS, key, service_account(key, name))
            except ApiStatusError as e:
                if not (e.already_exists or namespace_terminating(e)):
                    failures.append(e)
        if failures:
            raise failures[0]
