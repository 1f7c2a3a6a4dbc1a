"""sim: a failing image pull alternates ErrImagePull and ImagePullBackOff on the pull back-off; Pending."""

from __future__ import annotations

from ferry.cluster.kubelet import SimConfig, SimRuntime
from tests.unit.simkit import Cluster, container, pod, run_until


async def test_err_image_pull_then_back_off_on_kube_schedule() -> None:
    c = Cluster()
    sim = SimRuntime(c.pods, c.client, c.recorder, c.clock, SimConfig(start_delay_ms=0))
    p = pod("web", node="ferry-node-1", containers=[container(image="nginx:pull-error")])
    c.add(p)
    sim.on_pod_add(p)
    writes = await run_until(c, sim, 75)
    seen = [(t, s["containerStatuses"][0]["state"]["waiting"]["reason"]) for t, s in writes]
    # attempts at 0, 10 (back-off 10 s passed), 30 (20 s), 70 (40 s); the 10 s resyncs between show the back-off
    assert seen == [
        (0, "ErrImagePull"),
        (20, "ImagePullBackOff"),
        (30, "ErrImagePull"),
        (40, "ImagePullBackOff"),
        (70, "ErrImagePull"),
    ]
    assert {s["phase"] for _, s in writes} == {"Pending"}
    first = writes[0][1]["containerStatuses"][0]
    assert (
        first["state"]["waiting"]["message"]
        == 'failed to pull and unpack image "nginx:pull-error": not found'
    )
    assert "containerID" not in first and first["imageID"] == ""
    assert (
        writes[1][1]["containerStatuses"][0]["state"]["waiting"]["message"]
        == 'Back-off pulling image "nginx:pull-error"'
    )
    kinds = [(e[1], e[2]) for e in c.take_events()]
    assert kinds.count(("Warning", "Failed")) == 4 and kinds.count(("Normal", "BackOff")) == 4


async def test_annotation_message() -> None:
    c = Cluster()
    sim = SimRuntime(c.pods, c.client, c.recorder, c.clock, SimConfig(start_delay_ms=0))
    p = pod(
        "web",
        node="ferry-node-1",
        annotations={"sim.ferry.dev/image-pull-error": "unauthorized: authentication required"},
    )
    c.add(p)
    sim.on_pod_add(p)
    [(_, st)] = await run_until(c, sim, 1)
    assert st["containerStatuses"][0]["state"]["waiting"] == {
        "reason": "ErrImagePull",
        "message": "unauthorized: authentication required",
    }
