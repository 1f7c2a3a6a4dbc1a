"""What an apply would change, per object: the dry-run result compared with the live object.

Comparing the *rendered* manifest with the live object reports noise — every default the API server fills
(``strategy``, ``terminationMessagePath``...), every field another controller owns. Argo CD fights this with
per-kind normalisers; ferry asks the server instead: the engine first server-side-applies each object with
``dryRun=All``, and the answer is exactly what the object *would* become — defaults, admission mutations and
fields other managers own included. What differs between that and the live object is what the apply changes,
and nothing else.

Both sides are then normalised (``normalize``) to drop what changes on every write or is not ferry's to
manage: ``metadata.managedFields``, ``resourceVersion``, ``generation``, ``uid``, ``creationTimestamp``,
``selfLink``, ``status``, and annotations written by controllers (``deployment.kubernetes.io/revision``...).

Changed paths are data, not just text, because "what will this change do" (``ferry plan``) reasons on them:
``spec.template.spec.containers[name=web].image``. Lists of objects that carry a ``name`` (containers, env,
ports, volumes...) are keyed by it — the same merge key strategic merge and SSA use — so inserting a container
does not report every following index as changed; other lists are compared by index. Map keys containing dots
or brackets are quoted: ``metadata.annotations["checksum/config"]``.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

__all__ = [
    "IGNORED_ANNOTATIONS",
    "IGNORED_METADATA",
    "Action",
    "ObjectDiff",
    "changed_paths",
    "diff_object",
    "normalize",
    "unified_yaml_diff",
]

Action = Literal["created", "changed", "unchanged", "pruned", "orphaned"]
"""``orphaned``: recorded by the last apply, no longer rendered, kept because ``prune=False``."""

IGNORED_METADATA = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink")
IGNORED_ANNOTATIONS = (
    "deployment.kubernetes.io/revision",
    "deprecated.daemonset.template.generation",
    "kubectl.kubernetes.io/last-applied-configuration",
)


@dataclass(frozen=True)
class ObjectDiff:
    """The change an apply makes to one object: ``paths`` (data) and ``text`` (a unified YAML diff)."""

    action: Action
    paths: list[str] = field(default_factory=list)
    text: str = ""


def normalize(obj: Mapping[str, Any] | None) -> dict[str, Any]:
    """A deep copy without the fields that are the server's, not the author's (see the module docstring)."""
    if obj is None:
        return {}
    out = copy.deepcopy(dict(obj))
    out.pop("status", None)
    meta = out.get("metadata")
    if isinstance(meta, dict):
        for key in IGNORED_METADATA:
            meta.pop(key, None)
        annotations = meta.get("annotations")
        if isinstance(annotations, dict):
            for key in IGNORED_ANNOTATIONS:
                annotations.pop(key, None)
            if not annotations:
                meta.pop("annotations", None)
    return out


def _key_segment(key: str) -> str:
    if key and all(c.isalnum() or c in "_-" for c in key):
        return f".{key}"
    return f'["{key}"]'


def _join(prefix: str, key: str) -> str:
    segment = _key_segment(key)
    if not prefix and segment.startswith("."):
        return segment[1:]
    return prefix + segment


def _named(items: list[Any]) -> dict[str, Any] | None:
    """``{name: item}`` when every item is a map with a distinct ``name``, else ``None`` (compare by index)."""
    if not items or not all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items):
        return None
    keyed = {i["name"]: i for i in items}
    return keyed if len(keyed) == len(items) else None


def _walk(old: Any, new: Any, path: str, out: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            _walk(old.get(key), new.get(key), _join(path, str(key)), out)
        return
    if isinstance(old, list) and isinstance(new, list):
        old_named, new_named = _named(old), _named(new)
        if old_named is not None and new_named is not None:
            for name in [*old_named, *(n for n in new_named if n not in old_named)]:
                _walk(old_named.get(name), new_named.get(name), f"{path}[name={name}]", out)
            if list(old_named) != [n for n in new_named if n in old_named]:
                out.append(f"{path} (order)")
            return
        for i in range(max(len(old), len(new))):
            _walk(old[i] if i < len(old) else None, new[i] if i < len(new) else None, f"{path}[{i}]", out)
        return
    if old != new:
        out.append(path or ".")


def changed_paths(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[str]:
    """Leaf paths whose values differ between two (already normalised) objects, in a stable order."""
    out: list[str] = []
    _walk(dict(old or {}), dict(new or {}), "", out)
    return out


def _yaml(obj: Mapping[str, Any]) -> list[str]:
    if not obj:
        return []
    return yaml.safe_dump(dict(obj), sort_keys=True, default_flow_style=False).splitlines(keepends=True)


def unified_yaml_diff(old: Mapping[str, Any], new: Mapping[str, Any], *, name: str) -> str:
    """A unified diff of the two objects as YAML (keys sorted so only real changes show)."""
    return "".join(
        difflib.unified_diff(_yaml(old), _yaml(new), fromfile=f"live/{name}", tofile=f"desired/{name}")
    )


def diff_object(live: Mapping[str, Any] | None, would_be: Mapping[str, Any], *, name: str) -> ObjectDiff:
    """Compare the live object (``None``: absent) with the dry-run result of applying the desired one."""
    new = normalize(would_be)
    if live is None:
        return ObjectDiff("created", [], unified_yaml_diff({}, new, name=name))
    old = normalize(live)
    paths = changed_paths(old, new)
    if not paths:
        return ObjectDiff("unchanged")
    return ObjectDiff("changed", paths, unified_yaml_diff(old, new, name=name))
