"""Environments: the ordered `environments:` list of `ferry.yaml` (sit → qa → prod), parsed and checked.

    environments:
      - name: sit
        cluster: {context: kind-sit}            # or {kubeconfig: path, context: ...}, or a bare context name;
                                                # omitted: the embedded cluster ($FERRY_HOME/cluster/kubeconfig)
        namespace: shop-sit                     # default <app>-<env>
        sync: auto                              # or {mode: auto|manual, selfHeal: true, prune: true}
        valuesDir: envs/sit                     # in the config repo; default envs/<env>
        delivery: gitops                        # or push; default gitops with a configRepo, else push
      - name: qa
        promotion: {soakSeconds: 300, verify: "make smoke", verifyTimeoutSeconds: 600}
      - name: prod
        promotion: {approval: true}             # the default for the last environment only

Order is meaning: a digest is promoted from each environment to the next, so this is a list, never a mapping.
`promotion` describes the gates for *entering* that environment: the previous one must have been Healthy and
Synced at the digest for `soakSeconds`, its `verify` command must pass (it runs against the environment being
promoted *from*), and `approval` asks for `ferry approve`. The first environment is entered from a build record,
so soak and verify make no sense there and are refused.

`delivery` says which of the two ways owns the environment, so that they never fight: `gitops` (the reconciler
syncs it from the config repo; `ferry promote` moves pins into it; `ferry rollback` commits the previous good pin)
or `push` (`ferry deploy` applies releases; the reconciler leaves it alone). A push deploy into a GitOps
environment would be reverted as drift by a self-healing reconciler, so `ferry deploy` refuses it unless forced.

Cluster selection mirrors kubectl: a `kubeconfig` path (relative to the app repo; `~` expanded) and a `context`
in it (default: its current-context). A `context` alone uses kubectl's own resolution ($KUBECONFIG, then
~/.kube/config). Neither: the embedded cluster's kubeconfig, which `ferry cluster up` writes.

Errors: the `PlatformError` of `ferry.delivery.platform` (via the `Doc`), one line naming file, line and field.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

import yaml

from ferry.delivery.yamlnodes import Doc, is_null

__all__ = [
    "ClusterRef",
    "Environment",
    "PromotionGates",
    "SyncPolicy",
    "embedded_kubeconfig",
    "parse_environments",
]

DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
SyncMode = Literal["auto", "manual"]
Delivery = Literal["gitops", "push"]
_ENV_KEYS = ("name", "cluster", "namespace", "sync", "promotion", "valuesDir", "delivery")
_CLUSTER_KEYS = ("kubeconfig", "context")
_SYNC_KEYS = ("mode", "selfHeal", "prune")
_PROMOTION_KEYS = ("soakSeconds", "verify", "verifyTimeoutSeconds", "approval")
DEFAULT_VERIFY_TIMEOUT_SECONDS = 600.0


def embedded_kubeconfig() -> Path:
    """Where `ferry cluster up` writes the embedded cluster's kubeconfig ($FERRY_HOME, default ~/.ferry)."""
    return Path(os.environ.get("FERRY_HOME", "~/.ferry")).expanduser() / "cluster" / "kubeconfig"


@dataclass(frozen=True)
class ClusterRef:
    """Which cluster: a kubeconfig file (None = kubectl's default resolution) and a context (None = current)."""

    kubeconfig: Path | None
    context: str | None

    @property
    def embedded(self) -> bool:
        return self.context is None and self.kubeconfig == embedded_kubeconfig()


@dataclass(frozen=True)
class SyncPolicy:
    """How the reconciler treats the environment: `auto` syncs every change of the config repo; `manual` only
    reports OutOfSync until `ferry sync`. `self_heal` reverts hand-made drift; `prune` deletes what the last
    apply's inventory has and the new render does not."""

    mode: SyncMode = "auto"
    self_heal: bool = True
    prune: bool = True


@dataclass(frozen=True)
class PromotionGates:
    """Gates for promoting a digest *into* the environment (see the module docstring)."""

    soak_seconds: float = 0.0
    verify: str | None = None  # shell command, run against the source environment; exit 0 = pass
    verify_timeout_seconds: float = DEFAULT_VERIFY_TIMEOUT_SECONDS
    approval: bool = False


