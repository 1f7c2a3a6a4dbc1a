"""GitOps promotion: move one digest sit → qa → prod by committing pins, behind gates, and take it back.

Everything here changes the **config repo** only; the reconciler (``ferry reconcile``) turns commits into
cluster state. What this package reads from clusters (health, sync, the digest running) goes through the
apply engine's lightkube client and the environment's kubeconfig.

* ``promote`` (``promote``) — a build record into the first environment, or the previous environment's pin into
  the next; release sets in dependency order, every gate checked before any commit, one commit per service.
* ``gates`` — rejected, approval, health, sync, soak, verify; the first failure refuses in one line.
* ``approvals`` — ``ferry approve``: a committed ``approvals.yaml`` per environment and service.
* ``reject`` — ``ferry reject [--to-previous]``: the previous good pin committed, the bad digest rejected.
* ``observe`` — an app's live state (``Observer`` seam; ``ClusterObserver`` for real clusters).
* ``status`` — ``ferry status``: environments by services.
* ``errors`` — ``PromotionError`` ├ ``GateRefused`` (``.gate``) ├ ``NoPreviousPin``.
"""

from ferry.delivery.promotion.approvals import Approval, approve, find_approval, read_approvals
from ferry.delivery.promotion.errors import GateRefused, NoPreviousPin, PromotionError
from ferry.delivery.promotion.gates import GateResult, Move, VerifyRunner, check_gates, run_verify
from ferry.delivery.promotion.observe import AppState, ClusterObserver, Observer, status_configmap_name
from ferry.delivery.promotion.promote import Promotion, pin_from_build_record, promote
from ferry.delivery.promotion.reject import Rejection, previous_good_pin, reject
from ferry.delivery.promotion.status import StatusRow, collect_status

__all__ = [
    "AppState",
    "Approval",
    "ClusterObserver",
    "GateRefused",
    "GateResult",
    "Move",
    "NoPreviousPin",
    "Observer",
    "Promotion",
    "PromotionError",
    "Rejection",
    "StatusRow",
    "VerifyRunner",
    "approve",
    "check_gates",
    "collect_status",
    "find_approval",
    "pin_from_build_record",
    "previous_good_pin",
    "promote",
    "read_approvals",
    "reject",
    "run_verify",
    "status_configmap_name",
]
