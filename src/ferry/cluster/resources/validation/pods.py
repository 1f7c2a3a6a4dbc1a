"""Validation of PodSpec and everything in it, as ``pkg/apis/core/validation`` (v1.32) does it.

Used for ``v1/Pod`` and ``v1/PodTemplate`` here, and by :mod:`.workloads` for every
``spec.template``. Paths, detail strings and the order of checks follow kube-apiserver, because
kubectl prints the 422 message verbatim (``spec.containers[0].image: Required value``) and a
multi-error message lists causes in that order.

This module holds the two validators and :data:`VALIDATORS`; the checks live in:

* :mod:`.podspec`: PodSpec, PodTemplateSpec, tolerations, DNS config and the Pod update rules;
* :mod:`.containers`: containers, init containers, ports, resources, securityContext;
* :mod:`.env`: env, envFrom and the downward API selectors;
* :mod:`.probes`: probes and lifecycle handlers;
* :mod:`.volumes`: volumes, their sources and the containers' volume mounts;
* :mod:`.podcommon`: small checks the others share (ports, names, non-negative numbers).

Their public names that were defined here before the split are re-exported, so
``from ferry.cluster.resources.validation.pods import ...`` keeps working.

Design:

* Input is the *defaulted* object: restartPolicy, dnsPolicy, imagePullPolicy, probe thresholds
  are present unless the client sent something odd, and the checks for "empty" mirror Go's
  zero-value tests (``len(x) == 0``, ``x == nil``).
* JSON is untrusted: typed reads go through :mod:`.jsonread`, so a wrong type becomes one
  ``FieldValueTypeInvalid`` error and the rest of the check proceeds as if the field were absent.
* Go iterates maps in random order; maps here are visited in sorted key order.
* Scope: containers (ports, env, envFrom, mounts, probes, lifecycle, resources, a subset of the
  securityContext), volumes (exactly one source, the common sources' required fields), restart
  and DNS policies, tolerations, DNS config, names and the Pod update rules. Affinity terms,
  topology spread constraints, Windows/Linux OS rules, sysctls, resource claims, pod-specific
  annotations and most securityContext fields are accepted without deep validation.
"""

from __future__ import annotations

from ferry.cluster.apiserver.errors import FieldError, forbidden
from ferry.cluster.resources.types import Obj
from ferry.cluster.resources.validation.containers import validate_containers, validate_resource_requirements
from ferry.cluster.resources.validation.env import validate_env, validate_env_from
from ferry.cluster.resources.validation.podcommon import (
    MAX_INT32,
    is_valid_port_name,
    nonnegative,
    port_num_or_name,
)
from ferry.cluster.resources.validation.podspec import (
    UPDATABLE_POD_FIELDS,
    image_whitespace_errors,
    validate_pod_spec,
    validate_pod_template_spec,
    validate_pod_update,
    validate_tolerations,
)
from ferry.cluster.resources.validation.probes import validate_lifecycle, validate_probe
from ferry.cluster.resources.validation.volumes import (
    FILE_MODE_MSG,
    local_descending_path,
    local_non_reserved_path,
    validate_volumes,
)


def validate_pod(obj: Obj, old: Obj | None) -> list[FieldError]:
    """Validator for ``v1/Pod`` (metadata is validated by the generic server)."""
    spec = obj.get("spec")
    errs = validate_pod_spec(spec if spec is not None else {}, "spec", is_pod=True)
    if not isinstance(spec, dict):
        return errs
    errs.extend(image_whitespace_errors(spec))
    if old is None:
        if spec.get("ephemeralContainers"):
            errs.append(forbidden("spec.ephemeralContainers", "cannot be set on create"))
        if spec.get("nodeName") and spec.get("schedulingGates"):
            detail = "cannot be set until all schedulingGates have been cleared"
            errs.append(forbidden("spec.nodeName", detail))
        return errs
    old_spec = old.get("spec")
    if isinstance(old_spec, dict):
        errs.extend(validate_pod_update(spec, old_spec))
    return errs


def validate_pod_template(obj: Obj, old: Obj | None) -> list[FieldError]:
    """Validator for ``v1/PodTemplate`` (its PodTemplateSpec sits at ``template``)."""
    return validate_pod_template_spec(obj.get("template"), "template")


VALIDATORS = {
    ("", "Pod"): validate_pod,
    ("", "PodTemplate"): validate_pod_template,
}


__all__ = [
    "FILE_MODE_MSG",
    "MAX_INT32",
    "UPDATABLE_POD_FIELDS",
    "VALIDATORS",
    "is_valid_port_name",
    "local_descending_path",
    "local_non_reserved_path",
    "nonnegative",
    "port_num_or_name",
    "validate_containers",
    "validate_env",
    "validate_env_from",
    "validate_lifecycle",
    "validate_pod",
    "validate_pod_spec",
    "validate_pod_template",
    "validate_pod_template_spec",
    "validate_probe",
    "validate_resource_requirements",
    "validate_tolerations",
    "validate_volumes",
]
