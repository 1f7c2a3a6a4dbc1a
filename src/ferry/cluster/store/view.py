"""The committed in-memory view: ``key -> Entry`` plus a sorted key index per resource.

Keys look like ``/apps/deployments/default/web`` (namespaced) or ``/core/namespaces/default``
(cluster-scoped). The first two segments, ``/group/plural/``, name the *resource*; every list or
watch prefix the API server uses starts with one (``/apps/deployments/`` for all namespaces,
``/apps/deployments/default/`` for one).

Why a sorted list per resource (maintained with ``bisect``) instead of one global sorted list:
inserting into a list is a ``memmove`` of everything after the insertion point, so per-resource
lists keep that cost proportional to one resource (10,000 pods, not every object in the
cluster); and listing one resource never has to skip over another. Prefix scans are two
bisections plus a slice: a key starts with ``p`` exactly when ``p <= key < prefix_end(p)``.

Shorter prefixes (``/`` or ``/apps/``) still work: the resources are themselves kept sorted,
and because resource prefixes end in ``/``, the key ranges of two resources never interleave,
so concatenating resources in order yields keys in global sorted order.

Invariant: ``set(entries) == set of keys in the index``; both change only in :meth:`View.put`
and :meth:`View.pop`. The view is touched only on the event-loop thread (no locks).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort

from .records import Entry


def check_key(key: str) -> None:
    """Raise ``ValueError`` unless ``key`` is ``/group/plural/[namespace/]name``."""
    parts = key.split("/")
    if len(parts) < 4 or parts[0] != "" or any(p == "" for p in parts[1:]):
        raise ValueError(f"invalid store key {key!r}: must look like /group/plural/[namespace/]name")


def check_prefix(prefix: str) -> None:
    """Raise ``ValueError`` unless ``prefix`` starts and ends with ``/``."""
    if not prefix.startswith("/") or not prefix.endswith("/"):
        raise ValueError(f"invalid store prefix {prefix!r}: must start and end with '/'")


def resource_of(key_or_prefix: str) -> str | None:
    """The ``/group/plural/`` part of a key or prefix, or ``None`` if it is shorter than that."""
    first = key_or_prefix.find("/", 1)
    if first < 0:
        return None
    second = key_or_prefix.find("/", first + 1)
    if second < 0:
        return None
    return key_or_prefix[: second + 1]


def prefix_end(prefix: str) -> str:
    """The smallest string greater than every string that starts with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


class View:
    """Current objects by key, with ordered prefix scans."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        self._keys: dict[str, list[str]] = {}
        self._resources: list[str] = []

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, key: str) -> Entry | None:
        return self.entries.get(key)

    def put(self, entry: Entry) -> None:
        """Insert or replace the entry for ``entry.key``."""
        key = entry.key
        if key not in self.entries:
            resource = resource_of(key)
            assert resource is not None, key
            keys = self._keys.get(resource)
            if keys is None:
                keys = self._keys[resource] = []
                insort(self._resources, resource)
            insort(keys, key)
        self.entries[key] = entry

    def pop(self, key: str) -> None:
        """Remove ``key`` if present."""
        if self.entries.pop(key, None) is None:
            return
        resource = resource_of(key)
        assert resource is not None, key
        keys = self._keys[resource]
        del keys[bisect_left(keys, key)]
        if not keys:
            del self._keys[resource]
            del self._resources[bisect_left(self._resources, resource)]

    def _segments(self, prefix: str) -> list[list[str]]:
        """The sorted key lists that may hold keys under ``prefix``, in key order."""
        resource = resource_of(prefix)
        if resource is not None:
            keys = self._keys.get(resource)
            return [] if keys is None else [keys]
        lo = bisect_left(self._resources, prefix)
        hi = bisect_left(self._resources, prefix_end(prefix))
        return [self._keys[r] for r in self._resources[lo:hi]]

    def list(
        self, prefix: str, *, start_after: str | None = None, limit: int | None = None
    ) -> tuple[list[Entry], str | None]:
        """Entries under ``prefix`` in key order, after ``start_after``, at most ``limit``.

        The second value is the last key returned when more keys remain (the continue
        point for the next page), else ``None``.
        """
        check_prefix(prefix)
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be positive, not {limit}")
        end = prefix_end(prefix)
        entries = self.entries
        out: list[Entry] = []
        for keys in self._segments(prefix):
            lo = bisect_left(keys, prefix)
            if start_after is not None:
                lo = max(lo, bisect_right(keys, start_after))
            hi = bisect_left(keys, end, lo)
            if lo >= hi:
                continue
            if limit is not None:
                room = limit - len(out)
                if hi - lo > room:
                    out.extend([entries[k] for k in keys[lo : lo + room]])
                    return out, out[-1].key
                if hi - lo == room:
                    out.extend([entries[k] for k in keys[lo:hi]])
                    more = self._any_after(prefix, out[-1].key)
                    return out, (out[-1].key if more else None)
            out.extend([entries[k] for k in keys[lo:hi]])
        return out, None

    def _any_after(self, prefix: str, key: str) -> bool:
        """Whether some key under ``prefix`` sorts after ``key``."""
        end = prefix_end(prefix)
        for keys in self._segments(prefix):
            lo = max(bisect_left(keys, prefix), bisect_right(keys, key))
            if lo < bisect_left(keys, end, lo):
                return True
        return False

    def count(self, prefix: str) -> int:
        """How many keys start with ``prefix``."""
        check_prefix(prefix)
        end = prefix_end(prefix)
        total = 0
        for keys in self._segments(prefix):
            lo = bisect_left(keys, prefix)
            total += bisect_left(keys, end, lo) - lo
        return total
