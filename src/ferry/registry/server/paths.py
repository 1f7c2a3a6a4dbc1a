"""The distribution API's URL space, parsed once: `/v2/<name>/<kind>/<reference>`.

Repository names contain slashes, so aiohttp's router cannot split them; one catch-all route sends every
`/v2/...` request here, and the patterns below (tried in order, greedy on the name like Distribution's
router) say which endpoint it is. The auth middleware and the handlers use the same `Route`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Route", "match_route"]


@dataclass(frozen=True)
class Route:
    kind: str  # base | catalog | tags | manifest | blob | upload | referrers
    name: str = ""
    ref: str = ""


_PATTERNS = [
    ("upload", re.compile(r"/v2/(?P<name>.+)/blobs/uploads/?(?P<ref>[^/]*)")),
    ("blob", re.compile(r"/v2/(?P<name>.+)/blobs/(?P<ref>[^/]+)")),
    ("manifest", re.compile(r"/v2/(?P<name>.+)/manifests/(?P<ref>[^/]+)")),
    ("tags", re.compile(r"/v2/(?P<name>.+)/tags/list")),
    ("referrers", re.compile(r"/v2/(?P<name>.+)/referrers/(?P<ref>[^/]+)")),
]


def match_route(path: str) -> Route | None:
    if path in ("/v2", "/v2/"):
        return Route("base")
    if path == "/v2/_catalog":
        return Route("catalog")
    for kind, pattern in _PATTERNS:
        m = pattern.fullmatch(path)
        if m:
            return Route(kind, m.group("name"), m.groupdict().get("ref") or "")
    return None
