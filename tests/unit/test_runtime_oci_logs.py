"""CRI log records: format, parse, partial lines over 16 KiB, unterminated last lines, rotation by size."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ferry.cluster.kubelet.runtime import LogWriter, log_path, parse_line
from ferry.cluster.kubelet.runtime.logs import format_record, format_timestamp, parse_timestamp

T0 = 1_795_757_400_123_456_789  # 2026-11-27T05:30:00.123456789Z


def clock() -> Iterator[int]:
    t = T0
    while True:
        yield t
        t += 1_000


def writer(path: Path, **kw: int) -> LogWriter:
    ticks = clock()
    return LogWriter(path, clock_ns=lambda: next(ticks), **kw)


def records(path: Path) -> list[tuple[str, bool, bytes]]:
    return [(r.stream, r.partial, r.content) for r in map(parse_line, path.read_bytes().splitlines())]


def test_record_format_is_the_kubelets() -> None:
    assert format_timestamp(T0) == "2026-11-27T05:30:00.123456789Z"
    assert format_timestamp(1_795_757_400_000_000_000) == "2026-11-27T05:30:00.000000000Z"  # always 9 digits
    line = format_record(T0, "stdout", False, b"hello world")
    assert line == b"2026-11-27T05:30:00.123456789Z stdout F hello world\n"
    assert format_record(T0, "stderr", True, b"") == b"2026-11-27T05:30:00.123456789Z stderr P \n"


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("2026-11-27T05:30:00.123456789Z", T0),
        ("2026-11-27T05:30:00.123Z", 1_795_757_400_123_000_000),  # Go's RFC3339Nano trims zeros
        ("2026-11-27T05:30:00Z", 1_795_757_400_000_000_000),
        ("2026-11-27T06:30:00.5+01:00", 1_795_757_400_500_000_000),
    ],
)
def test_parse_timestamp(text: str, ns: int) -> None:
    assert parse_timestamp(text) == ns


def test_parse_line_round_trip_keeps_spaces_and_bytes() -> None:
    r = parse_line(format_record(T0, "stderr", True, b"  two  spaces \xff"))
    assert (r.time_ns, r.stream, r.partial, r.content) == (T0, "stderr", True, b"  two  spaces \xff")
    assert parse_line(b"2026-11-27T05:30:00Z stdout F").content == b""


@pytest.mark.parametrize(
    "bad",
    [
        b"",
        b"garbage",
        b"2026-11-27T05:30:00Z stdin F x",
        b"2026-11-27T05:30:00Z stdout X x",
        b"nottime stdout F x",
    ],
)
def test_malformed_lines_are_refused(bad: bytes) -> None:
    with pytest.raises(ValueError):
        parse_line(bad)


def test_log_path_is_per_container_instance(tmp_path: Path) -> None:
    assert log_path(tmp_path, "api", 3) == tmp_path / "api" / "3.log"


def test_lines_split_across_writes_and_streams(tmp_path: Path) -> None:
    w = writer(tmp_path / "0.log")
    w.write("stdout", b"hel")
    w.write("stderr", b"oops\n")
    w.write("stdout", b"lo\nsecond\nthi")
    w.write("stdout", b"rd\n")
    w.close()
    assert records(tmp_path / "0.log") == [
        ("stderr", False, b"oops"),
        ("stdout", False, b"hello"),
        ("stdout", False, b"second"),
        ("stdout", False, b"third"),
    ]


def test_long_lines_become_partial_records_of_16_kib(tmp_path: Path) -> None:
    w = writer(tmp_path / "0.log")
    long = bytes(range(97, 123)) * 1300  # 33,800 bytes: 16 KiB + 16 KiB + 1032
    w.write("stdout", long[:20000])
    w.write("stdout", long[20000:] + b"\nshort\n")
    w.close()
    got = records(tmp_path / "0.log")
    assert [(s, p, len(c)) for s, p, c in got] == [
        ("stdout", True, 16384),
        ("stdout", True, 16384),
        ("stdout", False, 33800 - 32768),
        ("stdout", False, 5),
    ]
    assert b"".join(c for _, _, c in got[:3]) == long


def test_a_last_line_without_newline_is_a_full_record_at_the_end(tmp_path: Path) -> None:
    w = writer(tmp_path / "0.log")
    w.write("stdout", b"done\nno newline")
    assert records(tmp_path / "0.log") == [("stdout", False, b"done")]  # not before the stream ends
    w.close()
    assert records(tmp_path / "0.log") == [("stdout", False, b"done"), ("stdout", False, b"no newline")]


def test_rotation_by_size_keeps_n_files_and_never_splits_a_record(tmp_path: Path) -> None:
    path = tmp_path / "api" / "0.log"
    w = writer(path, max_bytes=200, max_files=3)
    for i in range(20):
        w.write("stdout", b"line %02d %s\n" % (i, b"x" * 20))
    w.close()
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["0.log", "0.log.1", "0.log.2"]  # the current one and two rotated: max_files=3
    contents = {name: records(path.parent / name) for name in files}
    numbers = [int(c.split()[1]) for name in ("0.log.2", "0.log.1", "0.log") for _, _, c in contents[name]]
    assert numbers == list(range(20 - len(numbers), 20))  # newest at the end, contiguous, oldest dropped
    assert all((path.parent / n).stat().st_size <= 200 for n in files)


def test_appending_to_an_existing_file_counts_its_size(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    path.write_bytes(format_record(T0, "stdout", False, b"x" * 150))
    w = writer(path, max_bytes=200, max_files=2)
    w.write("stdout", b"y" * 100 + b"\n")
    w.close()
    assert records(path) == [("stdout", False, b"y" * 100)]
    assert records(path.with_name("0.log.1")) == [("stdout", False, b"x" * 150)]
