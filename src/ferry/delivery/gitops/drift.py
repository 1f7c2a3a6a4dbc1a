"""Drift: does the live cluster still match an app's desired state, and if not, what differs.

``compare`` is the apply engine's ``diff`` (a server-side dry-run apply of every rendered object, normalised,
plus the prune decisions of the app's inventory) turned into the answer a status page needs: ``in_sync`` and
one line per difference::

    Deployment shop-qa/order-service: spec.replicas
    Deployment shop-qa/order-service: spec.template.spec.containers[name=order-service].image
    ConfigMap shop-qa/order-service-config: missing
    Service shop-qa/old-api: no longer rendered (prune)

Because the comparison is against what an apply *would* make of the object, server defaults and fields other
managers own are not drift; a ``kubectl scale`` (``spec.replicas``), a ``kubectl edit`` of a rendered field,
or a ``kubectl rollout undo`` (the pod template goes back to an older revision) are. The loop runs it for every
app each interval, so a hand-made change is seen within one interval; what happens then (revert, or report
OutOfSync) is the environment's ``selfHeal`` policy, decided by the loop.

Race: a change made between the comparison and the heal's apply is simply included in (or reverted by) that
apply; a change made after it is seen by the next interval's comparison. A rollout in progress is not drift:
the Deployment's spec already matches, only its status moves.
"""

from __future__ import annotations

from dataclasses import dataclass

from ferry.delivery.apply import KubeApi, diff
from ferry.delivery.apps import DesiredApp

__all__ = ["Comparison", "compare"]


@dataclass(frozen=True)
class Comparison:
    in_sync: bool
    changes: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        """The first few differences on one line (for logs and the status message)."""
        if not self.changes:
            return "in sync"
        more = f" (+{len(self.changes) - 3} more)" if len(self.changes) > 3 else ""
        return "; ".join(self.changes[:3]) + more


async def compare(api: KubeApi, app: DesiredApp, *, prune: bool) -> Comparison:
    """Desired vs live for one app, without writing anything."""
    plan = await diff(api, app.objects, inventory=app.inventory, prune=prune)
    changes: list[str] = []
    for o in plan.objects:
        if o.action == "created":
            changes.append(f"{o.ref}: missing")
        elif o.action == "changed":
            changes.extend(f"{o.ref}: {path}" for path in o.paths)
        elif o.action == "pruned" and not o.message:  # a message: already gone, nothing to do
            changes.append(f"{o.ref}: no longer rendered (prune)")
    return Comparison(not changes, tuple(changes))
