"""FROM: scratch, the host base, and registry images whose layers are reused by digest (against a fake client)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferry.build import BuildError, build_image
from ferry.registry.oci import OCI_LAYER_GZIP

from .build_support import FakeBaseRegistry, config_of, request, write_tree


def _ctx(tmp_path: Path, dockerfile: str) -> Path:
    return write_tree(tmp_path / "ctx", {"Dockerfile": dockerfile, "app.py": "print(1)\n"})


async def test_scratch_has_no_base_layers_and_no_env(tmp_path: Path) -> None:
    image = await build_image(request(_ctx(tmp_path, "FROM scratch\nCOPY app.py /\n")))
    assert image.base == "scratch"
    assert len(image.manifest.layers) == 1
    config = config_of(image)
    assert "Env" not in config["config"]
    assert "dev.ferry.image.base" not in config["config"]["Labels"]


@pytest.mark.parametrize(
    ("line", "runtime"),
    [("FROM host", "python3.11"), ("FROM host:node20", "node20"), ("FROM host:python3.11", "python3.11")],
)
async def test_host_base_labels_and_path(tmp_path: Path, line: str, runtime: str) -> None:
    image = await build_image(request(_ctx(tmp_path, f"{line}\nCOPY app.py /app/\n")))
    assert image.base == f"host:{runtime}"
    config = config_of(image)["config"]
    assert config["Labels"]["dev.ferry.image.base"] == "host"
    assert config["Labels"]["dev.ferry.image.runtime"] == runtime
    assert "/usr/bin" in config["Env"][0] and config["Env"][0].startswith("PATH=")


async def test_unknown_host_runtime(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="unknown host runtime 'ruby3' in 'host:ruby3'"):
        await build_image(request(_ctx(tmp_path, "FROM host:ruby3\n")))


async def test_registry_base_is_resolved_through_the_index_and_its_layers_reused(tmp_path: Path) -> None:
    fake = FakeBaseRegistry()
    seen: list[str] = []

    def factory(registry: str) -> FakeBaseRegistry:
        seen.append(registry)
        return fake

    ctx = _ctx(
        tmp_path, 'FROM python:3.11-slim\nENV PATH=/app:$PATH\nCOPY app.py /app/\nENTRYPOINT ["python3"]\n'
    )
    image = await build_image(request(ctx, registry_client_factory=factory, platform="linux/amd64"))
    assert seen == ["docker.io"]
    assert fake.closed == 1
    assert image.base == f"python:3.11-slim@{fake.image_digest}"
    base_layer, own_layer = image.manifest.layers
    assert (base_layer.digest, base_layer.media_type) == (fake.layer_digest, OCI_LAYER_GZIP)
    assert own_layer.digest in image.blobs and own_layer.digest != base_layer.digest
    assert image.blobs[fake.layer_digest] == fake.blobs[fake.layer_digest]
    config = config_of(image)
    assert config["config"]["Env"] == ["PATH=/app:/usr/local/bin:/usr/bin", "LANG=C.UTF-8"]
    assert "Cmd" not in config["config"]  # ENTRYPOINT reset the inherited CMD
    assert len(config["rootfs"]["diff_ids"]) == 2
    assert config["history"][0] == {"created_by": "base layer"}
    assert image.manifest.annotations["org.opencontainers.image.base.digest"] == fake.image_digest
    assert image.manifest.annotations["org.opencontainers.image.base.name"] == "python:3.11-slim"


async def test_registry_base_layers_are_cached_on_disk(tmp_path: Path) -> None:
    fake = FakeBaseRegistry()
    ctx = _ctx(tmp_path, "FROM python:3.11-slim\n")
    kwargs = {
        "registry_client_factory": lambda _: fake,
        "platform": "linux/amd64",
        "cache_dir": tmp_path / "cache",
    }
    first = await build_image(request(ctx, **kwargs))
    assert ("pull_blob", fake.layer_digest) in fake.calls
    fake.calls.clear()
    second = await build_image(request(ctx, **kwargs))
    assert second.digest == first.digest
    assert [c for c in fake.calls if c[0] == "pull_blob"] == []
    assert isinstance(second.blobs[fake.layer_digest], Path)


async def test_a_platform_the_index_lacks_is_named(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, "FROM python:3.11-slim\n")
    with pytest.raises(BuildError, match=r"has no linux/s390x image \(it has: linux/amd64, linux/arm64\)"):
        await build_image(
            request(ctx, registry_client_factory=lambda _: FakeBaseRegistry(), platform="linux/s390x")
        )


async def test_an_unknown_base_image_is_named(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, "FROM 127.0.0.1:5000/nope/base:1.0\n")
    with pytest.raises(BuildError) as exc:
        await build_image(request(ctx, registry_client_factory=lambda _: FakeBaseRegistry()))
    assert str(exc.value).startswith("unknown base image '127.0.0.1:5000/nope/base:1.0': ")


async def test_an_invalid_reference_is_an_unknown_base(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="unknown base image 'Not/Valid'"):
        await build_image(request(_ctx(tmp_path, "FROM Not/Valid\n")))


async def test_a_registry_that_is_down_is_one_line_naming_the_base(tmp_path: Path) -> None:
    import socket

    from ferry.registry.client import RegistryClient, RetryPolicy

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    ctx = _ctx(tmp_path, f"FROM 127.0.0.1:{port}/base/tool:1.0\n")
    retry = RetryPolicy(attempts=1, base_delay_seconds=0.0, max_delay_seconds=0.0)
    factory = lambda registry: RegistryClient(registry, retry=retry)  # noqa: E731
    with pytest.raises(BuildError) as exc:
        await build_image(request(ctx, registry_client_factory=factory))
    message = str(exc.value)
    assert message.startswith(f"cannot pull base image '127.0.0.1:{port}/base/tool:1.0': ")
    assert "\n" not in message


async def test_a_truncated_cached_base_layer_is_fetched_again(tmp_path: Path) -> None:
    fake = FakeBaseRegistry()
    ctx = _ctx(tmp_path, "FROM python:3.11-slim\n")
    kwargs = {
        "registry_client_factory": lambda _: fake,
        "platform": "linux/amd64",
        "cache_dir": tmp_path / "cache",
    }
    await build_image(request(ctx, **kwargs))
    cached = tmp_path / "cache" / "blobs" / "sha256" / fake.layer_digest.split(":")[1]
    cached.write_bytes(cached.read_bytes()[:10])
    fake.calls.clear()
    image = await build_image(request(ctx, **kwargs))
    assert ("pull_blob", fake.layer_digest) in fake.calls
    assert cached.read_bytes() == fake.blobs[fake.layer_digest]
    assert image.blobs[fake.layer_digest] == cached
