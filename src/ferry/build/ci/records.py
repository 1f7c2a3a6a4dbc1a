"""Build records: what `ferry ci` hands to the deploy stage, and where it remembers its last success.

One JSON document per service and commit, `.ferry/ci/<sha7>/<service>.json` under the repository root:

    {"service": "order-service", "version": "1.4.2", "tag": "1.4.2-a8f3d21",
     "image": "127.0.0.1:5000/order-service:1.4.2-a8f3d21", "digest": "sha256:...", "gitSha": "<40 hex>",
     "status": "ok", "tests": {"passed": 12, "failed": 0, "command": "...", "exitCode": 0,
     "durationSeconds": 1.2, "failures": []},
     "durations": {"test": 1.2, "build": 0.4, "push": 0.3},
     "pushed": {"blobs": 2, "bytes": 18123, "manifest": true}}

A failed service gets a record too (`status: "failed"`, `failedStep`, `error`, `digest: null`), so the deploy
stage and a human can tell "not built because its tests failed" from "not affected". Deploy consumes only
`status: "ok"` records; the image reference to deploy is `image@digest`.

`.ferry/ci/last-success` holds the full SHA of the last commit whose whole `ferry ci` run succeeded; it is the
default `--since`. Both are written atomically (temporary file + rename), so a killed run never leaves half
a record behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, TypedDict

__all__ = [
    "BuildRecord",
    "PushedSummary",
    "TestSummary",
    "read_last_success",
    "records_dir",
    "write_last_success",
    "write_record",
]

CI_DIR = Path(".ferry") / "ci"
LAST_SUCCESS = "last-success"


class TestSummary(TypedDict):
    passed: int | None
    failed: int | None
    command: str | None
    exitCode: int | None
    durationSeconds: float
    failures: list[str]


class PushedSummary(TypedDict):
    blobs: int
    bytes: int
    manifest: bool


class BuildRecord(TypedDict, total=False):
    service: str
    version: str | None
    tag: str | None
    image: str | None
    digest: str | None
    gitSha: str
    status: str  # "ok" | "failed"
    failedStep: str  # "version" | "test" | "build" | "push"
    error: str
    tests: TestSummary | None
    durations: dict[str, float]
    pushed: PushedSummary | None
    warnings: list[str]


def records_dir(root: Path, sha: str) -> Path:
    return root / CI_DIR / sha[:7]


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_record(root: Path, record: BuildRecord) -> Path:
    """Write one service's record; returns its path."""
    path = records_dir(root, record["gitSha"]) / f"{record['service']}.json"
    _write_atomic(path, (json.dumps(record, indent=2, sort_keys=True) + "\n").encode())
    return path


def read_record(path: Path) -> dict[str, Any]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: not a JSON object")
    return doc


def read_last_success(root: Path) -> str | None:
    """The SHA recorded by the last fully successful run, or None (first run)."""
    try:
        text = (root / CI_DIR / LAST_SUCCESS).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return text or None


def write_last_success(root: Path, sha: str) -> None:
    _write_atomic(root / CI_DIR / LAST_SUCCESS, f"{sha}\n".encode())
