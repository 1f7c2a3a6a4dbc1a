"""The two failures a patch engine can raise, and how each becomes a ``Status``.

Exception tree::

    Exception
     ├── PatchError      the patch cannot be applied (bad op, failed ``test``, malformed directive).
     │                   kube answers 422 Invalid for most of these and 400 BadRequest for a few
     │                   malformed strategic-merge directives; ``code`` carries which.
     └── ApplyConflict   server-side apply would change fields another manager owns (409 Conflict).

Both keep the engine pure: they carry data, and :meth:`api_error` renders the ``Status`` the API server
answers. Messages follow kube's wording because clients print them verbatim, e.g.::

    Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas

(apimachinery ``managedfields/internal/conflict.go``: one conflict on one line; several are grouped by
manager, managers sorted, one ``- <path>`` line per field.)
"""

from __future__ import annotations

from typing import Any

from ferry.cluster.apiserver.errors import ApiError


class PatchError(Exception):
    """A patch that does not apply; ``code`` is 422 (Invalid) or 400 (BadRequest)."""

    def __init__(self, message: str, *, code: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def api_error(self) -> ApiError:
        reason = "BadRequest" if self.code == 400 else "Invalid"
        return ApiError(self.code, reason, self.message)


class ApplyConflict(Exception):
    """Server-side apply conflicts: ``(manager label, field path)`` pairs.

    The manager label is printed exactly as kube prints it: ``"kubectl"`` for an applier,
    ``"kubectl" using apps/v1`` for an updater, ``"kubelet" with subresource "status" using v1`` when
    the write went through a subresource. The field path is structured-merge-diff's string form
    (``.spec.template.spec.containers[name="c"].image``).
    """

    def __init__(self, conflicts: list[tuple[str, str]]) -> None:
        self.conflicts = list(conflicts)
        super().__init__(conflict_message(self.conflicts))

    @property
    def message(self) -> str:
        return conflict_message(self.conflicts)

    def causes(self) -> list[dict[str, str]]:
        return [
            {"reason": "FieldManagerConflict", "message": f"conflict with {label}", "field": path}
            for label, path in self.conflicts
        ]

    def api_error(self) -> ApiError:
        details: dict[str, Any] = {"causes": self.causes()}
        return ApiError(409, "Conflict", self.message, details)


def conflict_message(conflicts: list[tuple[str, str]]) -> str:
    if len(conflicts) == 1:
        label, path = conflicts[0]
        return f"Apply failed with 1 conflict: conflict with {label}: {path}"
    grouped: dict[str, list[str]] = {}
    for label, path in conflicts:
        grouped.setdefault(label, []).append(path)
    lines: list[str] = []
    for label in sorted(grouped):
        lines.append(f"conflicts with {label}:")
        lines.extend(f"- {path}" for path in grouped[label])
    return f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
