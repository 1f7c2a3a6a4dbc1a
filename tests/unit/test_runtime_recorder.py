"""The event recorder against the recording fake client: the exact Events client-go would write —
creation, count-increment patches for repeats, aggregation of similar events, the spam filter —
and that it never raises into the controller."""

from __future__ import annotations

import datetime as dt

import pytest

from ferry.cluster.controllers.runtime.fakes import FakeClock, RecordingClient
from ferry.cluster.controllers.runtime.recorder import EventRecorder, RecorderSettings
from ferry.cluster.controllers.runtime.types import ApiStatusError, Obj

DEPLOY = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop", "uid": "u-1", "resourceVersion": "17"},
}
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
T0 = "2026-01-01T00:00:00Z"


def nanos_hex(t: dt.datetime, plus: int = 0) -> str:
    return f"{int((t - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)).total_seconds()) * 10**9 + plus:x}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def client(clock: FakeClock) -> RecordingClient:
    return RecordingClient({}, clock)


@pytest.fixture
def recorder(client: RecordingClient, clock: FakeClock) -> EventRecorder:
    return EventRecorder(client, "deployment-controller", clock=clock)


def creates(client: RecordingClient) -> list[Obj]:
    return [a[3] for a in client.actions if a[0] == "create"]


async def test_first_event_is_created_exactly_like_client_go(
    recorder: EventRecorder, client: RecordingClient
) -> None:
    recorder.event(DEPLOY, "Normal", "ScalingReplicaSet", "Scaled up replica set web-5d8f to 3")
    await recorder.flush()
    assert client.actions == [
        (
            "create",
            "v1/events",
            "shop",
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": f"web.{nanos_hex(NOW)}", "namespace": "shop"},
                "involvedObject": {
                    "kind": "Deployment",
                    "namespace": "shop",
                    "name": "web",
                    "uid": "u-1",
                    "apiVersion": "apps/v1",
                    "resourceVersion": "17",
                },
                "reason": "ScalingReplicaSet",
                "message": "Scaled up replica set web-5d8f to 3",
                "source": {"component": "deployment-controller"},
                "firstTimestamp": T0,
                "lastTimestamp": T0,
                "count": 1,
                "type": "Normal",
                "eventTime": None,
                "reportingComponent": "deployment-controller",
                "reportingInstance": "",
            },
        )
    ]
    await recorder.close()


async def test_a_repeat_patches_count_and_last_timestamp(
    recorder: EventRecorder, client: RecordingClient, clock: FakeClock
) -> None:
    recorder.event(DEPLOY, "Warning", "FailedCreate", "quota exceeded")
    await recorder.flush()
    name = creates(client)[0]["metadata"]["name"]
    for _ in range(2):
        clock.advance(30)
        recorder.event(DEPLOY, "Warning", "FailedCreate", "quota exceeded")
    await recorder.flush()
    assert client.actions[1:] == [
        (
            "patch",
            "v1/events",
            "shop",
            name,
            "strategic",
            {"count": 2, "lastTimestamp": "2026-01-01T00:00:30Z", "message": "quota exceeded"},
        ),
        (
            "patch",
            "v1/events",
            "shop",
            name,
            "strategic",
            {"count": 3, "lastTimestamp": "2026-01-01T00:01:00Z", "message": "quota exceeded"},
        ),
    ]
    stored = client.listers["v1/events"].get("shop", name)
    assert stored is not None
    assert (stored["count"], stored["firstTimestamp"], stored["lastTimestamp"]) == (
        3,
        T0,
        "2026-01-01T00:01:00Z",
    )
    await recorder.close()


async def test_a_repeat_of_a_vanished_event_creates_it_again(
    recorder: EventRecorder, client: RecordingClient
) -> None:
    recorder.event(DEPLOY, "Normal", "Tick", "same")
    await recorder.flush()
    name = creates(client)[0]["metadata"]["name"]
    client.listers["v1/events"].remove("shop", name)  # the server's event TTL removed it
    recorder.event(DEPLOY, "Normal", "Tick", "same")
    await recorder.flush()
    assert [a[0] for a in client.actions] == ["create", "patch", "create"]
    again = creates(client)[1]
    assert (again["metadata"]["name"], again["count"], again["firstTimestamp"]) == (name, 2, T0)
    await recorder.close()


