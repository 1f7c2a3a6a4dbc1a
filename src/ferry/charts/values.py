"""Values layers, merged the way Helm merges ``-f`` files and ``--set`` strings.

A render's values are a stack of layers, later wins:

    chart defaults (values.yaml)  →  environment values files  →  --set strings  →  the image pin

Everything above the chart defaults is merged here with Helm's own client-side rule (``mergeMaps`` in
helm/pkg/cli/values): maps merge key by key, recursively; any other value (a list, a scalar, ``null``) replaces
what was there. The result is then *coalesced* with the chart defaults by the engine (`engine.merge_values`),
where a ``null`` deletes the default key: so ``env: {LOG_LEVEL: null}`` in an environment file removes a default
variable, as with ``helm upgrade -f``. One difference from the helm CLI: each ``--set`` string is parsed on its
own by Helm's parser and then merged as a layer, so a list index (``--set ports[1]=8080``) replaces the whole
list instead of patching one element of a list set by an earlier layer.

A layer may carry a name (`ValuesLayer.source`: the values file's path, ``--set 'k=v'``, ``image pin``) so a
schema error can say which layer set the offending key. Plain mappings are accepted too ("values layer N").
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from ferry.charts import engine
from ferry.charts.errors import ValuesError
from ferry.charts.manifests import YamlLoader

__all__ = ["ValuesLayer", "image_values", "merge_layers", "set_layers", "source_of", "values_file"]

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


class ValuesLayer(dict[str, Any]):
    """A mapping of values that remembers where it came from (for error messages)."""

    def __init__(self, values: Mapping[str, Any], *, source: str) -> None:
        super().__init__(values)
        self.source = source


def values_file(path: Path) -> ValuesLayer:
    """Read one values file (``-f``). An empty file is ``{}``; anything but a mapping is refused."""
    try:
        text = path.read_text()
    except OSError as err:
        raise ValuesError(f"{path}: cannot read values file: {err.strerror or err}")
    try:
        data = yaml.load(text, Loader=YamlLoader)  # a SafeLoader that keeps timestamps as strings
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(err, "problem", None) or str(err)
        raise ValuesError(f"{where}: not valid YAML: {problem}")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValuesError(f"{path}: a values file must be a mapping, not {type(data).__name__}")
    return ValuesLayer(data, source=str(path))


def set_layers(expressions: Sequence[str]) -> list[ValuesLayer]:
    """Each ``--set`` string parsed by Helm's strvals parser, as a layer of its own."""
    return [ValuesLayer(engine.parse_set(e), source=f"--set {e!r}") for e in expressions]


def image_values(repository: str, tag: str, digest: str | None = None) -> ValuesLayer:
    """The image pin layer the example charts consume: ``{"image": {"repository", "tag", "digest"}}``.

    A chart renders ``repository@digest`` when the digest is set, else ``repository:tag``; the tag is kept
    either way so labels and humans can read the version. An empty digest is written as ``""`` on purpose:
    the pin replaces any digest a lower layer carried.
    """
    if not repository or any(c in repository for c in " @") or repository.rsplit("/", 1)[-1].count(":"):
        raise ValuesError(f"image repository {repository!r} must be a name without a tag or digest")
    if not _TAG.match(tag):
        raise ValuesError(f"image tag {tag!r} must be 1-128 characters of letters, digits, '_', '.', '-'")
    if digest and not _DIGEST.match(digest):
        raise ValuesError(f"image digest {digest!r} must look like sha256:<64 hex digits>")
    return ValuesLayer(
        {"image": {"repository": repository, "tag": tag, "digest": digest or ""}}, source="image pin"
    )


def merge_layers(layers: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Helm's ``mergeMaps`` over the layers, later wins; the inputs are never mutated."""
    out: dict[str, Any] = {}
    for i, layer in enumerate(layers):
        if not isinstance(layer, Mapping):
            raise ValuesError(f"{_name(layer, i)} must be a mapping, not {type(layer).__name__}")
        out = _merge(out, layer)
    return out


def _merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        below = out.get(key)
        if isinstance(value, Mapping) and isinstance(below, Mapping):
            out[key] = _merge(below, value)
        else:
            out[key] = copy.deepcopy(value) if isinstance(value, dict | list) else value
    return out


def source_of(path: Sequence[str], layers: Sequence[Mapping[str, Any]]) -> str:
    """The last layer that sets *path* (or one of its parents), else the chart defaults."""
    for i in range(len(layers) - 1, -1, -1):
        if _sets(layers[i], path):
            return _name(layers[i], i)
    return "chart defaults"


def _sets(layer: Any, path: Sequence[str]) -> bool:
    node = layer
    for key in path:
        if isinstance(node, Mapping):
            if key not in node:
                return False
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return True  # a scalar or null set above replaces everything below it
    return True


def _name(layer: Any, index: int) -> str:
    source = getattr(layer, "source", None)
    return source if isinstance(source, str) else f"values layer {index + 1}"
