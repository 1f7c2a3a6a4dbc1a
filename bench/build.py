"""Cold and warm image build times of the example services (printed, not asserted).

Run ``.venv/bin/python bench/build.py`` (``--quick`` for one round instead of five). For each service of
``examples/services/``, it builds the image with ``ferry.build.build_image``:

- **cold**: with an empty layer cache (a fresh ``cache_dir`` each round), what a CI runner without a cache pays;
- **warm**: with the cache the cold build filled, what the next commit pays.

It prints the median and the best of the rounds, the manifest digest's stability (cold and warm builds must give
the same digest: the cache only saves time), the layer count and the image's total blob size.

The example services have no third-party dependencies, so their cold and warm builds cost the same. Two more
rows show what the cache is for: `order-service+dep` and `demo-api+dep` are copies with one vendored dependency
(a wheel in requirements.txt, a tarball in package-lock.json: installable offline), so a cold build runs pip or
`npm ci` and a warm one reuses the dependency layer.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ferry.build import BuildRequest, BuiltImage, build_image

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "services"
REVISION = "0" * 40
CREATED = "2026-01-01T00:00:00Z"


def blob_bytes(image: BuiltImage) -> int:
    return sum(len(b) if isinstance(b, bytes) else b.stat().st_size for b in image.blobs.values())


async def build(context: Path, cache_dir: Path) -> tuple[float, BuiltImage]:
    request = BuildRequest(
        context=context, version="1.0.0", revision=REVISION, created=CREATED, cache_dir=cache_dir
    )
    started = time.perf_counter()
    image = await build_image(request)
    return time.perf_counter() - started, image


@dataclass
class Row:
    service: str
    base: str = ""
    layers: int = 0
    bytes: int = 0
    cold: list[float] = field(default_factory=list)
    warm: list[float] = field(default_factory=list)
    digests: set[str] = field(default_factory=set)


async def bench_service(context: Path, rounds: int, scratch: Path) -> Row:
    row = Row(context.name)
    for i in range(rounds):
        cache = scratch / f"{context.name}-{i}"
        seconds, image = await build(context, cache)
        row.cold.append(seconds)
        row.digests.add(image.manifest.digest)
        seconds, image = await build(context, cache)
        row.warm.append(seconds)
        row.digests.add(image.manifest.digest)
        row.base, row.layers, row.bytes = image.base, len(image.manifest.layers), blob_bytes(image)
        shutil.rmtree(cache, ignore_errors=True)
    return row


def print_table(rows: list[Row], rounds: int) -> None:
    header = ("service", "base", "layers", "image bytes", "cold median", "cold best", "warm median", "warm best",
              "same digest")  # fmt: skip
    lines = [header]
    for row in rows:
        cold, warm = row.cold, row.warm
        lines.append(
            (
                row.service,
                row.base,
                str(row.layers),
                f"{row.bytes:,}",
                f"{statistics.median(cold) * 1000:.0f} ms",
                f"{min(cold) * 1000:.0f} ms",
                f"{statistics.median(warm) * 1000:.0f} ms",
                f"{min(warm) * 1000:.0f} ms",
                "yes" if len(row.digests) == 1 else "NO",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    print(f"build times, {rounds} round(s) per service (cold = empty layer cache, warm = cache filled)")
    for line in lines:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


def write_wheel(dest: Path, name: str = "padder", version: str = "1.0.0") -> Path:
    """A minimal pure-Python wheel (PEP 427), so pip installs it without an index."""
    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": b"def pad(s, n):\n    return str(s).rjust(n)\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}"
        for path, data in files.items()
    ]
    files[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    wheel = dest / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for path, data in files.items():
            z.writestr(zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0)), data)
    return wheel


def python_with_dependency(scratch: Path) -> Path:
    context = scratch / "order-service+dep"
    shutil.copytree(EXAMPLES / "order-service", context)
    (context / "vendor").mkdir()
    wheel = write_wheel(context / "vendor")
    (context / "requirements.txt").write_text(f"./vendor/{wheel.name}\n")
    return context


def node_with_dependency(scratch: Path) -> Path:
    package = scratch / "padder"
    package.mkdir()
    (package / "package.json").write_text(
        json.dumps({"name": "padder", "version": "1.0.0", "main": "index.js"})
    )
    (package / "index.js").write_text("module.exports = (s, n) => String(s).padStart(n);\n")
    context = scratch / "demo-api+dep"
    shutil.copytree(EXAMPLES / "demo-api", context)
    (context / "vendor").mkdir()
    npm = ["npm", "--silent", "--offline", "--no-audit", "--no-fund"]
    subprocess.run(
        [*npm, "pack", "--pack-destination", str(context / "vendor")],
        cwd=package,
        check=True,
        capture_output=True,
    )
    doc = json.loads((context / "package.json").read_text())
    doc["dependencies"] = {"padder": "file:vendor/padder-1.0.0.tgz"}
    (context / "package.json").write_text(json.dumps(doc, indent=2) + "\n")
    subprocess.run([*npm, "install", "--package-lock-only"], cwd=context, check=True, capture_output=True)
    return context


async def main_async(rounds: int) -> None:
    services = sorted(p for p in EXAMPLES.iterdir() if p.is_dir())
    with tempfile.TemporaryDirectory(prefix="ferry-bench-build-") as tmp:
        scratch = Path(tmp)
        contexts = [*services, python_with_dependency(scratch), node_with_dependency(scratch)]
        rows = [await bench_service(context, rounds, scratch / "caches") for context in contexts]
    print_table(rows, rounds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="one round per service instead of five")
    args = ap.parse_args()
    if not EXAMPLES.is_dir():
        sys.exit(f"error: {EXAMPLES} not found")
    asyncio.run(main_async(1 if args.quick else 5))


if __name__ == "__main__":
    main()
