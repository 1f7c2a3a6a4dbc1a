"""Story 3 (SCENARIOS.md): four services, each its own image, chart, Deployment and Service, in one
namespace; a change to ``order-service`` rolls ``order-service`` only.

The proof is the other services' ReplicaSets: the same names, UIDs and revisions before and after the
change (a re-created or re-rolled Deployment would show a new UID or revision), while ``order-service`` gets
a new ReplicaSet.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from ferry.demo.observe import ReplicaSetId, replicasets, service_address, wait_synced
from ferry.demo.shell import head_and_tail
from ferry.demo.workspace import Workspace

__all__ = ["four_services"]

SERVICES = ("auth-service", "order-service", "payment-service", "api-gateway")
CHANGED = "order-service"
ENV = "sit"


def _snapshot(ws: Workspace) -> dict[str, list[ReplicaSetId]]:
    return {s: replicasets(ws.shell, namespace=ws.namespace(ENV), service=s) for s in SERVICES}


def _print(ws: Workspace, title: str, snap: dict[str, list[ReplicaSetId]]) -> None:
    ws.shell.say(title)
    for rs_list in snap.values():
        for rs in rs_list:
            ws.shell.console.print("  " + rs.line(), markup=False, highlight=False)


def four_services(ws: Workspace, records: Path) -> None:
    """``records``: the first ``ferry ci`` run's build records (all five services)."""
    sh = ws.shell
    sh.step(
        "Story 3: four services in sit",
        "each service is its own release (image, chart, Deployment, Service); one commit per service",
    )
    first = ws.head()
    sh.run(["ferry", "promote", *SERVICES, "--to", ENV, "--build", str(records)])
    for service in SERVICES:
        digest = ws.record(service, records).digest
        wait_synced(sh, namespace=ws.namespace(ENV), env=ENV, service=service, digest=digest)
    sh.run(["kubectl", "-n", ws.namespace(ENV), "get", "deployments,services"])
    _order_through_the_gateway(ws)
    before = _snapshot(ws)
    _print(ws, "ReplicaSets before the change:", before)

    sh.step(
        "Change order-service only", "ferry ci builds only what the commit touched; only its release moves"
    )
    version = (ws.app / "services" / CHANGED / "VERSION").read_text().strip()
    bumped = _bump(version)
    ws.commit_change(f"services/{CHANGED}/VERSION", version, bumped, f"{CHANGED}: {bumped}")
    if ws.head() == first:
        raise sh.fail("the change made no commit")
    sh.run(["ferry", "ci"], show=head_and_tail(2, 2), timeout=900, stderr_first=True)
    built = sorted(p.stem for p in (ws.app / ws.records_dir()).glob("*.json"))
    if built != [CHANGED]:
        raise sh.fail(f"ferry ci built {built}, expected only {CHANGED}")
    record = ws.record(CHANGED)
    sh.run(["ferry", "promote", CHANGED, "--to", ENV, "--build", str(record.path)])
    wait_synced(sh, namespace=ws.namespace(ENV), env=ENV, service=CHANGED, digest=record.digest)
    after = _snapshot(ws)
    _print(ws, "ReplicaSets after the change:", after)

    moved = [s for s in SERVICES if s != CHANGED and before[s] != after[s]]
    if moved:
        raise sh.fail(f"changing {CHANGED} also changed the ReplicaSets of {', '.join(moved)}")
    new = {r.uid for r in after[CHANGED]} - {r.uid for r in before[CHANGED]}
    if len(new) != 1:
        raise sh.fail(f"{CHANGED} should have exactly one new ReplicaSet, has {len(new)}")
    others = ", ".join(s for s in SERVICES if s != CHANGED)
    sh.console.print(
        f"[bold green]only {CHANGED} rolled: a new ReplicaSet; {others}: same names, UIDs and revisions[/bold green]"
    )


def _entry(ws: Workspace) -> str:
    """Where outside traffic enters: the cluster's ingress proxy (its Ingress routes / to api-gateway), or
    api-gateway's ClusterIP when the cluster runs no ingress."""
    sh = ws.shell
    state = ws.cluster / "kubelet" / "network" / "ingress.json"
    url = ""
    if state.is_file():
        url = str(json.loads(state.read_text()).get("url") or "").rstrip("/")
    if url:
        sh.run(["kubectl", "-n", ws.namespace(ENV), "get", "ingress"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the ingress controller picks the new Ingress up from its watch
            if sh.quiet(["curl", "-fsS", "--max-time", "5", f"{url}/"]).returncode == 0:
                break
            time.sleep(0.5)
        sh.say(f"outside traffic enters through the Ingress: {url} → api-gateway")
        return url
    host, port = service_address(sh, namespace=ws.namespace(ENV), name="api-gateway")
    sh.say("no ingress in this cluster: straight to api-gateway's ClusterIP")
    return f"http://{host}:{port}"


def _order_through_the_gateway(ws: Workspace) -> None:
    """A login and an order through api-gateway: gateway → auth-service, gateway → order-service →
    auth-service + payment-service, each call by Service name through the cluster's DNS."""
    sh = ws.shell
    gateway = _entry(ws)
    sh.say(
        "an order: api-gateway calls auth-service and order-service by name, order-service calls payment-service"
    )
    curl = ["curl", "-sS", "--max-time", "10", "-H", "Content-Type: application/json"]
    login = sh.run(
        [*curl, "-X", "POST", "-d", '{"user": "demo", "password": "demo"}', f"{gateway}/api/login"]
    )
    try:
        token = str(json.loads(login.stdout)["token"])
    except (ValueError, KeyError, TypeError):
        raise sh.fail(f"login through api-gateway answered {login.stdout.strip()[:120]!r}") from None
    order = '{"items": [{"sku": "book", "quantity": 2, "priceCents": 1250}]}'
    proc = sh.run(
        [*curl, "-X", "POST", "-H", f"Authorization: Bearer {token}", "-d", order, f"{gateway}/api/orders"]
    )
    try:
        paid = json.loads(proc.stdout).get("status") == "paid"
    except (ValueError, AttributeError):
        paid = False
    if not paid:
        raise sh.fail(f"the order through api-gateway was not paid: {proc.stdout.strip()[:160]!r}")


def _bump(version: str) -> str:
    """1.4.2 → 1.4.3 (the last numeric part + 1)."""
    head, _, last = version.rpartition(".")
    return f"{head}.{int(last) + 1}" if last.isdigit() else f"{version}.1"
