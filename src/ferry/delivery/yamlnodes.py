"""Reading a YAML document as a node graph, so that every error can name the line it is about.

`ferry.yaml` and the config repo's pin files are *composed* (PyYAML's node graph), not loaded: a node keeps
its position, so a check can say `ferry.yaml:12: environments[1].sync: must be auto or manual`. Composing
also lets us refuse duplicate keys, which `yaml.safe_load` silently resolves to the last one.

This is the approach `ferry.build.project` takes for the `services:` part; the helpers here are the same
ideas made reusable (a `Doc` names its file and builds the errors), so that the delivery side does not reach
into the build side's private functions.

Types come from YAML 1.1's implicit resolvers: `true`/`yes` are booleans, `30` an int; a quoted `"30"` is a
string. A check asks for the type it wants and names the field when it gets something else.

Errors: `YamlError(Exception)`, one line `file:line: field: problem`; callers subclass or wrap it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import yaml

__all__ = ["Doc", "Fields", "YamlError"]

_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_NULL = "tag:yaml.org,2002:null"

Fields = dict[str, tuple[yaml.Node, yaml.Node]]  # key -> (key node, value node), in document order


class YamlError(Exception):
    """A YAML document is malformed or fails a check; the message is `file:line: field: problem`."""


@dataclass(frozen=True)
class Doc:
    """A composed document and the name its errors use (`ferry.yaml`, `envs/qa/order-service/pin.yaml`)."""

    name: str
    root: yaml.Node | None
    error_type: Callable[[str], Exception] = YamlError

    @classmethod
    def parse(cls, text: str, name: str, error_type: Callable[[str], Exception] = YamlError) -> Doc:
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f"{mark.line + 1}:" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise error_type(f"{name}:{line} not valid YAML: {problem}") from None
        if node is not None and is_null(node):
            node = None
        return cls(name, node, error_type)

    # --- errors ------------------------------------------------------------------------------------------

    def error(self, node: yaml.Node, where: str, problem: str) -> Exception:
        return self.error_type(f"{self.name}:{line_of(node)}: {where}: {problem}")

    # --- typed access ------------------------------------------------------------------------------------

    def mapping(self, node: yaml.Node, where: str, *, known: Iterable[str] | None = None) -> Fields:
        """The node's keys in order; unknown keys (when `known` is given) fail with a did-you-mean hint.

        `where` is the mapping's field path; "" is the document's top level.
        """
        label = where or "(top level)"
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, label, "must be a mapping")
        out: Fields = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.tag != "tag:yaml.org,2002:str":
                raise self.error(key, label, "keys must be strings")
            if key.value in out:
                first = line_of(out[key.value][0])
                raise self.error(key, label, f"duplicate key {key.value!r} (first at line {first})")
            out[key.value] = (key, value)
        if known is not None:
            allowed = tuple(known)
            for name, (key, _) in out.items():
                if name not in allowed:
                    close = difflib.get_close_matches(name, allowed, n=1)
                    hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(allowed)}"
                    raise self.error(key, f"{where}.{name}" if where else name, f"unknown key ({hint})")
        return out

    def sequence(self, node: yaml.Node, where: str, what: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, where, f"must be a list of {what}")
        return list(node.value)

    def string(self, node: yaml.Node, where: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:str" or not node.value:
            raise self.error(node, where, "must be a non-empty string")
        return str(node.value)

    def boolean(self, node: yaml.Node, where: str) -> bool:
        if not isinstance(node, yaml.ScalarNode) or node.tag != _BOOL:
            raise self.error(node, where, "must be true or false")
        return str(node.value).lower() in ("true", "yes", "on", "y")

    def seconds(self, node: yaml.Node, where: str) -> float:
        """A non-negative number of seconds (int or float)."""
        if isinstance(node, yaml.ScalarNode) and node.tag in (_INT, _FLOAT):
            try:
                value = float(str(node.value).replace("_", ""))
            except ValueError:
                value = -1.0
            if value >= 0 and value != float("inf"):
                return value
        raise self.error(node, where, "must be a number of seconds, 0 or more")


def line_of(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL
