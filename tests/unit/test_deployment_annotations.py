"""Revision (int64), revision-history, replica annotations and annotation copying (§1.4)."""

from __future__ import annotations

from typing import Any

from ferry.cluster.controllers.deployment.annotations import (
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    REVISION,
    REVISION_HISTORY,
    last_revision,
    max_revision,
    set_deployment_annotations_to,
    set_new_rs_annotations,
)
from tests.unit.deployment_world import make_deployment


def rs(annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": "rs", "annotations": dict(annotations or {})}, "spec": {"replicas": 1}}


def test_max_revision_is_int64_and_skips_unparsable_values() -> None:
    rss = [
        rs({REVISION: "3546343826724305832"}),
        rs({REVISION: "x"}),
        rs(),
        rs({REVISION: "99999999999999999999"}),
    ]
    assert max_revision(rss) == 3546343826724305832
    assert max_revision([]) == 0


def test_adopting_a_huge_revision_makes_the_next_one_plus_one() -> None:
    d = make_deployment()
    new = rs()
    assert set_new_rs_annotations(
        d, new, new_revision=str(max_revision([rs({REVISION: "3546343826724305832"})]) + 1), exists=False
    )
    assert new["metadata"]["annotations"][REVISION] == "3546343826724305833"


def test_last_revision_is_the_second_highest() -> None:
    assert last_revision([rs({REVISION: "1"}), rs({REVISION: "3"}), rs({REVISION: "2"})]) == 2
    assert last_revision([rs({REVISION: "4"})]) == 0


def test_revision_is_only_raised_never_lowered() -> None:
    d = make_deployment()
    current = rs({REVISION: "7"})
    assert not set_new_rs_annotations(d, current, new_revision="5", exists=True)
    assert current["metadata"]["annotations"] == {REVISION: "7"}


def test_renumbering_appends_the_old_revision_to_the_history() -> None:
    d = make_deployment()
    reused = rs({REVISION: "1"})
    assert set_new_rs_annotations(d, reused, new_revision="4", exists=True)
    assert reused["metadata"]["annotations"][REVISION] == "4"
    assert reused["metadata"]["annotations"][REVISION_HISTORY] == "1"
    set_new_rs_annotations(d, reused, new_revision="6", exists=True)
    assert reused["metadata"]["annotations"][REVISION_HISTORY] == "1,4"


def test_revision_history_drops_the_oldest_entries_to_stay_within_2000_chars() -> None:
    d = make_deployment()
    history = ",".join(str(1000 + i) for i in range(400))  # 1999 chars
    assert len(history) == 1999
    reused = rs({REVISION: "77777", REVISION_HISTORY: history})
    set_new_rs_annotations(d, reused, new_revision="77778", exists=True)
    new_history = reused["metadata"]["annotations"][REVISION_HISTORY]
    assert len(new_history) == 2000
    assert new_history.endswith(",1399,77777")
    assert new_history.startswith("1001,")  # the oldest entry dropped to make room


def test_new_rs_gets_replica_annotations_and_copies_of_the_deployment_annotations() -> None:
    d = make_deployment(
        replicas=10,
        annotations={
            "kubernetes.io/change-cause": "kubectl set image",
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
            REVISION: "9",
            "deprecated.deployment.rollback.to": "1",
        },
    )
    new = rs()
    set_new_rs_annotations(d, new, new_revision="1", exists=False)
    assert new["metadata"]["annotations"] == {
        "kubernetes.io/change-cause": "kubectl set image",
        REVISION: "1",
        DESIRED_REPLICAS: "10",
        MAX_REPLICAS: "13",
    }


def test_existing_rs_keeps_keys_the_deployment_lacks_and_gets_no_replica_annotations() -> None:
    d = make_deployment(annotations={"team": "b"})
    existing = rs({REVISION: "2", "team": "a", "other": "kept"})
    assert set_new_rs_annotations(d, existing, new_revision="2", exists=True)
    assert existing["metadata"]["annotations"] == {REVISION: "2", "team": "b", "other": "kept"}


def test_rollback_takes_the_rs_annotations_but_keeps_the_deployments_skip_list() -> None:
    d = make_deployment(annotations={REVISION: "3", "kubernetes.io/change-cause": "v3", "note": "dropped"})
    old = rs({REVISION: "1", "kubernetes.io/change-cause": "v1", DESIRED_REPLICAS: "10"})
    set_deployment_annotations_to(d, old)
    assert d["metadata"]["annotations"] == {REVISION: "3", "kubernetes.io/change-cause": "v1"}
