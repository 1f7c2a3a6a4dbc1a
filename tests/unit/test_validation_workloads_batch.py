"""Job and CronJob validation: generated selector, counts, restartPolicy, immutable template."""

from __future__ import annotations

import copy
from typing import Any

from ferry.cluster.resources.defaults.workloads import default_cron_job, default_job
from ferry.cluster.resources.validation.workloads import validate_cron_job, validate_job

UID = "5c3e0b0e-0000-4000-8000-000000000001"


def job(restart: str | None = "Never", **spec: Any) -> dict[str, Any]:
    pod_spec: dict[str, Any] = {"containers": [{"name": "pi", "image": "perl:5.34"}]}
    if restart:
        pod_spec["restartPolicy"] = restart
    obj: dict[str, Any] = {
        "metadata": {"name": "pi", "namespace": "default", "uid": UID},
        "spec": {"template": {"spec": pod_spec}, **spec},
    }
    default_job(obj)
    return obj


def errors(obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    return [e.error() for e in validate_job(obj, old)]


def test_defaulted_job_is_valid() -> None:
    assert errors(job()) == []


def test_restart_policy_must_be_on_failure_or_never() -> None:
    assert errors(job(restart=None)) == [
        'spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"'
    ]


def test_counts_must_be_non_negative() -> None:
    assert errors(job(completions=-1, parallelism=-2, backoffLimit=-3)) == [
        "spec.parallelism: Invalid value: -2: must be greater than or equal to 0",
        "spec.completions: Invalid value: -1: must be greater than or equal to 0",
        "spec.backoffLimit: Invalid value: -3: must be greater than or equal to 0",
    ]


def test_completion_mode() -> None:
    assert errors(job(completionMode="Sometimes")) == [
        'spec.completionMode: Unsupported value: "Sometimes": supported values: "NonIndexed", "Indexed"'
    ]
    indexed = job(completionMode="Indexed", parallelism=2)  # completions stays unset, as in kube
    assert "completions" not in indexed["spec"]
    assert errors(indexed) == ["spec.completions: Required value: when completion mode is Indexed"]


def test_generated_labels_are_checked() -> None:
    obj = job()
    obj["spec"]["template"]["metadata"]["labels"]["job-name"] = "other"
    del obj["spec"]["template"]["metadata"]["labels"]["controller-uid"]
    errs = errors(obj)
    assert errs[0] == f"spec.template.metadata.labels[controller-uid]: Required value: must be '{UID}'"
    assert errs[1].startswith("spec.template.metadata.labels[job-name]: Invalid value: map[string]string{")
    assert errs[1].endswith(": must be 'pi'")
    assert errs[2:] == []


def test_manual_selector_must_match_template() -> None:
    obj = job(manualSelector=True, selector={"matchLabels": {"app": "x"}})
    assert errors(obj) == [
        "spec.template.metadata.labels: Invalid value: map[string]string(nil): `selector` does not match template "
        "`labels`"
    ]


def test_template_is_immutable_but_parallelism_is_not() -> None:
    old = job()
    scaled = copy.deepcopy(old)
    scaled["spec"]["parallelism"] = 3
    assert errors(scaled, old) == []
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "perl:5.36"
    errs = errors(new, old)
    assert len(errs) == 1
    assert errs[0].startswith('spec.template: Invalid value: {"metadata":{')
    assert errs[0].endswith(": field is immutable")


def test_completions_immutable_for_non_indexed() -> None:
    old = job()
    new = copy.deepcopy(old)
    new["spec"]["completions"] = 5
    assert errors(new, old) == ["spec.completions: Invalid value: 5: field is immutable"]


def test_suspended_job_may_change_scheduling_directives() -> None:
    old = job(suspend=True)
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["nodeSelector"] = {"zone": "a"}
    new["spec"]["template"]["metadata"]["annotations"] = {"a": "b"}
    assert errors(new, old) == []


def test_cron_job() -> None:
    obj: dict[str, Any] = {
        "metadata": {"name": "n" * 53},
        "spec": {
            "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}}
        },
    }
    default_cron_job(obj)
    assert [e.error() for e in validate_cron_job(obj, None)] == [
        f'metadata.name: Invalid value: "{"n" * 53}": must be no more than 52 characters',
        "spec.schedule: Required value",
        'spec.jobTemplate.spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"',
    ]


def test_missing_selector_reports_both_errors() -> None:
    obj = job()
    obj["metadata"].pop("uid")
    del obj["spec"]["selector"]
    assert errors(obj) == [
        "spec.selector: Required value",
        'spec.template.metadata.labels: Invalid value: map[string]string{"batch.kubernetes.io/controller-uid":'
        f'"{UID}", "batch.kubernetes.io/job-name":"pi", "controller-uid":"{UID}", "job-name":"pi"}}: '
        "`selector` does not match template `labels`",
    ]
