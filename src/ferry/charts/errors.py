"""The charts layer's errors: everything a chart author or a values file can get wrong, as one line.

Every failure of the Helm engine (`helm_python.HelmError` and its subclasses, whose messages span several lines
and name the chart in Helm's own words) is translated here, at the adapter's edge, so nothing above
`ferry.charts` ever sees a Helm exception or a multi-line message. The CLI prints `str(error)` after `error: `.

    Exception
     └── ChartError            the chart cannot be loaded, or anything else about it is wrong
          ├── ValuesError      a values file is unreadable, a --set string is malformed, or the merged values
          │                    fail the chart's values.schema.json ("<path>: <rule> (set by <layer>)")
          ├── TemplateError    a template failed to render, or rendered YAML that does not parse
          │                    (names the template, with line:column when Helm reports one)
          └── DependencyError  a subchart declared in Chart.yaml is missing or cannot be resolved
"""

from __future__ import annotations

__all__ = ["ChartError", "DependencyError", "TemplateError", "ValuesError", "one_line"]


class ChartError(Exception):
    """A chart problem the user can fix; `str()` is one readable line naming the file to blame."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


class ValuesError(ChartError):
    """Values that cannot be read, parsed, or that the chart's schema refuses."""


class TemplateError(ChartError):
    """A template that fails to render, or whose output is not valid YAML."""


class DependencyError(ChartError):
    """A declared subchart that is missing from ``charts/`` or cannot be fetched."""


def one_line(text: str) -> str:
    """Collapse Helm's indented multi-line messages into one line: lines joined with ``"; "``."""
    parts = [line.strip() for line in text.strip().splitlines()]
    joined = ""
    for part in parts:
        if not part:
            continue
        if not joined:
            joined = part
        elif joined.endswith(":"):
            joined = f"{joined} {part}"
        else:
            joined = f"{joined}; {part}"
    return joined
