"""Validation of the pod-template workloads, as ``pkg/apis/{apps,batch}/validation`` (v1.32).

Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob and ControllerRevision. The pod
template inside each is checked by :func:`.pods.validate_pod_template_spec`; this module adds
what the owning kind requires (selector vs. template labels, restartPolicy, update strategies)
and the update rules that need the stored object (``old``): immutable selectors, the Job's
immutable template, the StatefulSet's short list of mutable fields, ControllerRevision data.

Selector semantics follow ``metav1.LabelSelectorAsSelector``: a missing selector selects
nothing (so kube reports *both* ``spec.selector: Required value`` and the template-labels
mismatch), ``{}`` selects everything, and a selector that fails validation cannot be
evaluated, so the template is then not checked against it ("invalid label selector").

Go prints struct values in some of these messages (``v1.LabelSelector{MatchLabels:...}``,
``intstr.IntOrString{...}``); :mod:`.common` renders those Go spellings so the 422 text
matches a real cluster's. Values whose Go rendering would be a whole internal struct (a pod
template) are shown as JSON instead.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ferry.cluster.apiserver.errors import FieldError, forbidden, invalid_value, not_supported, required
from ferry.cluster.resources.types import Obj, Validator
from ferry.cluster.resources.validation import common as c
from ferry.cluster.resources.validation.jsonread import Errs, child, dict_at, dicts, int_at, str_at
from ferry.cluster.resources.validation.pods import nonnegative, validate_pod_template_spec

STS_MUTABLE = (
    "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', "
    "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
)
STS_MUTABLE_FIELDS = frozenset(
    (
        "replicas",
        "ordinals",
        "template",
        "updateStrategy",
        "persistentVolumeClaimRetentionPolicy",
        "minReadySeconds",
    )
)
JOB_LABELS = (
    "controller-uid",
    "job-name",
    "batch.kubernetes.io/controller-uid",
    "batch.kubernetes.io/job-name",
)
_PERCENT_MSG = c.regex_error(
    "a valid percent string must be a numeric string followed by an ending '%'", "[0-9]+%", "1%", "93%"
)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _meta(obj: Obj) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _spec(obj: Obj, errs: Errs) -> dict[str, Any]:
    return dict_at(obj, "spec", "", errs)


def _normalized(value: Any) -> Any:
    """Semantic equality: nil and empty maps/lists are equal (``apiequality.Semantic``)."""
    if isinstance(value, dict):
        return {k: _normalized(v) for k, v in value.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_normalized(v) for v in value]
    return value


def _immutable(new: Any, old: Any, path: str, shown: Any = None) -> list[FieldError]:
    if _normalized(new) == _normalized(old):
        return []
    if isinstance(shown, str):
        return [c.invalid_go(path, shown, c.IMMUTABLE)]
    return [invalid_value(path, new, c.IMMUTABLE)]


# ---- selectors and templates -----------------------------------------------------------------


def _selector(spec: dict[str, Any], errs: Errs, *, word: str | None, require: bool = True) -> str:
    """Validate ``spec.selector``; return its state: ``nothing``, ``everything``, ``ok`` or ``bad``."""
    sel = spec.get("selector")
    if sel is None:
        if require:
            errs.append(required("spec.selector"))
        return "nothing"
    sel_errs = c.validate_label_selector(sel, "spec.selector")
    errs.extend(sel_errs)
    body = sel if isinstance(sel, dict) else {}
    empty = not body.get("matchLabels") and not body.get("matchExpressions")
    if empty and word:
        errs.append(
            c.invalid_go("spec.selector", c.go_label_selector(sel), f"empty selector is invalid for {word}")
        )
    if sel_errs:
        return "bad"
    return "everything" if empty else "ok"


def _template_labels(template: Any) -> dict[str, str]:
    meta = template.get("metadata") if isinstance(template, dict) else None
    labels = meta.get("labels") if isinstance(meta, dict) else None
    if not isinstance(labels, dict):
        return {}
    return {str(k): v for k, v in labels.items() if isinstance(v, str)}


def _raw_template_labels(template: Any) -> Any:
    meta = template.get("metadata") if isinstance(template, dict) else None
    return meta.get("labels") if isinstance(meta, dict) else None


def _match_template(spec: dict[str, Any], state: str, path: str) -> list[FieldError]:
    template = spec.get("template")
    if state == "everything" or (
        state == "ok" and c.selector_matches(spec.get("selector"), _template_labels(template))
    ):
        return []
    labels = c.go_string_map(_raw_template_labels(template))
    return [c.invalid_go(path, labels, "`selector` does not match template `labels`")]


def _always_template(spec: dict[str, Any], kind: str) -> list[FieldError]:
    """restartPolicy Always and no activeDeadlineSeconds: templates of long-running controllers."""
    pod_spec = dict_at(dict_at(spec, "template", "spec", []), "spec", "spec.template", [])
    errs: Errs = []
    restart = pod_spec.get("restartPolicy", "")
    if restart != "Always":
        errs.append(not_supported("spec.template.spec.restartPolicy", restart, ["Always"]))
    if pod_spec.get("activeDeadlineSeconds") is not None:
        detail = f"activeDeadlineSeconds in {kind} is not Supported"
        errs.append(forbidden("spec.template.spec.activeDeadlineSeconds", detail))
    return errs


def _replica_set_template(spec: dict[str, Any], state: str) -> list[FieldError]:
    """``ValidatePodTemplateSpecForReplicaSet`` (used by Deployment and ReplicaSet)."""
    if state == "bad":
        detail = "invalid label selector"
        return [c.invalid_go("spec.selector", c.go_label_selector(spec.get("selector")), detail)]
    errs = _match_template(spec, state, "spec.template.metadata.labels")
    template = spec.get("template")
    errs.extend(validate_pod_template_spec(template if template is not None else {}, "spec.template"))
    return errs + _always_template(spec, "ReplicaSet")


# ---- int-or-percent ------------------------------------------------------------------------------


def _int_or_percent(value: Any, path: str) -> list[FieldError]:
    """``ValidatePositiveIntOrPercent`` and ``IsNotMoreThan100Percent``."""
    if isinstance(value, str):
        if not re.fullmatch(r"[0-9]+%", value):
            return [c.invalid_go(path, c.go_int_or_string(value), _PERCENT_MSG)]
        if int(value[:-1]) > 100:
            return [c.invalid_go(path, c.go_int_or_string(value), "must not be greater than 100%")]
        return []
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return nonnegative(value, path)
    return [c.wrong_type(path, value, "integer or string")]


def int_or_percent_value(value: Any) -> int:
    """``getIntOrPercentValue``: ``"25%"`` → 25, ``"7"`` → 7, junk → 0."""
    if isinstance(value, str):
        text = value[:-1] if re.fullmatch(r"[0-9]+%", value) else value
        return int(text) if re.fullmatch(r"[+-]?[0-9]+", text) else 0
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# ---- Deployment / ReplicaSet --------------------------------------------------------------------


def _deployment_strategy(spec: dict[str, Any], errs: Errs) -> None:
    strategy = dict_at(spec, "strategy", "spec", errs)
    stype = strategy.get("type", "")
    path = "spec.strategy"
    if stype == "Recreate":
        if strategy.get("rollingUpdate") is not None:
            detail = "may not be specified when strategy `type` is 'Recreate'"
            errs.append(forbidden(child(path, "rollingUpdate"), detail))
    elif stype == "RollingUpdate":
        rolling = strategy.get("rollingUpdate")
        rpath = child(path, "rollingUpdate")
        if rolling is None:
            errs.append(required(rpath, "this should be defaulted and never be nil"))
            return
        rolling = dict_at(strategy, "rollingUpdate", path, errs)
        unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
        errs.extend(_int_or_percent(unavailable, child(rpath, "maxUnavailable")))
        errs.extend(_int_or_percent(surge, child(rpath, "maxSurge")))
        if int_or_percent_value(unavailable) == 0 and int_or_percent_value(surge) == 0:
            detail = "may not be 0 when `maxSurge` is 0"
            errs.append(c.invalid_go(child(rpath, "maxUnavailable"), c.go_int_or_string(unavailable), detail))
    else:
        shown = f"apps.DeploymentStrategy{{Type:{c.go_string(str(stype))}, RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}}"
        errs.append(c.not_supported_go(path, shown, ["Recreate", "RollingUpdate"]))


def validate_deployment(obj: Obj, old: Obj | None) -> list[FieldError]:
    errs: Errs = []
    spec = _spec(obj, errs)
    errs.extend(nonnegative(int_at(spec, "replicas", "spec", errs), "spec.replicas"))
    state = _selector(spec, errs, word="deployment")
    errs.extend(_replica_set_template(spec, state))
    _deployment_strategy(spec, errs)
    min_ready = int_at(spec, "minReadySeconds", "spec", errs)
    errs.extend(nonnegative(min_ready, "spec.minReadySeconds"))
    errs.extend(nonnegative(int_at(spec, "revisionHistoryLimit", "spec", errs), "spec.revisionHistoryLimit"))
    deadline = int_at(spec, "progressDeadlineSeconds", "spec", errs)
    if deadline is not None:
        errs.extend(nonnegative(deadline, "spec.progressDeadlineSeconds"))
        if deadline <= (min_ready or 0):
            errs.append(
                invalid_value(
                    "spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds"
                )
            )
    if old is not None:
        errs.extend(_selector_immutable(spec, old))
    return errs


def _selector_immutable(spec: dict[str, Any], old: Obj) -> list[FieldError]:
    old_spec = old.get("spec") if isinstance(old.get("spec"), dict) else {}
    assert isinstance(old_spec, dict)
    new_sel, old_sel = spec.get("selector"), old_spec.get("selector")
    if (new_sel is None) != (old_sel is None):
        return [c.invalid_go("spec.selector", c.go_label_selector(new_sel), c.IMMUTABLE)]
    return _immutable(new_sel, old_sel, "spec.selector", c.go_label_selector(new_sel))


def validate_replica_set(obj: Obj, old: Obj | None) -> list[FieldError]:
    errs: Errs = []
    spec = _spec(obj, errs)
    errs.extend(nonnegative(int_at(spec, "replicas", "spec", errs), "spec.replicas"))
    errs.extend(nonnegative(int_at(spec, "minReadySeconds", "spec", errs), "spec.minReadySeconds"))
    state = _selector(spec, errs, word="deployment")
    errs.extend(_replica_set_template(spec, state))
    if old is not None:
        errs.extend(_selector_immutable(spec, old))
    return errs


# ---- StatefulSet ----------------------------------------------------------------------------------


def _sts_template_for_validation(spec: dict[str, Any]) -> dict[str, Any]:
    """The controller overwrites hostname/subdomain and adds one volume per claim template."""
    raw = spec.get("template")
    template: dict[str, Any] = json.loads(json.dumps(raw)) if isinstance(raw, dict) else {}
    pod_spec = template.get("spec") if isinstance(template.get("spec"), dict) else None
    if pod_spec is None:
        return template
    pod_spec.pop("hostname", None)
    pod_spec.pop("subdomain", None)
    claims = dicts(spec.get("volumeClaimTemplates"))
    names = [
        str((t.get("metadata") or {}).get("name", "")) for t in claims if isinstance(t.get("metadata"), dict)
    ]
    if names:
        volumes = [{"name": n, "persistentVolumeClaim": {"claimName": n}} for n in dict.fromkeys(names)]
        existing = [
            v for v in _list(pod_spec.get("volumes")) if not (isinstance(v, dict) and v.get("name") in names)
        ]
        pod_spec["volumes"] = volumes + existing
    return template


def validate_stateful_set(obj: Obj, old: Obj | None) -> list[FieldError]:
    errs: Errs = []
    spec = _spec(obj, errs)
    policy = str_at(spec, "podManagementPolicy", "spec", errs)
    if not policy:
        errs.append(required("spec.podManagementPolicy"))
    elif policy not in ("OrderedReady", "Parallel"):
        errs.append(invalid_value("spec.podManagementPolicy", policy, "must be 'OrderedReady' or 'Parallel'"))
    strategy = dict_at(spec, "updateStrategy", "spec", errs)
    stype = strategy.get("type", "")
    if not stype:
        errs.append(required("spec.updateStrategy"))
    elif stype == "OnDelete" and strategy.get("rollingUpdate") is not None:
        detail = "only allowed for updateStrategy 'RollingUpdate'"
        errs.append(invalid_value("spec.updateStrategy.rollingUpdate", strategy["rollingUpdate"], detail))
    elif stype == "RollingUpdate" and strategy.get("rollingUpdate") is not None:
        rolling = dict_at(strategy, "rollingUpdate", "spec.updateStrategy", errs)
        partition = int_at(rolling, "partition", "spec.updateStrategy.rollingUpdate", errs)
        errs.extend(nonnegative(partition, "spec.updateStrategy.rollingUpdate.partition"))
    elif stype not in ("OnDelete", "RollingUpdate"):
        errs.append(invalid_value("spec.updateStrategy", strategy, "must be 'RollingUpdate' or 'OnDelete'"))
    retention = dict_at(spec, "persistentVolumeClaimRetentionPolicy", "spec", errs)
    if spec.get("persistentVolumeClaimRetentionPolicy") is not None:
        for name in ("whenDeleted", "whenScaled"):
            value = retention.get(name, "")
            if value not in ("Retain", "Delete"):
                rpath = f"spec.persistentVolumeClaimRetentionPolicy.{name}"
                errs.append(not_supported(rpath, value, ["Retain", "Delete"]))
    errs.extend(nonnegative(int_at(spec, "replicas", "spec", errs), "spec.replicas"))
    errs.extend(nonnegative(int_at(spec, "minReadySeconds", "spec", errs), "spec.minReadySeconds"))
    ordinals = dict_at(spec, "ordinals", "spec", errs)
    errs.extend(nonnegative(int_at(ordinals, "start", "spec.ordinals", errs), "spec.ordinals.start"))
    state = _selector(spec, errs, word="statefulset")
    if state == "bad":
        errs.append(c.invalid_go("spec.selector", c.go_label_selector(spec.get("selector")), ""))
    else:
        errs.extend(_match_template(spec, state, "spec.template.metadata.labels"))
        template = _sts_template_for_validation(spec)
        errs.extend(validate_pod_template_spec(template, "spec.template"))
        meta = template.get("metadata") if isinstance(template.get("metadata"), dict) else {}
        assert isinstance(meta, dict)
        errs.extend(c.validate_labels(meta.get("labels"), "spec.template.labels"))
        errs.extend(c.validate_annotations(meta.get("annotations"), "spec.template.annotations"))
    errs.extend(_always_template(spec, "StatefulSet"))
    if old is not None:
        old_spec = old.get("spec") if isinstance(old.get("spec"), dict) else {}
        assert isinstance(old_spec, dict)
        mutable = STS_MUTABLE_FIELDS
        strip_new = {k: v for k, v in spec.items() if k not in mutable}
        strip_old = {k: v for k, v in old_spec.items() if k not in mutable}
        if _normalized(strip_new) != _normalized(strip_old):
            errs.append(forbidden("spec", STS_MUTABLE))
    return errs


# ---- DaemonSet ------------------------------------------------------------------------------------


def validate_daemon_set(obj: Obj, old: Obj | None) -> list[FieldError]:
    errs: Errs = []
    spec = _spec(obj, errs)
    if old is not None:  # ValidateDaemonSetSpecUpdate runs before the spec checks
        errs.extend(_selector_immutable(spec, old))
    state = _selector(spec, errs, word=None, require=False)
    if state != "bad":
        errs.extend(_match_template(spec, state, "spec.template.metadata.labels"))
    sel = spec.get("selector")
    if isinstance(sel, dict) and not sel.get("matchLabels") and not sel.get("matchExpressions"):
        errs.append(
            c.invalid_go("spec.selector", c.go_label_selector(sel), "empty selector is invalid for daemonset")
        )
    template = spec.get("template")
    errs.extend(validate_pod_template_spec(template if template is not None else {}, "spec.template"))
    errs.extend(_always_template(spec, "DaemonSet"))
    errs.extend(nonnegative(int_at(spec, "minReadySeconds", "spec", errs), "spec.minReadySeconds"))
    strategy = dict_at(spec, "updateStrategy", "spec", errs)
    stype = strategy.get("type", "")
    path = "spec.updateStrategy"
    if stype == "RollingUpdate":
        if strategy.get("rollingUpdate") is None:
            errs.append(required(child(path, "rollingUpdate")))
        else:
            rolling = dict_at(strategy, "rollingUpdate", path, errs)
            rpath = child(path, "rollingUpdate")
            unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
            errs.extend(_int_or_percent(unavailable, child(rpath, "maxUnavailable")))
            errs.extend(_int_or_percent(surge, child(rpath, "maxSurge")))
            has_unavailable = int_or_percent_value(unavailable) != 0
            has_surge = int_or_percent_value(surge) != 0
            if has_unavailable and has_surge:
                detail = "may not be set when maxUnavailable is non-zero"
                errs.append(c.invalid_go(child(rpath, "maxSurge"), c.go_int_or_string(surge), detail))
            elif not has_unavailable and not has_surge:
                errs.append(required(child(rpath, "maxUnavailable"), "cannot be 0 when maxSurge is 0"))
    elif stype != "OnDelete":
        shown = (
            f"apps.DaemonSetUpdateStrategy{{Type:{c.go_string(str(stype))}, "
            "RollingUpdate:(*apps.RollingUpdateDaemonSet)(nil)}"
        )
        errs.append(c.not_supported_go(path, shown, ["RollingUpdate", "OnDelete"]))
    errs.extend(nonnegative(int_at(spec, "revisionHistoryLimit", "spec", errs), "spec.revisionHistoryLimit"))
    return errs


# ---- Job / CronJob --------------------------------------------------------------------------------


def _job_spec(spec: dict[str, Any], path: str, errs: Errs) -> None:
    """``validateJobSpec``: counts, completion mode, replacement policy, template, restartPolicy."""
    for name in (
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "ttlSecondsAfterFinished",
    ):
        errs.extend(nonnegative(int_at(spec, name, path, errs), child(path, name)))
    per_index = int_at(spec, "backoffLimitPerIndex", path, errs)
    max_failed = int_at(spec, "maxFailedIndexes", path, errs)
    errs.extend(nonnegative(per_index, child(path, "backoffLimitPerIndex")))
    errs.extend(nonnegative(max_failed, child(path, "maxFailedIndexes")))
    if max_failed is not None and per_index is None:
        errs.append(required(child(path, "backoffLimitPerIndex"), "when maxFailedIndexes is specified"))
    mode = spec.get("completionMode")
    if mode is not None and mode not in ("NonIndexed", "Indexed"):
        errs.append(not_supported(child(path, "completionMode"), mode, ["NonIndexed", "Indexed"]))
    completions, parallelism = spec.get("completions"), spec.get("parallelism")
    if mode == "Indexed":
        if completions is None:
            errs.append(required(child(path, "completions"), "when completion mode is Indexed"))
        if isinstance(parallelism, int) and parallelism > 100000:
            detail = "must be less than or equal to 100000 when completion mode is Indexed"
            errs.append(invalid_value(child(path, "parallelism"), parallelism, detail))
    elif mode in (None, "NonIndexed"):
        for name, value in (("backoffLimitPerIndex", per_index), ("maxFailedIndexes", max_failed)):
            if value is not None:
                errs.append(invalid_value(child(path, name), value, "requires indexed completion mode"))
    replacement = spec.get("podReplacementPolicy")
    if replacement is not None:
        supported = (
            ["Failed"] if spec.get("podFailurePolicy") is not None else ["Failed", "TerminatingOrFailed"]
        )
        if replacement not in supported:
            errs.append(not_supported(child(path, "podReplacementPolicy"), replacement, supported))
    template = spec.get("template")
    tpath = child(path, "template")
    errs.extend(validate_pod_template_spec(template if template is not None else {}, tpath))
    pod_spec = dict_at(dict_at(spec, "template", path, []), "spec", tpath, [])
    restart = pod_spec.get("restartPolicy", "")
    rpath = child(child(tpath, "spec"), "restartPolicy")
    if restart in ("Always", ""):
        errs.append(required(rpath, 'valid values: "OnFailure", "Never"'))
    elif restart not in ("OnFailure", "Never"):
        errs.append(not_supported(rpath, restart, ["OnFailure", "Never"]))
    elif spec.get("podFailurePolicy") is not None and restart != "Never":
        errs.append(
            invalid_value(rpath, restart, 'only "Never" is supported when podFailurePolicy is specified')
        )


def _generated_selector(obj: Obj, spec: dict[str, Any], errs: Errs) -> None:
    """``validateGeneratedSelector``: the labels and selector the Job strategy generates."""
    if spec.get("manualSelector") is True or spec.get("selector") is None:
        return
    meta = _meta(obj)
    uid, name = str(meta.get("uid") or ""), str(meta.get("name") or "")
    if not uid:
        errs.append(required("metadata.uid"))
    labels = _raw_template_labels(spec.get("template"))
    labels = labels if isinstance(labels, dict) else {}
    for label, expected in zip(JOB_LABELS, (uid, name, uid, name), strict=True):
        lpath = f"spec.template.metadata.labels[{label}]"
        if label not in labels:
            errs.append(required(lpath, f"must be '{expected}'"))
        elif labels[label] != expected:
            errs.append(c.invalid_go(lpath, c.go_string_map(labels), f"must be '{expected}'"))
    expected_labels = dict(zip(JOB_LABELS, (uid, name, uid, name), strict=True))
    sel = spec.get("selector")
    if not c.validate_label_selector(sel, "spec.selector") and not c.selector_matches(sel, expected_labels):
        errs.append(c.invalid_go("spec.selector", c.go_label_selector(sel), "`selector` not auto-generated"))


def _job_template_update(spec: dict[str, Any], old_spec: dict[str, Any], old: Obj) -> list[FieldError]:
    template, old_template = spec.get("template"), old_spec.get("template")
    status = old.get("status") if isinstance(old.get("status"), dict) else {}
    assert isinstance(status, dict)
    if old_spec.get("suspend") is True and status.get("startTime") is None and isinstance(old_template, dict):
        relaxed = json.loads(json.dumps(old_template))
        new_t = template if isinstance(template, dict) else {}
        for part, keys in (
            ("metadata", ("labels", "annotations")),
            ("spec", ("nodeSelector", "tolerations")),
        ):
            src, dst = new_t.get(part), relaxed.setdefault(part, {})
            for k in keys + (("schedulingGates", "affinity") if part == "spec" else ()):
                if isinstance(src, dict) and isinstance(dst, dict):
                    dst.pop(k, None)
                    if src.get(k) is not None:
                        dst[k] = src[k]
        old_template = relaxed
    return _immutable(template, old_template, "spec.template")


def validate_job(obj: Obj, old: Obj | None) -> list[FieldError]:
    errs: Errs = []
    spec = _spec(obj, errs)
    if old is None:
        _generated_selector(obj, spec, errs)
    _job_spec(spec, "spec", errs)
    state = _selector(spec, errs, word=None)
    if state != "bad":
        errs.extend(_match_template(spec, state, "spec.template.metadata.labels"))
    if old is None:
        completions, name = spec.get("completions"), _meta(obj).get("name", "")
        if spec.get("completionMode") == "Indexed" and isinstance(completions, int) and completions > 0:
            hostname = f"{name}-{completions - 1}"
            if c.is_dns1123_label(hostname):
                detail = f"will not able to create pod with invalid DNS label: {hostname}"
                errs.append(invalid_value("metadata.name", name, detail))
        return errs
    old_spec = old.get("spec") if isinstance(old.get("spec"), dict) else {}
    assert isinstance(old_spec, dict)
    completions, old_completions = spec.get("completions"), old_spec.get("completions")
    if spec.get("completionMode") != "Indexed":
        errs.extend(_immutable(completions, old_completions, "spec.completions"))
    elif (
        completions != old_completions and completions is not None and completions != spec.get("parallelism")
    ):
        detail = "can only be modified in tandem with spec.parallelism"
        errs.append(invalid_value("spec.completions", completions, detail))
    errs.extend(_selector_immutable(spec, old))
    errs.extend(_job_template_update(spec, old_spec, old))
    for name in ("completionMode", "podFailurePolicy", "backoffLimitPerIndex", "managedBy", "successPolicy"):
        errs.extend(_immutable(spec.get(name), old_spec.get(name), f"spec.{name}"))
    return errs


def validate_cron_job(obj: Obj, old: Obj | None) -> list[FieldError]:
    errs: Errs = []
    name = _meta(obj).get("name", "")
    if old is None and isinstance(name, str) and len(name) > 52:
        errs.append(invalid_value("metadata.name", name, "must be no more than 52 characters"))
    spec = _spec(obj, errs)
    if not str_at(spec, "schedule", "spec", errs):
        errs.append(required("spec.schedule"))
    policy = str_at(spec, "concurrencyPolicy", "spec", errs)
    if policy not in ("Allow", "Forbid", "Replace"):
        errs.append(not_supported("spec.concurrencyPolicy", policy, ["Allow", "Forbid", "Replace"]))
    for field_name in ("startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        errs.extend(nonnegative(int_at(spec, field_name, "spec", errs), f"spec.{field_name}"))
    job_spec = dict_at(dict_at(spec, "jobTemplate", "spec", errs), "spec", "spec.jobTemplate", errs)
    _job_spec(job_spec, "spec.jobTemplate.spec", errs)
    if job_spec.get("selector") is not None:
        shown = c.go_label_selector(job_spec["selector"])
        errs.append(
            c.invalid_go("spec.jobTemplate.spec.selector", shown, "`selector` will be auto-generated")
        )
    if job_spec.get("manualSelector") is True:
        errs.append(not_supported("spec.jobTemplate.spec.manualSelector", True, ["nil", "false"]))
    return errs


# ---- ControllerRevision ------------------------------------------------------------------------


def validate_controller_revision(obj: Obj, old: Obj | None) -> list[FieldError]:
    errs: Errs = []
    if obj.get("data") is None:
        errs.append(required("data", "data is mandatory"))
    errs.extend(nonnegative(int_at(obj, "revision", "", errs), "revision"))
    if old is not None:
        errs.extend(_immutable(obj.get("data"), old.get("data"), "data"))
    return errs


VALIDATORS: dict[tuple[str, str], Validator] = {
    ("apps", "Deployment"): validate_deployment,
    ("apps", "ReplicaSet"): validate_replica_set,
    ("apps", "StatefulSet"): validate_stateful_set,
    ("apps", "DaemonSet"): validate_daemon_set,
    ("batch", "Job"): validate_job,
    ("batch", "CronJob"): validate_cron_job,
    ("apps", "ControllerRevision"): validate_controller_revision,
}
