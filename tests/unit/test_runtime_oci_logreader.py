"""``read_logs``: the flags of ``kubectl logs`` (tail, since, timestamps, limit, follow) over CRI log files."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ferry.cluster.kubelet.runtime import LogWriter, read_logs
from ferry.cluster.kubelet.runtime.logs import format_record

S = 1_000_000_000
T0 = 1_795_757_400 * S  # 2026-11-27T05:30:00Z


def write(path: Path, *records: tuple[int, str, bool, bytes]) -> None:
    with open(path, "ab") as f:
        for t, stream, partial, content in records:
            f.write(format_record(t, stream, partial, content))  # type: ignore[arg-type]


async def read(path: Path, **kw: object) -> bytes:
    return b"".join([chunk async for chunk in read_logs(path, **kw)])  # type: ignore[arg-type]


def sample(path: Path) -> None:
    write(
        path,
        (T0, "stdout", False, b"one"),
        (T0 + 1 * S, "stderr", False, b"warn"),
        (T0 + 2 * S, "stdout", True, b"long-"),
        (T0 + 2 * S, "stdout", True, b"line-"),
        (T0 + 3 * S, "stdout", False, b"end"),
        (T0 + 4 * S, "stdout", False, b"last"),
    )


async def test_whole_file_joins_partials(tmp_path: Path) -> None:
    sample(tmp_path / "0.log")
    assert await read(tmp_path / "0.log") == b"one\nwarn\nlong-line-end\nlast\n"


async def test_tail_counts_lines_not_records(tmp_path: Path) -> None:
    sample(tmp_path / "0.log")
    assert await read(tmp_path / "0.log", tail=2) == b"long-line-end\nlast\n"
    assert await read(tmp_path / "0.log", tail=1) == b"last\n"
    assert await read(tmp_path / "0.log", tail=0) == b""
    assert await read(tmp_path / "0.log", tail=100) == b"one\nwarn\nlong-line-end\nlast\n"


async def test_since_and_streams(tmp_path: Path) -> None:
    sample(tmp_path / "0.log")
    assert await read(tmp_path / "0.log", since_ns=T0 + 1 * S) == b"warn\nlong-line-end\nlast\n"
    assert await read(tmp_path / "0.log", since_ns=T0 + 4 * S) == b"last\n"
    assert await read(tmp_path / "0.log", streams=("stderr",)) == b"warn\n"
    assert await read(tmp_path / "0.log", tail=1, streams=("stderr",)) == b"warn\n"


async def test_timestamps_prefix_each_line_once(tmp_path: Path) -> None:
    sample(tmp_path / "0.log")
    assert (await read(tmp_path / "0.log", tail=2, timestamps=True)).decode().splitlines() == [
        "2026-11-27T05:30:02.000000000Z long-line-end",
        "2026-11-27T05:30:04.000000000Z last",
    ]


async def test_limit_bytes_cuts_the_output(tmp_path: Path) -> None:
    sample(tmp_path / "0.log")
    assert await read(tmp_path / "0.log", limit_bytes=6) == b"one\nwa"


async def test_malformed_lines_are_skipped_and_a_missing_file_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    write(path, (T0, "stdout", False, b"good"))
    with open(path, "ab") as f:
        f.write(b"this is not a CRI record\n")
    write(path, (T0, "stdout", False, b"also good"))
    assert await read(path) == b"good\nalso good\n"
    assert await read(tmp_path / "missing.log") == b""


async def test_follow_streams_new_lines_until_the_container_stops(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    write(path, (T0, "stdout", False, b"before"))
    stopped = False
    got: list[bytes] = []

    async def follow() -> None:
        async for chunk in read_logs(path, follow=True, stopped=lambda: stopped, poll_seconds=0.01):
            got.append(chunk)

    task = asyncio.create_task(follow())
    await asyncio.sleep(0.05)
    assert got == [b"before\n"]
    w = LogWriter(path)
    w.write("stdout", b"after 1\nafter")
    await asyncio.sleep(0.05)
    assert got == [b"before\n", b"after 1\n"]  # an incomplete record is not served
    w.write("stdout", b" 2\n")
    w.close()
    stopped = True
    await asyncio.wait_for(task, 2)
    assert b"".join(got) == b"before\nafter 1\nafter 2\n"


async def test_follow_survives_rotation(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    w = LogWriter(path, max_bytes=120, max_files=2)
    stopped = False
    got: list[bytes] = []

    async def follow() -> None:
        async for chunk in read_logs(path, follow=True, stopped=lambda: stopped, poll_seconds=0.005):
            got.append(chunk)

    task = asyncio.create_task(follow())
    for i in range(10):
        w.write("stdout", b"record %d\n" % i)
        await asyncio.sleep(0.03)
    w.close()
    await asyncio.sleep(0.05)
    stopped = True
    await asyncio.wait_for(task, 2)
    assert b"".join(got) == b"".join(b"record %d\n" % i for i in range(10))
    assert path.with_name("0.log.1").exists()


async def test_follow_waits_for_the_file_to_appear(tmp_path: Path) -> None:
    path = tmp_path / "c" / "0.log"
    stopped = False

    async def later() -> None:
        nonlocal stopped
        await asyncio.sleep(0.05)
        w = LogWriter(path)
        w.write("stderr", b"late\n")
        w.close()
        await asyncio.sleep(0.05)
        stopped = True

    writer_task = asyncio.create_task(later())
    out = await asyncio.wait_for(read(path, follow=True, stopped=lambda: stopped, poll_seconds=0.01), 2)
    await writer_task
    assert out == b"late\n"
