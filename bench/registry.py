"""Registry push/pull throughput (printed, not asserted): ``PYTHONPATH=src .venv/bin/python bench/registry.py``.

One image — a config and 4 layers of random bytes (25 MB each, 100 MB in all; `--quick`: 2.5 MB each) — is
pushed with ferry's client to two registries in the same run, each a separate process on 127.0.0.1:

- Debian's `docker-registry` (CNCF Distribution 2.8, Go), filesystem storage in a temp directory;
- ferry's embedded registry (`ferry.registry.server.start_registry`), data in a temp directory.

For each: a cold push (every blob uploaded; layers larger than the client's 8 MiB chunk go in chunked PATCHes),
a warm push of the same tag (one HEAD: nothing to send), and a pull into an empty OCI layout (every blob
streamed and verified). The last column is the embedded registry's throughput over docker-registry's.
Random layers do not compress, so the figures are wire and disk throughput, not gzip's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from ferry.registry.client import RegistryClient
from ferry.registry.oci import OCI_CONFIG, OCI_LAYER_GZIP, Descriptor, Manifest, canonical_json, digest_of

LAYERS = 4
DOCKER_REGISTRY = "/usr/bin/docker-registry"
EMBEDDED = """
import asyncio, sys
from pathlib import Path
from ferry.registry.server import RegistrySettings, start_registry

async def main() -> None:
    running = await start_registry(RegistrySettings(data_dir=Path(sys.argv[1]), port=0))
    print(running.host_port, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await running.stop()

asyncio.run(main())
"""


@dataclass
class Image:
    manifest: Manifest
    blobs: dict[str, bytes | Path]
    size: int


def make_image(work: Path, layer_bytes: int) -> Image:
    config = canonical_json({"architecture": "amd64", "os": "linux"})
    layers: list[Descriptor] = []
    blobs: dict[str, bytes | Path] = {digest_of(config): config}
    for i in range(LAYERS):
        path = work / f"layer{i}"
        data = os.urandom(layer_bytes)
        path.write_bytes(data)
        descriptor = Descriptor.of(OCI_LAYER_GZIP, data)
        layers.append(descriptor)
        blobs[descriptor.digest] = path
    manifest = Manifest.build(Descriptor.of(OCI_CONFIG, config), layers)
    return Image(manifest, blobs, LAYERS * layer_bytes + len(config))


def wait_until_up(host: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(f"http://{host}/v2/", timeout=1).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"registry at {host} did not start") from None
            time.sleep(0.05)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.stdin is not None:
        proc.stdin.close()
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def distribution(work: Path) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = work / "config.yml"
    config.write_text(
        f"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {work / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: bench\n"
    )
    proc = subprocess.Popen(
        [DOCKER_REGISTRY, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_until_up(f"127.0.0.1:{port}", proc)
        yield f"127.0.0.1:{port}"
    finally:
        stop(proc)


@contextmanager
def embedded(work: Path) -> Iterator[str]:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent / "src"))
    proc = subprocess.Popen(
        [sys.executable, "-c", EMBEDDED, str(work / "data")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )
    try:
        assert proc.stdout is not None
        host = proc.stdout.readline().decode().strip()
        if not host:
            raise SystemExit("the embedded registry did not start")
        wait_until_up(host, proc)
        yield host
    finally:
        stop(proc)


@dataclass
class Figures:
    push_mb_s: float
    repush_ms: float
    pull_mb_s: float


async def measure(host: str, image: Image, work: Path) -> Figures:
    mb = image.size / 1e6
    async with RegistryClient(host) as client:
        start = time.perf_counter()
        result = await client.push_image("bench/image", "1.0.0-bench", image.manifest, image.blobs)
        push = time.perf_counter() - start
        assert result.blobs_pushed == LAYERS + 1, result
        start = time.perf_counter()
        again = await client.push_image("bench/image", "1.0.0-bench", image.manifest, image.blobs)
        repush = time.perf_counter() - start
        assert not again.manifest_pushed and again.bytes_pushed == 0, again
        start = time.perf_counter()
        await client.pull_image("bench/image", "1.0.0-bench", work / "pulled")
        pull = time.perf_counter() - start
    return Figures(mb / push, repush * 1000, mb / pull)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 layers of 2.5 MB instead of 25 MB")
    args = parser.parse_args()
    layer_bytes = 2_500_000 if args.quick else 25_000_000
    root = Path(tempfile.mkdtemp(prefix="ferry-bench-registry-"))
    try:
        image = make_image(root, layer_bytes)
        print(f"image: config + {LAYERS} layers of {layer_bytes / 1e6:g} MB = {image.size / 1e6:.1f} MB")
        servers: list[tuple[str, Callable[[Path], AbstractContextManager[str]]]] = [
            ("docker-registry 2.8", distribution),
            ("ferry embedded", embedded),
        ]
        results: dict[str, Figures] = {}
        for name, server in servers:
            work = root / name.split()[0]
            work.mkdir()
            try:
                with server(work) as host:
                    results[name] = asyncio.run(measure(host, image, work))
            except (SystemExit, ImportError) as exc:
                print(f"{name}: not available ({exc})")
        print(f"{'registry':<22}{'push MB/s':>11}{'re-push ms':>12}{'pull MB/s':>11}")
        for name, f in results.items():
            print(f"{name:<22}{f.push_mb_s:>11.1f}{f.repush_ms:>12.1f}{f.pull_mb_s:>11.1f}")
        if len(results) == 2:
            base, ours = results["docker-registry 2.8"], results["ferry embedded"]
            print(
                f"{'embedded / docker-registry':<22}{ours.push_mb_s / base.push_mb_s:>10.2f}x"
                f"{'':>12}{ours.pull_mb_s / base.pull_mb_s:>10.2f}x"
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
