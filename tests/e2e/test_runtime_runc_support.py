"""Fixtures for the runtime end-to-end tests (imported by the ``test_runtime_runc_*`` files; no tests here).

* ``busybox_image``: a ``FROM scratch`` image with Debian's static busybox, built by ``ferry.build``, written as
  an OCI layout, and unpacked with the kubelet's own ``apply_layer`` into a root: a ``PulledImage`` as the
  image store returns it (the registry round trip is the image store's tests' business).
* ``runc_runtime``: a :class:`RuncRuntime` whose state (bundles, ``runc --root``) lives under the test's tmp
  dir and whose cgroups are under a unique ``ferry-e2e-<hex>`` root. At teardown it deletes every container the
  test left, then **asserts** that nothing is left: no runc state, no bundle directories, no mounts below the
  state dir, no cgroup directory under that root in any hierarchy; then removes the (empty) root itself.
* ``netns``: a network namespace ``ferry-test-<hex>`` with loopback up, removed at teardown.
* ``spec_for``: a :class:`ContainerSpec` with a unique pod uid and the log path in the test's tmp dir.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ferry.build import BuildRequest, build_image, write_oci_layout
from ferry.cluster.kubelet.images import PulledImage
from ferry.cluster.kubelet.layers import apply_layer
from ferry.cluster.kubelet.runtime import ContainerSpec, RuncRuntime, log_path
from ferry.cluster.kubelet.runtime.cgroups import cgroup_v1_hierarchies
from ferry.cluster.kubelet.runtime.rootfs import mounts_under
from ferry.registry.oci import parse_reference

BUSYBOX = Path("/bin/busybox")
IP = shutil.which("ip") or "/usr/sbin/ip"
DOCKERFILE = """\
FROM scratch
COPY busybox /bin/busybox
ENV GREETING=ferry
WORKDIR /work
ENTRYPOINT ["/bin/busybox", "sh", "-c"]
CMD ["echo hello from $GREETING"]
"""
SpecFor = Callable[..., ContainerSpec]


@pytest.fixture(scope="module")
def busybox_image(tmp_path_factory: pytest.TempPathFactory) -> PulledImage:
    assert BUSYBOX.is_file(), f"{BUSYBOX} is missing: install Debian's busybox-static (make test does)"
    base = tmp_path_factory.mktemp("busybox-image")
    context = base / "context"
    context.mkdir()
    (context / "Dockerfile").write_text(DOCKERFILE)
    shutil.copy2(BUSYBOX, context / "busybox")
    request = BuildRequest(
        context=context,
        version="1.0.0",
        revision="0" * 40,
        created="2026-01-31T12:00:00Z",
        cache_dir=base / "cache",
    )
    built = asyncio.run(build_image(request))
    layout = base / "layout"
    write_oci_layout(built, layout, tag="1.0.0-0000000")
    config = json.loads(built.config)
    rootfs = base / "rootfs"
    rootfs.mkdir()
    assert built.manifest.layers
    for layer in built.manifest.layers:
        apply_layer(rootfs, layout / "blobs" / "sha256" / layer.digest.split(":")[1], label=layer.digest)
    (rootfs / "bin" / "sh").symlink_to("busybox")
    return PulledImage(
        image="127.0.0.1:5000/e2e/busybox:1.0.0-0000000",
        reference=parse_reference("127.0.0.1:5000/e2e/busybox:1.0.0-0000000"),
        digest=built.manifest.digest,
        config=config,
        rootfs=rootfs,
    )


def leftovers(state_dir: Path, cgroup_root: str) -> dict[str, Any]:
    """Everything a runtime could leave on the host, for the 'nothing left' assertions."""
    runc_state = state_dir / "runc"
    return {
        "runc": sorted(p.name for p in runc_state.iterdir()) if runc_state.is_dir() else [],
        "bundles": sorted(p.name for p in (state_dir / "containers").iterdir()),
        "mounts": [str(p) for p in mounts_under(state_dir)],
        "cgroups": sorted(
            str(p.relative_to(h))
            for h in cgroup_v1_hierarchies()
            if (h / cgroup_root).is_dir()
            for p in (h / cgroup_root).iterdir()
            if p.is_dir()
        ),
    }


@pytest.fixture
def runc_runtime(tmp_path: Path) -> Iterator[RuncRuntime]:
    root = f"ferry-e2e-{uuid.uuid4().hex[:8]}"
    runtime = RuncRuntime(tmp_path / "state", cgroup_root=root, poll_seconds=0.01)
    try:
        yield runtime
    finally:
        for cid in asyncio.run(runtime.list()):
            asyncio.run(runtime.delete(cid))
        left = leftovers(runtime.state_dir, root)
        for h in cgroup_v1_hierarchies():
            if (h / root).is_dir():
                for sub in sorted((h / root).glob("**/"), key=lambda p: len(p.parts), reverse=True):
                    sub.rmdir()
        assert left == {"runc": [], "bundles": [], "mounts": [], "cgroups": []}
        assert not any((h / root).exists() for h in cgroup_v1_hierarchies())


@pytest.fixture
def netns() -> Iterator[Path]:
    name = f"ferry-test-{uuid.uuid4().hex[:8]}"
    subprocess.run([IP, "netns", "add", name], check=True, capture_output=True, timeout=30)
    try:
        subprocess.run(
            [IP, "-n", name, "link", "set", "lo", "up"], check=True, capture_output=True, timeout=30
        )
        yield Path("/run/netns") / name
    finally:
        subprocess.run([IP, "netns", "delete", name], check=True, capture_output=True, timeout=30)
        assert not (Path("/run/netns") / name).exists()


@pytest.fixture
def spec_for(tmp_path: Path, busybox_image: PulledImage) -> SpecFor:
    pod_uid = str(uuid.uuid4())

    def make(name: str = "app", restart: int = 0, **kw: Any) -> ContainerSpec:
        return ContainerSpec(
            pod_uid=kw.pop("pod_uid", pod_uid),
            pod_name="web-1",
            pod_namespace="e2e",
            name=name,
            image=kw.pop("image", busybox_image),
            log_path=log_path(tmp_path / "logs", name, restart),
            **kw,
        )

    return make


def run(coro: Any) -> Any:
    return asyncio.run(coro)