@dataclass(frozen=True)
class Environment:
    name: str
    cluster: ClusterRef
    namespace: str
    sync: SyncPolicy
    promotion: PromotionGates
    values_dir: str  # POSIX path inside the config repo
    delivery: Delivery = "gitops"  # who owns the environment: the reconciler (gitops) or ferry deploy (push)
    line: int = 0


def parse_environments(
    doc: Doc, node: yaml.Node, *, app: str, root: Path, has_config_repo: bool = True
) -> list[Environment]:
    """The `environments:` list; `app` names the default namespaces, `root` anchors relative kubeconfigs.

    Without a config repo every environment is delivered by push (the default) and `delivery: gitops` is an
    error."""
    if is_null(node):
        return []
    items = doc.sequence(node, "environments", "environments (- name: sit ...), in promotion order")
    envs: list[Environment] = []
    seen: dict[str, int] = {}
    namespaces: dict[tuple[ClusterRef, str], str] = {}
    values_dirs: dict[str, str] = {}
    for i, item in enumerate(items):
        env = _environment(
            doc,
            item,
            i,
            app=app,
            root=root,
            first=i == 0,
            last=i == len(items) - 1,
            has_config_repo=has_config_repo,
        )
        where = f"environments[{i}]"
        if env.name in seen:
            raise doc.error(
                item, f"{where}.name", f"duplicate environment {env.name!r} (first at line {seen[env.name]})"
            )
        seen[env.name] = env.line
        key = (env.cluster, env.namespace)
        if key in namespaces:
            raise doc.error(
                item,
                f"{where}.namespace",
                f"{env.namespace!r} on the same cluster is already environment {namespaces[key]!r}: "
                "environments must not share a namespace",
            )
        namespaces[key] = env.name
        if env.values_dir in values_dirs:
            raise doc.error(
                item,
                f"{where}.valuesDir",
                f"{env.values_dir!r} is already environment {values_dirs[env.values_dir]!r}'s: "
                "each environment needs its own pins",
            )
        values_dirs[env.values_dir] = env.name
        envs.append(env)
    return envs


def _environment(
    doc: Doc,
    node: yaml.Node,
    i: int,
    *,
    app: str,
    root: Path,
    first: bool,
    last: bool,
    has_config_repo: bool = True,
) -> Environment:
    where = f"environments[{i}]"
    fields = doc.mapping(node, where, known=_ENV_KEYS)
    if "name" not in fields:
        raise doc.error(node, where, "`name` is required (e.g. sit, qa, prod)")
    name_node = fields["name"][1]
    name = doc.string(name_node, f"{where}.name")
    if not DNS_LABEL.fullmatch(name) or len(name) > 30:
        raise doc.error(name_node, f"{where}.name", "must be lowercase letters, digits and '-' (at most 30)")
    if name == "build":
        raise doc.error(
            name_node,
            f"{where}.name",
            "'build' is reserved: pins say promotedFrom: build for images from ferry ci",
        )
    cluster = _cluster(doc, fields["cluster"][1], f"{where}.cluster", root) if "cluster" in fields else None
    namespace = f"{app}-{name}"
    if "namespace" in fields:
        ns_node = fields["namespace"][1]
        namespace = doc.string(ns_node, f"{where}.namespace")
        if not DNS_LABEL.fullmatch(namespace) or len(namespace) > 63:
            raise doc.error(
                ns_node,
                f"{where}.namespace",
                "must be a DNS label: lowercase letters, digits and '-' (at most 63)",
            )
    elif len(namespace) > 63:
        raise doc.error(node, f"{where}.namespace", f"the default {namespace!r} is too long: set `namespace`")
    sync = _sync(doc, fields["sync"][1], f"{where}.sync") if "sync" in fields else SyncPolicy()
    promotion = PromotionGates(approval=last)
    if "promotion" in fields:
        promotion = _promotion(doc, fields["promotion"][1], f"{where}.promotion", first=first, last=last)
    values_dir = f"envs/{name}"
    if "valuesDir" in fields:
        values_dir = _relative(doc, fields["valuesDir"][1], f"{where}.valuesDir")
    delivery: Delivery = "gitops" if has_config_repo else "push"
    if "delivery" in fields:
        d_node = fields["delivery"][1]
        value = doc.string(d_node, f"{where}.delivery")
        if value not in ("gitops", "push"):
            raise doc.error(d_node, f"{where}.delivery", "must be gitops or push")
        if value == "gitops" and not has_config_repo:
            raise doc.error(d_node, f"{where}.delivery", "gitops needs a configRepo (the top-level key)")
        delivery = "gitops" if value == "gitops" else "push"
    return Environment(
        name=name,
        cluster=cluster or ClusterRef(kubeconfig=embedded_kubeconfig(), context=None),
        namespace=namespace,
        sync=sync,
        promotion=promotion,
        values_dir=values_dir,
        delivery=delivery,
        line=int(node.start_mark.line) + 1,
    )


