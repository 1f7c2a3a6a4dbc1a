"""Daemonless, reproducible OCI image builds, and `ferry ci` (in `ferry.build.ci`).

The builder's public face is small: `BuildRequest` in, `build_image` out, `BuiltImage` to write with
`write_oci_layout` or to push with `ferry.registry.client.RegistryClient.push_image`, `BuildError` for
everything the user can fix. The modules behind it, by step:

    dockerfile    -> lines into instructions            instructions -> what each instruction does
    shellwords    -> quoting and $VAR substitution      context      -> COPY sources into layer entries
    bases         -> scratch / host / registry base     buildpacks/  -> Python and Node.js without a Dockerfile
    ignore        -> .dockerignore rules                layers       -> reproducible tar+gzip
    cache         -> dependency layers on disk          config       -> the OCI image config
    sbom          -> CycloneDX artifact                 layout       -> OCI image layout on disk
    builder       -> build_image, tying it together
"""

from __future__ import annotations

from ferry.build.builder import build_image
from ferry.build.errors import BuildError
from ferry.build.layout import write_oci_layout
from ferry.build.model import BlobSource, BuildRequest, BuiltImage

__all__ = ["BlobSource", "BuildError", "BuildRequest", "BuiltImage", "build_image", "write_oci_layout"]
