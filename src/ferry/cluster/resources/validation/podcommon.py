"""Small checks shared by the PodSpec validators (:mod:`.pods` and the modules it is split into).

The int32 bound, :func:`nonnegative`, :func:`name_errors` (a name rule's details as FieldErrors at
one path), and the port rules ``IsValidPortName`` / ``ValidatePortNumOrName`` used by container
ports and probe handlers alike. Nothing here knows which PodSpec field it is checking.
"""

from __future__ import annotations

import re
from typing import Any

from ferry.cluster.apiserver.errors import FieldError, invalid_value
from ferry.cluster.resources.validation import common as c

MAX_INT32 = 2**31 - 1
_PORT_NAME_RE = re.compile(r"[-a-z0-9]+")


def nonnegative(value: int | None, path: str) -> list[FieldError]:
    return [invalid_value(path, value, c.NEGATIVE)] if value is not None and value < 0 else []


def is_valid_port_name(port: str) -> list[str]:
    errs: list[str] = []
    if len(port) > 15:
        errs.append(c.max_len_error(15))
    if not _PORT_NAME_RE.fullmatch(port):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", port):
        errs.append("must contain at least one letter (a-z)")
    if "--" in port:
        errs.append("must not contain consecutive hyphens")
    if port and (port[0] == "-" or port[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def port_num_or_name(value: Any, path: str) -> list[FieldError]:
    """``ValidatePortNumOrName`` for an IntOrString (absent = int 0)."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        port = value or 0
        ok = 1 <= port <= 65535
        return [] if ok else [invalid_value(path, port, c.inclusive_range_error(1, 65535))]
    if isinstance(value, str):
        return [invalid_value(path, value, m) for m in is_valid_port_name(value)]
    return [c.wrong_type(path, value, "integer or string")]


def name_errors(value: str, path: str, fn: c.NameValidator) -> list[FieldError]:
    return [invalid_value(path, value, m) for m in fn(value)]
