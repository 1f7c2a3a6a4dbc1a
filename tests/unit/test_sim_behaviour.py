"""sim: per-container behaviour from annotations and image tags (the table in the module docstring)."""

from __future__ import annotations

from ferry.cluster.kubelet import Behaviour, SimConfig, behaviour
from tests.unit.simkit import container, pod

CFG = SimConfig(start_delay_ms=500, run_to_completion_ms=1000)


def of(image: str = "nginx:1.25", policy: str = "Always", **ann: str) -> Behaviour:
    p = pod("p", restart_policy=policy, annotations={f"sim.ferry.dev/{k}": v for k, v in ann.items()})
    return behaviour(p, container(image=image), CFG)


def test_defaults() -> None:
    assert of() == Behaviour(start=0.5, ready=0.0)
    assert of(policy="Never") == Behaviour(start=0.5, ready=0.0, exit=1.0, exit_code=0)


def test_annotations() -> None:
    b = of(**{"start-after-ms": "2000", "ready-after-ms": "1500", "stop-after-ms": "7000"})
    assert (b.start, b.ready, b.stop) == (2.0, 1.5, 7.0)
    assert of(**{"crash-after-ms": "300"}) == Behaviour(start=0.5, ready=0.0, exit=0.3, exit_code=1)
    assert of(**{"crash-after-ms": "300", "exit-code": "0"}).exit_code == 0
    assert of(**{"oom-after-ms": "250"}) == Behaviour(start=0.5, ready=0.0, exit=0.25, oom=True)
    assert of(**{"never-ready": "true"}).ready is None
    assert of(**{"image-pull-error": "denied"}).pull_error == "denied"


def test_invalid_values_fall_back_to_defaults() -> None:
    assert of(**{"ready-after-ms": "soon", "crash-after-ms": "", "exit-code": "x"}) == Behaviour(
        start=0.5, ready=0.0
    )
    assert of(**{"never-ready": "yes"}).ready == 0.0  # only "true" counts


def test_image_tags_and_annotations_win() -> None:
    assert of(image="example/api:never-ready").ready is None
    assert of(image="example/api:1.2-crash").exit == 1.0
    assert of(image="example/api:oom").oom is True
    assert (
        of(image="example/api:pull-error").pull_error
        == 'failed to pull and unpack image "example/api:pull-error": not found'
    )
    assert of(image="example/api:bloom").oom is False  # a word, not a substring
    assert of(image="example/api:1.2-crash", **{"crash-after-ms": "5000"}).exit == 5.0
