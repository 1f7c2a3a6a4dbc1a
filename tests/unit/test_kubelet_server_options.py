"""The kubelet's reading of a /containerLogs request: PodLogOptions decoding and which run's log it serves."""

from __future__ import annotations

import pytest

from ferry.cluster.kubelet.server.containerlogs import (
    ContainerInstance,
    LogRequestError,
    parse_log_options,
    pick_instance,
    still_live,
)
from tests.unit.kubelet_server_support import pod, running, terminated, waiting

NOW = 1_800_000_000 * 1_000_000_000


def test_defaults_and_flags() -> None:
    opts = parse_log_options({})
    assert (opts.follow, opts.previous, opts.timestamps) == (False, False, False)
    assert (opts.tail_lines, opts.since_ns, opts.limit_bytes) == (None, None, None)
    opts = parse_log_options({"follow": "true", "previous": "true", "timestamps": "true", "tailLines": "3"})
    assert (opts.follow, opts.previous, opts.timestamps, opts.tail_lines) == (True, True, True, 3)


def test_since_seconds_is_relative_to_now_and_since_time_absolute() -> None:
    assert parse_log_options({"sinceSeconds": "10"}, now_ns=NOW).since_ns == NOW - 10 * 1_000_000_000
    assert parse_log_options({"sinceTime": "2026-11-27T05:30:00Z"}).since_ns == 1_795_757_400 * 1_000_000_000


def test_legacy_tail_parameter() -> None:
    assert parse_log_options({"tail": "4"}).tail_lines == 4
    assert parse_log_options({"tail": "all"}).tail_lines is None
    assert parse_log_options({"tail": "4", "tailLines": "2"}).tail_lines == 2


@pytest.mark.parametrize(
    "query",
    [{"tailLines": "x"}, {"limitBytes": "1.5"}, {"follow": "maybe"}, {"sinceTime": "yesterday"}],
)
def test_undecodable_query_is_400(query: dict[str, str]) -> None:
    with pytest.raises(LogRequestError) as e:
        parse_log_options(query)
    assert (e.value.status, e.value.message) == (400, "Unable to decode query.")


@pytest.mark.parametrize(
    "query",
    [
        {"tailLines": "-1"},
        {"limitBytes": "0"},
        {"sinceSeconds": "0"},
        {"sinceSeconds": "5", "sinceTime": "2026-11-27T05:30:00Z"},
    ],
)
def test_invalid_options_are_422(query: dict[str, str]) -> None:
    with pytest.raises(LogRequestError) as e:
        parse_log_options(query)
    assert (e.value.status, e.value.message) == (422, "Invalid request.")


def _error(p: dict[str, object], container: str, previous: bool = False) -> tuple[int, str]:
    with pytest.raises(LogRequestError) as e:
        pick_instance(p, container, previous=previous)
    return e.value.status, e.value.message


def test_running_container_serves_its_current_run_live() -> None:
    p = pod("ns", "web", [running("app", 2, crashed_before=True)], uid="u1")
    assert pick_instance(p, "app", previous=False) == ContainerInstance("u1", "app", 2, live=True)
    assert pick_instance(p, "app", previous=True) == ContainerInstance("u1", "app", 1, live=False)


def test_previous_without_a_terminated_run_is_kubes_error() -> None:
    p = pod("ns", "web", [running("app")])
    assert _error(p, "app", previous=True) == (
        400,
        'previous terminated container "app" in pod "web" not found',
    )


def test_waiting_container_answers_why() -> None:
    p = pod("ns", "web", [waiting("app", "ContainerCreating")])
    assert _error(p, "app") == (400, 'container "app" in pod "web" is waiting to start: ContainerCreating')
    p = pod("ns", "web", [waiting("app", "ErrImagePull")])
    assert _error(p, "app") == (
        400,
        'container "app" in pod "web" is waiting to start: image can\'t be pulled',
    )
    p = pod("ns", "web", [waiting("app", "ImagePullBackOff")])
    assert _error(p, "app")[1].endswith("is waiting to start: trying and failing to pull image")


def test_crash_looping_container_serves_its_last_run() -> None:
    p = pod("ns", "web", [waiting("app", "CrashLoopBackOff", 3, crashed_before=True)], uid="u2")
    assert pick_instance(p, "app", previous=False) == ContainerInstance("u2", "app", 2, live=False)


def test_terminated_container_serves_its_run_not_live() -> None:
    p = pod("ns", "job", [terminated("app", 1)], uid="u3")
    assert pick_instance(p, "app", previous=False) == ContainerInstance("u3", "app", 1, live=False)


def test_unknown_container_and_missing_status() -> None:
    p = pod("ns", "web", [running("app")])
    assert _error(p, "other") == (404, 'container "other" not found in pod "web"')
    p["status"]["containerStatuses"] = []
    assert _error(p, "app") == (400, 'container "app" in pod "web" is not available')


def test_still_live_follows_the_same_run_only() -> None:
    p = pod("ns", "web", [running("app", 1)], uid="u4")
    instance = pick_instance(p, "app", previous=False)
    assert still_live(p, instance)
    assert not still_live(pod("ns", "web", [running("app", 2)], uid="u4"), instance)
    assert not still_live(pod("ns", "web", [terminated("app", 1)], uid="u4"), instance)
    assert not still_live(pod("ns", "web", [running("app", 1)], uid="other"), instance)
    assert not still_live(None, instance)


def test_back_off_where_the_dead_run_is_still_the_latest() -> None:
    # The process kubelet bumps restartCount when it starts a run: in back-off the run that just died is
    # still the latest one (its id is the status' containerID), so it is file restartCount, not restartCount - 1.
    cs = waiting("app", "CrashLoopBackOff", 2, crashed_before=True)
    cs["lastState"]["terminated"]["containerID"] = cs["containerID"] = "ferry://latest"
    p = pod("ns", "web", [cs], uid="u5")
    assert pick_instance(p, "app", previous=False) == ContainerInstance("u5", "app", 2, live=False)
    assert pick_instance(p, "app", previous=True) == ContainerInstance("u5", "app", 2, live=False)
