"""Property: concurrent batches of writes behave exactly like the same writes run one by one.

Hypothesis draws rounds of operations on a few keys (create, update, delete, each with or
without a revision precondition). Each round is issued concurrently (so it lands in one or a
few group commits); a plain dict model applies the same operations sequentially in call
order. Outcomes, revisions, the final view, the event log, and a reopened store must agree.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ferry.cluster.store import Entry, KeyExists, KeyNotFound, RevisionConflict, Store

KEYS = ["/core/configmaps/default/a", "/core/configmaps/default/b", "/core/namespaces/c"]

op_strategy = st.tuples(
    st.sampled_from(["create", "update", "delete"]),
    st.sampled_from(KEYS),
    st.one_of(st.none(), st.integers(0, 12)),
)
rounds_strategy = st.lists(st.lists(op_strategy, min_size=1, max_size=8), min_size=1, max_size=5)


def model_apply(model: dict[str, int], rev: int, op: tuple[str, str, int | None]) -> tuple[str, int]:
    """Outcome of ``op`` on the model: ("ok", new rev) or (error name, unchanged rev)."""
    kind, key, expected = op
    if kind == "create":
        if key in model:
            return "KeyExists", rev
        model[key] = rev + 1
        return "ok", rev + 1
    if key not in model:
        return "KeyNotFound", rev
    if expected is not None and expected != model[key]:
        return "RevisionConflict", rev
    if kind == "update":
        model[key] = rev + 1
    else:
        del model[key]
    return "ok", rev + 1


async def scenario(path: Path, rounds: list[list[tuple[str, str, int | None]]]) -> None:
    model: dict[str, int] = {}
    rev = 0
    async with Store(path, compaction_interval_seconds=0) as store:
        for ops in rounds:
            calls: list[Any] = []
            for kind, key, expected in ops:
                if kind == "create":
                    calls.append(store.create(key, {"n": len(calls)}))
                elif kind == "update":
                    calls.append(store.update(key, {"n": len(calls)}, expected_rev=expected))
                else:
                    calls.append(store.delete(key, expected_rev=expected))
            results = await asyncio.gather(*calls, return_exceptions=True)
            for op, result in zip(ops, results, strict=True):
                outcome, rev = model_apply(model, rev, op)
                if outcome == "ok":
                    assert isinstance(result, Entry) and result.rev == rev and result.key == op[1]
                else:
                    assert type(result).__name__ == outcome
                    assert isinstance(result, KeyExists | KeyNotFound | RevisionConflict)
            assert store.revision == rev
            assert {e.key: e.rev for e in store.list("/")[0]} == model
        events = await store.watch("/", after_rev=0).next_batch(timeout=0)
        assert [e.rev for e in events] == list(range(1, rev + 1))
    async with Store(path, compaction_interval_seconds=0) as store:
        assert store.revision == rev
        assert {e.key: e.rev for e in store.list("/")[0]} == model


@settings(max_examples=60, deadline=None)
@given(rounds=rounds_strategy)
def test_concurrent_rounds_match_the_sequential_model(
    rounds: list[list[tuple[str, str, int | None]]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(scenario(Path(tmp) / "s.db", rounds))
