"""JSON patch (RFC 6902): ``add``, ``remove``, ``replace``, ``move``, ``copy``, ``test``.

``kubectl rollout undo`` sends ``[{"op":"replace","path":"/spec/template",...},{"op":"replace",
"path":"/metadata/annotations",...}]``; ``kubectl patch --type json`` sends anything. kube applies these
with ``evanphx/json-patch`` v4, and we follow its observable behaviour rather than the letter of the RFC
where the two differ, because clients were written against kube:

* ``replace`` (and ``test``) of a missing key inside an existing *object* succeeds: v4 only checks that
  the parent exists. A missing parent fails: ``replace operation does not apply: doc is missing path:
  "/spec/x": missing value``.
* Negative array indices count from the end (``SupportNegativeIndices`` is on in v4); ``-`` appends,
  for ``add`` (and the destination of ``move``/``copy``) only.
* Pointer tokens unescape ``~1`` to ``/`` first, then ``~0`` to ``~`` (RFC 6901 order).
* A failed ``test`` aborts the whole patch: ``testing value /spec/replicas failed: test failed``.

Pure: the input document is copied once, then the copy is edited in place op by op; a failure leaves the
caller's object untouched. Every failure is a :class:`PatchError` (the API server answers 422).
"""

from __future__ import annotations

from typing import Any

from ferry.cluster.apiserver.patch.errors import PatchError
from ferry.cluster.apiserver.patch.mergepatch import deep_copy, json_equal

_MISSING = "missing value"
_BAD_INDEX = "invalid index referenced"


class _OpError(Exception):
    """A container-level failure; the op wraps it into kube's message."""


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _index(token: str) -> int:
    try:
        return int(token, 10)
    except ValueError:
        raise _OpError(f'strconv.Atoi: parsing "{token}": invalid syntax') from None


def _find_parent(doc: Any, path: str) -> tuple[Any, str] | None:
    """The container holding the pointer's last token, and that token; ``None`` if a step is missing."""
    parts = path.split("/")
    if len(parts) < 2:
        return None
    current = doc
    for raw in parts[1:-1]:
        token = _unescape(raw)
        if isinstance(current, dict):
            current = current.get(token)
        elif isinstance(current, list):
            try:
                current = _get(current, token)
            except _OpError:
                return None
        else:
            return None
        if not isinstance(current, (dict, list)):
            return None
    return current, _unescape(parts[-1])


def _resolve(items: list[Any], token: str, *, size: int) -> int:
    idx = _index(token)
    if idx < 0:
        if idx < -size:
            raise _OpError(f"Unable to access invalid index: {idx}: {_BAD_INDEX}")
        idx += size
    return idx


def _get(container: Any, key: str) -> Any:
    if isinstance(container, dict):
        return container.get(key)
    idx = _resolve(container, key, size=len(container))
    if idx >= len(container):
        raise _OpError(f"Unable to access invalid index: {idx}: {_BAD_INDEX}")
    return container[idx]


def _has(container: Any, key: str) -> bool:
    return key in container if isinstance(container, dict) else True


def _add(container: Any, key: str, value: Any) -> None:
    if isinstance(container, dict):
        container[key] = value
        return
    if key == "-":
        container.append(value)
        return
    try:
        idx = int(key, 10)
    except ValueError:
        raise _OpError(
            f"value was not a proper array index: '{key}': strconv.Atoi: parsing \"{key}\": invalid syntax"
        ) from None
    size = len(container) + 1
    if idx >= size:
        raise _OpError(f"Unable to access invalid index: {idx}: {_BAD_INDEX}")
    if idx < 0:
        if idx < -size:
            raise _OpError(f"Unable to access invalid index: {idx}: {_BAD_INDEX}")
        idx += size
    container.insert(idx, value)


def _remove(container: Any, key: str) -> Any:
    if isinstance(container, dict):
        if key not in container:
            raise _OpError(f"Unable to remove nonexistent key: {key}: {_MISSING}")
        return container.pop(key)
    idx = _index(key)
    if idx >= len(container):
        raise _OpError(f"Unable to access invalid index: {idx}: {_BAD_INDEX}")
    idx = _resolve(container, key, size=len(container))
    return container.pop(idx)


def _set(container: Any, key: str, value: Any) -> None:
    if isinstance(container, dict):
        container[key] = value
    else:
        container[_resolve(container, key, size=len(container))] = value


