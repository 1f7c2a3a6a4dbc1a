"""Image pins: which image (repository, tag *and* digest) an environment runs for a service.

A pin is a small YAML file in the config repo, `envs/<env>/<service>/pin.yaml`, and the only thing a promotion
or a rollback changes:

    # ferry: the image envs/qa/order-service runs. Written by ferry promote / ferry rollback.
    repository: 127.0.0.1:5000/order-service
    tag: 1.4.2-a8f3d21
    digest: sha256:ab12...                    # what is deployed: image@digest, the tag is for humans
    gitSha: a8f3d21...                        # the build record: commit the image was built from
    builtAt: '2026-11-27T05:00:00Z'
    promotedFrom: sit                         # or "build" when it came straight from ferry ci
    promotedAt: '2026-11-27T05:10:00Z'
    promotedBy: alice
    rejected:                                 # digests rolled back here: not promotable without --force
    - sha256:cd34...

Writing is deterministic: keys in this fixed order, absent fields left out, the same `Pin` always gives the
same bytes. A promotion that changes nothing therefore changes no file, and git sees no commit to make.
Reading is strict and names the line (`envs/qa/order-service/pin.yaml:3: digest: must be sha256:<64 hex>`),
because a hand-edited pin is the one input that reaches a cluster without passing `ferry promote`.

Errors: `PinError(ConfigRepoError)` from `ferry.delivery.repoerrors`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import yaml

from ferry.delivery.repoerrors import PinError
from ferry.delivery.yamlnodes import Doc
from ferry.registry.oci import InvalidReference, parse_reference, valid_tag

__all__ = ["DIGEST", "Pin", "move_message", "parse_pin", "render_pin", "short_digest"]

DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_KEYS = (
    "repository",
    "tag",
    "digest",
    "gitSha",
    "builtAt",
    "promotedFrom",
    "promotedAt",
    "promotedBy",
    "rejected",
)


@dataclass(frozen=True)
class Pin:
    repository: str  # registry host + path, no tag
    tag: str
    digest: str  # sha256:<64 hex>
    git_sha: str | None = None
    built_at: str | None = None  # RFC 3339
    promoted_from: str | None = None  # an environment name, or "build"
    promoted_at: str | None = None  # RFC 3339
    promoted_by: str | None = None
    rejected: tuple[str, ...] = ()

    @property
    def image(self) -> str:
        """What a pod spec should say: `repository@digest` (immutable)."""
        return f"{self.repository}@{self.digest}"

    def reject(self, digest: str) -> Pin:
        """This pin with `digest` added to its rejected list (once)."""
        return self if digest in self.rejected else replace(self, rejected=(*self.rejected, digest))

    def __post_init__(self) -> None:
        problem = _problem(self)
        if problem:
            raise PinError(f"pin: {problem[0]}: {problem[1]}", field=problem[0])


def _problem(pin: Pin) -> tuple[str, str] | None:
    try:
        ref = parse_reference(pin.repository)
    except InvalidReference as exc:
        return "repository", str(exc)
    if ref.tag or ref.digest:
        return "repository", "must not carry a tag or digest"
    if not valid_tag(pin.tag) or pin.tag == "latest":
        return "tag", f"{pin.tag!r} is not an immutable image tag"
    if not DIGEST.fullmatch(pin.digest):
        return "digest", "must be sha256:<64 lowercase hex>"
    for d in pin.rejected:
        if not DIGEST.fullmatch(d):
            return "rejected", f"{d!r} must be sha256:<64 lowercase hex>"
    return None


def render_pin(pin: Pin, *, where: str) -> str:
    """The pin file's text; `where` (e.g. `envs/qa/order-service`) goes into the header comment."""
    values: dict[str, object] = {
        "repository": pin.repository,
        "tag": pin.tag,
        "digest": pin.digest,
        "gitSha": pin.git_sha,
        "builtAt": pin.built_at,
        "promotedFrom": pin.promoted_from,
        "promotedAt": pin.promoted_at,
        "promotedBy": pin.promoted_by,
        "rejected": list(pin.rejected) or None,
    }
    body = {k: v for k, v in values.items() if v is not None}
    text = yaml.safe_dump(body, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1000)
    return f"# ferry: the image {where} runs. Written by ferry promote / ferry rollback.\n{text}"


def parse_pin(text: str, name: str) -> Pin:
    """Parse a pin file; `name` (its path in the repo) prefixes every error."""
    doc = Doc.parse(text, name, PinError)
    if doc.root is None:
        raise PinError(f"{name}: empty pin file")
    fields = doc.mapping(doc.root, "", known=_KEYS)
    for required in ("repository", "tag", "digest"):
        if required not in fields:
            raise doc.error(doc.root, required, "is required")
    values: dict[str, str] = {}
    for key, (_, node) in fields.items():
        if key == "rejected":
            continue
        if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
            raise doc.error(node, key, "must be a non-empty string")
        values[key] = str(node.value).strip()  # timestamps and numbers stay text, as written
    rejected: list[str] = []
    if "rejected" in fields:
        for i, item in enumerate(doc.sequence(fields["rejected"][1], "rejected", "digests")):
            digest = doc.string(item, f"rejected[{i}]")
            if not DIGEST.fullmatch(digest):
                raise doc.error(item, f"rejected[{i}]", "must be sha256:<64 lowercase hex>")
            rejected.append(digest)
    try:
        return Pin(
            repository=values["repository"],
            tag=values["tag"],
            digest=values["digest"],
            git_sha=values.get("gitSha"),
            built_at=values.get("builtAt"),
            promoted_from=values.get("promotedFrom"),
            promoted_at=values.get("promotedAt"),
            promoted_by=values.get("promotedBy"),
            rejected=tuple(dict.fromkeys(rejected)),
        )
    except PinError as exc:
        key = exc.field or "digest"
        node = fields[key][1] if key in fields else doc.root
        raise doc.error(node, key, str(exc).split(": ", 2)[-1]) from None


def short_digest(digest: str) -> str:
    """`sha256:ab12cd34ef56…`: enough to recognise, short enough for a commit subject."""
    algo, _, hexpart = digest.partition(":")
    return f"{algo}:{hexpart[:12]}…"


def move_message(
    service: str, pin: Pin, *, to_env: str, from_env: str | None = None, verb: str = "promote"
) -> str:
    """A commit subject that says what moved: `promote order-service 1.4.2-a8f3d21 (sha256:ab12…) sit → qa`.

    Without `from_env` the source is the build (`build a8f3d21 → sit` when the pin names its commit).
    """
    source = from_env or (f"build {pin.git_sha[:7]}" if pin.git_sha else "build")
    return f"{verb} {service} {pin.tag} ({short_digest(pin.digest)}) {source} → {to_env}"
