"""The OCI image config: what a runtime needs to start the image, plus its history and layer list.

`ImageConfig` starts from the base image's config (or empty for `scratch` and the host base) and each Dockerfile
instruction or buildpack step changes it the way `docker build` would. `to_bytes` writes it as canonical JSON, with
`created` (and every history entry's `created`) set to the commit time of the request, never the wall clock, so
the config digest, and with it the manifest digest, depends only on the inputs.

Keys of the base config ferry does not model (for example `Healthcheck`, `OnBuild`) are kept as they are:
ferry does not run health checks itself, but another runtime pulling the image should see what the base declared.
"""

from __future__ import annotations

import copy
import platform as _platform
from dataclasses import dataclass, field
from typing import Any

from ferry.registry.oci import canonical_json

__all__ = ["ImageConfig", "default_platform"]

_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "armv7l": "arm"}


def default_platform() -> str:
    """`linux/<arch>` of this machine: what pip and npm install native code for."""
    machine = _platform.machine().lower()
    return f"linux/{_ARCH.get(machine, machine)}"


@dataclass
class ImageConfig:
    """A mutable image config under construction."""

    architecture: str = "amd64"
    os: str = "linux"
    variant: str | None = None
    env: list[str] = field(default_factory=list)
    entrypoint: list[str] | None = None
    cmd: list[str] | None = None
    working_dir: str = ""
    user: str = ""
    exposed_ports: dict[str, dict[str, Any]] = field(default_factory=dict)
    volumes: dict[str, dict[str, Any]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    stop_signal: str = ""
    diff_ids: list[str] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    extra_config: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def for_platform(cls, platform: str) -> ImageConfig:
        parts = platform.split("/")
        return cls(
            os=parts[0],
            architecture=parts[1] if len(parts) > 1 else "amd64",
            variant=parts[2] if len(parts) > 2 else None,
        )

    @classmethod
    def from_base(cls, doc: dict[str, Any]) -> ImageConfig:
        """The config of a pulled base image, as the start of ours."""
        conf = dict(doc.get("config") or {})
        out = cls(
            architecture=str(doc.get("architecture") or "amd64"),
            os=str(doc.get("os") or "linux"),
            variant=doc.get("variant"),
            env=list(conf.pop("Env", None) or []),
            entrypoint=conf.pop("Entrypoint", None),
            cmd=conf.pop("Cmd", None),
            working_dir=str(conf.pop("WorkingDir", "") or ""),
            user=str(conf.pop("User", "") or ""),
            exposed_ports=dict(conf.pop("ExposedPorts", None) or {}),
            volumes=dict(conf.pop("Volumes", None) or {}),
            labels=dict(conf.pop("Labels", None) or {}),
            stop_signal=str(conf.pop("StopSignal", "") or ""),
            diff_ids=list((doc.get("rootfs") or {}).get("diff_ids") or []),
            history=copy.deepcopy(list(doc.get("history") or [])),
            extra_config=conf,
        )
        return out

    def env_dict(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for item in self.env:
            key, _, value = item.partition("=")
            out[key] = value
        return out

    def set_env(self, key: str, value: str) -> None:
        """Set `key`, replacing it in place if present (as Docker does), else appending."""
        for n, item in enumerate(self.env):
            if item.partition("=")[0] == key:
                self.env[n] = f"{key}={value}"
                return
        self.env.append(f"{key}={value}")

    def add_history(self, created_by: str, *, created: str, empty_layer: bool) -> None:
        entry: dict[str, Any] = {"created": created, "created_by": created_by, "comment": "ferry"}
        if empty_layer:
            entry["empty_layer"] = True
        self.history.append(entry)

    def to_json(self, *, created: str) -> dict[str, Any]:
        conf: dict[str, Any] = dict(self.extra_config)
        if self.env:
            conf["Env"] = list(self.env)
        if self.entrypoint is not None:
            conf["Entrypoint"] = list(self.entrypoint)
        if self.cmd is not None:
            conf["Cmd"] = list(self.cmd)
        if self.working_dir:
            conf["WorkingDir"] = self.working_dir
        if self.user:
            conf["User"] = self.user
        if self.exposed_ports:
            conf["ExposedPorts"] = {k: {} for k in sorted(self.exposed_ports)}
        if self.volumes:
            conf["Volumes"] = {k: {} for k in sorted(self.volumes)}
        if self.labels:
            conf["Labels"] = dict(self.labels)
        if self.stop_signal:
            conf["StopSignal"] = self.stop_signal
        doc: dict[str, Any] = {
            "architecture": self.architecture,
            "os": self.os,
            "created": created,
            "config": conf,
            "rootfs": {"type": "layers", "diff_ids": list(self.diff_ids)},
            "history": self.history,
        }
        if self.variant:
            doc["variant"] = self.variant
        return doc

    def to_bytes(self, *, created: str) -> bytes:
        """The config blob: canonical JSON."""
        return canonical_json(self.to_json(created=created))