def _cluster(doc: Doc, node: yaml.Node, where: str, root: Path) -> ClusterRef:
    if isinstance(node, yaml.ScalarNode):
        return ClusterRef(kubeconfig=None, context=doc.string(node, where))
    fields = doc.mapping(node, where, known=_CLUSTER_KEYS)
    if not fields:
        raise doc.error(
            node, where, "needs `context`, `kubeconfig` or both (omit `cluster` for the embedded one)"
        )
    kubeconfig = None
    if "kubeconfig" in fields:
        raw = doc.string(fields["kubeconfig"][1], f"{where}.kubeconfig")
        path = Path(raw).expanduser()
        kubeconfig = path if path.is_absolute() else root / path
    context = doc.string(fields["context"][1], f"{where}.context") if "context" in fields else None
    return ClusterRef(kubeconfig=kubeconfig, context=context)


def _sync(doc: Doc, node: yaml.Node, where: str) -> SyncPolicy:
    if isinstance(node, yaml.ScalarNode):
        return SyncPolicy(mode=_mode(doc, node, where))
    fields = doc.mapping(node, where, known=_SYNC_KEYS)
    mode: SyncMode = _mode(doc, fields["mode"][1], f"{where}.mode") if "mode" in fields else "auto"
    self_heal = doc.boolean(fields["selfHeal"][1], f"{where}.selfHeal") if "selfHeal" in fields else True
    prune = doc.boolean(fields["prune"][1], f"{where}.prune") if "prune" in fields else True
    return SyncPolicy(mode=mode, self_heal=self_heal, prune=prune)


def _mode(doc: Doc, node: yaml.Node, where: str) -> SyncMode:
    value = node.value if isinstance(node, yaml.ScalarNode) else None
    if value == "auto":
        return "auto"
    if value == "manual":
        return "manual"
    raise doc.error(node, where, "must be auto or manual")


def _promotion(doc: Doc, node: yaml.Node, where: str, *, first: bool, last: bool) -> PromotionGates:
    fields = doc.mapping(node, where, known=_PROMOTION_KEYS)
    soak = 0.0
    if "soakSeconds" in fields:
        soak = doc.seconds(fields["soakSeconds"][1], f"{where}.soakSeconds")
    verify = None
    if "verify" in fields:
        vnode = fields["verify"][1]
        if isinstance(vnode, yaml.ScalarNode) and vnode.tag.endswith(":bool"):
            raise doc.error(
                vnode, f"{where}.verify", f'must be a command string (quote it: verify: "{vnode.value}")'
            )
        verify = doc.string(vnode, f"{where}.verify").strip() or None
    timeout = DEFAULT_VERIFY_TIMEOUT_SECONDS
    if "verifyTimeoutSeconds" in fields:
        tnode = fields["verifyTimeoutSeconds"][1]
        timeout = doc.seconds(tnode, f"{where}.verifyTimeoutSeconds")
        if timeout == 0:
            raise doc.error(tnode, f"{where}.verifyTimeoutSeconds", "must be more than 0")
    approval = doc.boolean(fields["approval"][1], f"{where}.approval") if "approval" in fields else last
    if first and (soak or verify):
        key = "soakSeconds" if soak else "verify"
        raise doc.error(
            fields[key][0],
            f"{where}.{key}",
            "the first environment is entered from a build, not from another environment: "
            "put soak and verify gates on the next one",
        )
    return PromotionGates(soak_seconds=soak, verify=verify, verify_timeout_seconds=timeout, approval=approval)


def _relative(doc: Doc, node: yaml.Node, where: str) -> str:
    raw = doc.string(node, where).strip().rstrip("/")
    pure = PurePosixPath(raw)
    if not raw or pure.is_absolute() or ".." in pure.parts or "\\" in raw or pure.as_posix() == ".":
        raise doc.error(node, where, f"{raw!r} must be a relative path inside the config repo, e.g. envs/qa")
    return pure.as_posix()
