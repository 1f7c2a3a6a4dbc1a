"""Pagination of tags and catalog, and the URL space (repository names with slashes)."""

from __future__ import annotations

import pytest

from ferry.registry.server.errors import RegistryHttpError
from ferry.registry.server.listing import paginate
from ferry.registry.server.paths import Route, match_route

ITEMS = ["a", "b", "c", "d", "e"]


def test_pages_follow_each_other_without_gaps_or_repeats() -> None:
    seen: list[str] = []
    last: str | None = None
    while True:
        page, more = paginate(ITEMS, "2", last, None)
        seen += page
        if not more:
            break
        last = page[-1]
    assert seen == ITEMS


def test_full_last_page_says_no_more() -> None:
    assert paginate(ITEMS, "5", None, None) == (ITEMS, False)
    assert paginate(ITEMS, "2", "c", None) == (["d", "e"], False)


def test_default_limit_applies_without_n() -> None:
    assert paginate(ITEMS, None, None, 3) == (["a", "b", "c"], True)
    assert paginate(ITEMS, None, None, None) == (ITEMS, False)


def test_n_zero_is_empty() -> None:
    assert paginate(ITEMS, "0", None, None) == ([], True)


def test_last_not_in_list_starts_after_it_lexically() -> None:
    assert paginate(ITEMS, None, "bb", None) == (["c", "d", "e"], False)


@pytest.mark.parametrize("n", ["-1", "x", "1.5"])
def test_bad_n_is_a_spec_error(n: str) -> None:
    with pytest.raises(RegistryHttpError) as exc:
        paginate(ITEMS, n, None, None)
    assert (exc.value.status, exc.value.code) == (400, "PAGINATION_NUMBER_INVALID")


@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/v2/", Route("base")),
        ("/v2", Route("base")),
        ("/v2/_catalog", Route("catalog")),
        ("/v2/shop/order-service/tags/list", Route("tags", "shop/order-service")),
        ("/v2/a/b/c/manifests/1.0.0", Route("manifest", "a/b/c", "1.0.0")),
        ("/v2/shop/api/blobs/sha256:abc", Route("blob", "shop/api", "sha256:abc")),
        ("/v2/shop/api/blobs/uploads/", Route("upload", "shop/api", "")),
        ("/v2/shop/api/blobs/uploads/0123", Route("upload", "shop/api", "0123")),
        ("/v2/shop/api/referrers/sha256:abc", Route("referrers", "shop/api", "sha256:abc")),
        # a repository may itself be named like an endpoint segment
        ("/v2/blobs/manifests/v1", Route("manifest", "blobs", "v1")),
    ],
)
def test_routes(path: str, route: Route) -> None:
    assert match_route(path) == route


def test_unknown_path() -> None:
    assert match_route("/v2/shop/api/nothing") is None