def _field(op: dict[str, Any], name: str, kind: str) -> str:
    value = op.get(name)
    if not isinstance(value, str):
        label = "path" if name == "path" else "from"
        raise PatchError(f"{kind} operation failed to decode {label}: {_MISSING}")
    return value


def _parent(doc: Any, path: str, message: str) -> tuple[Any, str]:
    found = _find_parent(doc, path)
    if found is None:
        raise PatchError(message)
    return found


def _apply_op(doc: Any, op: dict[str, Any]) -> Any:
    kind = op.get("op")
    if kind not in ("add", "remove", "replace", "move", "copy", "test"):
        raise PatchError(f"Unexpected kind: {kind if isinstance(kind, str) else 'unknown'}")
    path = _field(op, "path", kind)
    value = op.get("value")
    try:
        if kind == "add":
            con, key = _parent(
                doc, path, f'add operation does not apply: doc is missing path: "{path}": {_MISSING}'
            )
            _wrap(lambda: _add(con, key, deep_copy(value)), f"error in add for path: '{path}'")
        elif kind == "remove":
            con, key = _parent(
                doc, path, f'remove operation does not apply: doc is missing path: "{path}": {_MISSING}'
            )
            _wrap(lambda: _remove(con, key), f"error in remove for path: '{path}'")
        elif kind == "replace":
            if path == "":
                if not isinstance(value, (dict, list)):
                    raise PatchError("replace operation value must be object or array")
                return deep_copy(value)
            missing = f'replace operation does not apply: doc is missing path: "{path}": {_MISSING}'
            con, key = _parent(doc, path, missing)
            try:
                _get(con, key)
            except _OpError:
                raise PatchError(
                    f"replace operation does not apply: doc is missing key: {path}: {_MISSING}"
                ) from None
            _wrap(lambda: _set(con, key, deep_copy(value)), f"error in replace for path: '{path}'")
        elif kind in ("move", "copy"):
            doc = _move_or_copy(doc, op, kind, path)
        else:
            _test(doc, path, value, "value" in op)
    except _OpError as e:  # pragma: no cover - every _OpError is wrapped above
        raise PatchError(str(e)) from None
    return doc


def _wrap(action: Any, prefix: str) -> Any:
    try:
        return action()
    except _OpError as e:
        raise PatchError(f"{prefix}: {e}") from None


def _move_or_copy(doc: Any, op: dict[str, Any], kind: str, path: str) -> Any:
    source = _field(op, "from", kind)
    con, key = _parent(
        doc, source, f"{kind} operation does not apply: doc is missing from path: {source}: {_MISSING}"
    )
    if kind == "copy" and not _has(con, key):
        raise PatchError(f"{kind} operation does not apply: doc is missing from path: {source}: {_MISSING}")
    if kind == "move":
        value = _wrap(lambda: _remove(con, key), f"error in move for path: '{key}'")
    else:
        value = deep_copy(_wrap(lambda: _get(con, key), f"error in copy for from: '{source}'"))
    dest, dkey = _parent(
        doc, path, f"{kind} operation does not apply: doc is missing destination path: {path}: {_MISSING}"
    )
    label = f"error in move for path: '{path}'" if kind == "move" else "error while adding value during copy"
    _wrap(lambda: _add(dest, dkey, value), label)
    return doc


def _test(doc: Any, path: str, value: Any, has_value: bool) -> None:
    failed = PatchError(f"testing value {path} failed: test failed")
    if path == "":
        if not json_equal(doc, value):
            raise failed
        return
    con, key = _parent(doc, path, f"test operation does not apply: is missing path: {path}: {_MISSING}")
    current = _wrap(lambda: _get(con, key), f"error in test for path: '{path}'")
    if isinstance(con, dict) and key not in con:
        if has_value and value is not None:
            raise failed
        return
    if not json_equal(current, value):
        raise failed


def apply_json_patch(doc: Any, ops: Any) -> Any:
    """Apply the RFC 6902 operations ``ops`` to ``doc`` and return the patched copy."""
    if not isinstance(ops, list):
        raise PatchError("json: cannot unmarshal object into Go value of type jsonpatch.Patch", code=400)
    result = deep_copy(doc)
    for op in ops:
        if not isinstance(op, dict):
            raise PatchError(
                "json: cannot unmarshal non-object into Go value of type jsonpatch.Operation", code=400
            )
        result = _apply_op(result, op)
    return result
