"""`ferry ci`: the services a commit range affects → tests → build → tag `<version>-<sha7>` → push → record.

Modules, in the order a run uses them:

- `plan`: what this run will do (repository, ferry.yaml, commit range, services); usage errors end here.
- `git`: the git facts (HEAD, commit time, remote, dirty files, changed files).
- `affected`: which services a range touches, and why.
- `testing`: running a test command and reading its summary.
- `pipeline`: test → build → push for each service, with the builder and registry client as seams.
- `records`: the JSON build records and the last-success marker under `.ferry/ci/`.
- `progress`: what the user sees (rich on a terminal, plain lines otherwise).
"""

from __future__ import annotations

from ferry.build.ci.affected import Affected, affected_services
from ferry.build.ci.pipeline import PipelineOptions, RegistryDown, exit_code, make_tag, run_pipeline
from ferry.build.ci.plan import CiConfigError, Plan, make_plan
from ferry.build.ci.records import BuildRecord, read_last_success, write_last_success

__all__ = [
    "Affected",
    "BuildRecord",
    "CiConfigError",
    "PipelineOptions",
    "Plan",
    "RegistryDown",
    "affected_services",
    "exit_code",
    "make_plan",
    "make_tag",
    "read_last_success",
    "run_pipeline",
    "write_last_success",
]