async def test_ten_similar_messages_within_ten_minutes_are_combined(
    recorder: EventRecorder, client: RecordingClient, clock: FakeClock
) -> None:
    for i in range(12):
        recorder.event(DEPLOY, "Normal", "SuccessfulCreate", f"Created pod: web-{i}")
        clock.advance(1)
    await recorder.flush()
    made = creates(client)
    assert [e["message"] for e in made] == [f"Created pod: web-{i}" for i in range(9)] + [
        "(combined from similar events): Created pod: web-9"
    ]
    combined = made[-1]
    assert combined["count"] == 1 and combined["reportingComponent"] == ""
    assert combined["metadata"]["name"] != made[-2]["metadata"]["name"]
    patches = [a for a in client.actions if a[0] == "patch"]
    assert [p[5]["message"] for p in patches] == [
        "(combined from similar events): Created pod: web-10",
        "(combined from similar events): Created pod: web-11",
    ]
    assert [p[3] for p in patches] == [combined["metadata"]["name"]] * 2
    assert [p[5]["count"] for p in patches] == [2, 3]
    # After 10 quiet minutes the group starts afresh.
    clock.advance(601)
    recorder.event(DEPLOY, "Normal", "SuccessfulCreate", "Created pod: web-99")
    await recorder.flush()
    assert creates(client)[-1]["message"] == "Created pod: web-99"
    await recorder.close()


async def test_spam_filter_allows_25_per_object_then_one_per_5_minutes(
    client: RecordingClient, clock: FakeClock
) -> None:
    recorder = EventRecorder(client, "kubelet", clock=clock)
    for i in range(30):  # distinct reasons: no aggregation, no dedupe
        recorder.event(DEPLOY, "Warning", f"R{i}", "m")
    await recorder.flush()
    assert len(client.actions) == 25
    other = {**DEPLOY, "metadata": {**DEPLOY["metadata"], "name": "api", "uid": "u-2"}}
    recorder.event(other, "Warning", "R0", "m")  # another object has its own budget
    await recorder.flush()
    assert len(client.actions) == 26
    clock.advance(300)
    recorder.event(DEPLOY, "Warning", "R40", "m")
    recorder.event(DEPLOY, "Warning", "R41", "m")
    await recorder.flush()
    assert [a[3]["reason"] for a in client.actions[26:]] == ["R40"]
    await recorder.close()


async def test_events_in_the_same_instant_get_distinct_names(
    recorder: EventRecorder, client: RecordingClient
) -> None:
    recorder.event(DEPLOY, "Normal", "A", "one")
    recorder.event(DEPLOY, "Normal", "B", "two")
    await recorder.flush()
    names = [e["metadata"]["name"] for e in creates(client)]
    assert names == [f"web.{nanos_hex(NOW)}", f"web.{nanos_hex(NOW, 1)}"]
    await recorder.close()


async def test_cluster_scoped_objects_get_events_in_default(
    recorder: EventRecorder, client: RecordingClient
) -> None:
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "uid": "n"}}
    recorder.event(node, "Normal", "Starting", "Starting kubelet.")
    await recorder.flush()
    (event,) = creates(client)
    assert event["metadata"]["namespace"] == "default"
    assert "namespace" not in event["involvedObject"]
    await recorder.close()


async def test_never_raises_and_drops_what_it_cannot_write(
    client: RecordingClient, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = EventRecorder(client, "c", clock=clock, settings=RecorderSettings(queue_size=2))
    recorder.event(DEPLOY, "Bogus", "X", "unsupported type is dropped")
    recorder.event({"not": "an object"}, "Normal", "X", "odd objects do not raise")
    client.fail[("create", "v1/events")] = ApiStatusError(
        {"code": 422, "reason": "Invalid", "message": "bad"}
    )
    await recorder.flush()
    assert [a[0] for a in client.actions] == ["create"]  # attempted once, abandoned (a Status answer)
    for i in range(5):  # overflow of the queue is dropped, not raised
        recorder.event(DEPLOY, "Normal", "Flood", str(i))
    await recorder.flush()
    assert len(client.actions) == 3
    assert "too many queued events" in caplog.text
    await recorder.close()


async def test_transport_errors_are_retried(clock: FakeClock) -> None:
    attempts: list[int] = []

    class Flaky(RecordingClient):
        async def create(self, resource: str, namespace: str | None, body: Obj) -> Obj:
            attempts.append(1)
            if len(attempts) < 3:
                raise ConnectionResetError("reset")
            return await super().create(resource, namespace, body)

    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    client = Flaky({}, clock)
    recorder = EventRecorder(client, "c", clock=clock, sleep=fake_sleep)
    recorder.event(DEPLOY, "Normal", "X", "eventually")
    await recorder.flush()
    assert len(attempts) == 3 and len(client.listers["v1/events"].objects) == 1
    assert len(slept) == 2 and 0 <= slept[0] <= 10 and slept[1] == 10
    await recorder.close()
