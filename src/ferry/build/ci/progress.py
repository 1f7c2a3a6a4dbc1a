"""What `ferry ci` shows while it runs, and the summary at the end.

Two reporters with one interface (`ferry.build.ci.pipeline.Reporter`):

- `PlainReporter`: one line per event, for CI logs and pipes, where spinners and cursor movement turn into
  garbage. Lines start with the service name so `grep order-service` tells its whole story.
- `RichReporter`: a spinner per running step (rich Progress), finished steps printed above it; for a terminal.

Both write to stderr: stdout carries the result (the summary table, or the JSON document with
`--output json`), so `ferry ci --output json > records.json` works while progress stays visible. When a
service's tests fail, the tail of their output is shown: that is the line the developer needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO, Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from ferry.build.ci.affected import Affected
from ferry.build.ci.records import BuildRecord

__all__ = ["PlainReporter", "RichReporter", "describe_plan", "summary_rows", "write_summary"]


def describe_plan(affected: Affected, sha: str, total: int) -> list[str]:
    """The header lines: which commit, since when, which services and why."""
    since = f"since {affected.since[:7]}" if affected.since else "first run"
    lines = [f"ferry ci {sha[:7]} ({since}): {len(affected.reasons)} of {total} services affected"]
    lines += [f"  {name}: {why}" for name, why in affected.reasons.items()]
    return lines


class PlainReporter:
    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def header(self, lines: Sequence[str]) -> None:
        for line in lines:
            self._line(line)

    def step_started(self, service: str, step: str, detail: str) -> None:
        self._line(f"{service}: {step}: {detail}")

    def step_finished(
        self, service: str, step: str, ok: bool, detail: str, *, output: str | None = None
    ) -> None:
        self._line(f"{service}: {step}: {'ok' if ok else 'FAILED'}: {detail}")
        if output:
            for line in output.splitlines():
                self._line(f"{service}: | {line}")

    def service_finished(self, record: BuildRecord) -> None:
        self._line(_verdict(record))

    def close(self) -> None:
        pass


class RichReporter:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.tasks: dict[str, TaskID] = {}
        self.progress.start()

    def header(self, lines: Sequence[str]) -> None:
        for i, line in enumerate(lines):
            self.console.print(line, style="bold" if i == 0 else None, highlight=False)

    def step_started(self, service: str, step: str, detail: str) -> None:
        text = f"[bold]{service}[/] {step} [dim]{detail}[/]"
        if service in self.tasks:
            self.progress.update(self.tasks[service], description=text)
        else:
            self.tasks[service] = self.progress.add_task(text, total=None)

    def step_finished(
        self, service: str, step: str, ok: bool, detail: str, *, output: str | None = None
    ) -> None:
        mark = "[green]✓[/]" if ok else "[red]✗[/]"
        self.progress.console.print(f"{mark} [bold]{service}[/] {step}: {detail}", highlight=False)
        if output:
            self.progress.console.print(output, style="dim", markup=False, highlight=False)

    def service_finished(self, record: BuildRecord) -> None:
        task = self.tasks.pop(record["service"], None)
        if task is not None:
            self.progress.remove_task(task)
        style = "green" if record.get("status") == "ok" else "red"
        self.progress.console.print(_verdict(record), style=style, highlight=False, markup=False)

    def close(self) -> None:
        self.progress.stop()


def _verdict(record: BuildRecord) -> str:
    name = record["service"]
    status = record.get("status")
    if status == "ok":
        return f"{name}: done: {record.get('image')}@{record.get('digest')}"
    if status == "skipped":
        return f"{name}: skipped: {record.get('error')}"
    return f"{name}: FAILED at {record.get('failedStep')}: {record.get('error')}"


def summary_rows(records: Sequence[BuildRecord]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = [("SERVICE", "TAG", "DIGEST", "TESTS", "RESULT")]
    for r in records:
        tests = r.get("tests")
        if tests is None:
            test_text = "-"
        elif tests["passed"] is None:
            test_text = "ok" if tests["exitCode"] == 0 else "failed"
        else:
            test_text = f"{tests['passed']} passed" + (
                f", {tests['failed']} failed" if tests["failed"] else ""
            )
        pushed = r.get("pushed")
        if r.get("status") == "ok" and pushed is not None:
            result = "pushed" if pushed["manifest"] or pushed["blobs"] else "unchanged"
        else:
            step = r.get("failedStep")
            result = f"failed ({step})" if step else str(r.get("status"))
        digest = r.get("digest") or "-"
        rows.append((r["service"], r.get("tag") or "-", digest[:19], test_text, result))
    return rows


def write_summary(records: Sequence[BuildRecord], stream: IO[str], *, rich: bool) -> None:
    """The end-of-run table on stdout."""
    rows = summary_rows(records)
    if rich:
        table = Table(*rows[0], box=None, header_style="bold")
        for row in rows[1:]:
            style: Any = "red" if row[-1].startswith("failed") else None
            table.add_row(*row, style=style)
        Console(file=stream).print(table)
        return
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        stream.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() + "\n")
