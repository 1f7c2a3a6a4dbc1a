"""Every check of ferry.yaml's delivery view fails with one line naming the file, the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferry.delivery.platform import PlatformError, load_platform, parse_platform

HEAD = """\
registry: 127.0.0.1:5000
services:
  order-service:
    path: services/order-service
    version: "1.0.0"
"""

# (the text after HEAD, the exact error); HEAD is 5 lines, so the first appended line is line 6.
CASES = {
    "unknown top-level key": (
        "enviroments: []\n",
        "ferry.yaml:6: enviroments: unknown key (did you mean 'environments'?)",
    ),
    "environments as a mapping": (
        "environments:\n  sit: {}\n",
        "ferry.yaml:7: environments: must be a list of environments (- name: sit ...), in promotion order",
    ),
    "environment without name": (
        "environments:\n  - namespace: x\n",
        "ferry.yaml:7: environments[0]: `name` is required (e.g. sit, qa, prod)",
    ),
    "bad environment name": (
        "environments:\n  - name: Prod\n",
        "ferry.yaml:7: environments[0].name: must be lowercase letters, digits and '-' (at most 30)",
    ),
    "reserved environment name": (
        "environments:\n  - name: build\n",
        "ferry.yaml:7: environments[0].name: 'build' is reserved: pins say promotedFrom: build for images from ferry ci",
    ),
    "duplicate environment": (
        "environments:\n  - name: sit\n  - name: sit\n",
        "ferry.yaml:8: environments[1].name: duplicate environment 'sit' (first at line 7)",
    ),
    "sync not auto or manual": (
        "environments:\n  - name: sit\n  - name: qa\n    sync: sometimes\n",
        "ferry.yaml:9: environments[1].sync: must be auto or manual",
    ),
    "sync mode not auto or manual": (
        "environments:\n  - name: sit\n    sync: {mode: always}\n",
        "ferry.yaml:8: environments[0].sync.mode: must be auto or manual",
    ),
    "selfHeal not a boolean": (
        "environments:\n  - name: sit\n    sync:\n      selfHeal: often\n",
        "ferry.yaml:9: environments[0].sync.selfHeal: must be true or false",
    ),
    "unknown sync key": (
        "environments:\n  - name: sit\n    sync: {prun: true}\n",
        "ferry.yaml:8: environments[0].sync.prun: unknown key (did you mean 'prune'?)",
    ),
    "unknown environment key": (
        "environments:\n  - name: sit\n    namespce: x\n",
        "ferry.yaml:8: environments[0].namespce: unknown key (did you mean 'namespace'?)",
    ),
    "bad namespace": (
        "environments:\n  - name: sit\n    namespace: Shop_Sit\n",
        "ferry.yaml:8: environments[0].namespace: must be a DNS label: lowercase letters, digits and '-' (at most 63)",
    ),
    "shared namespace": (
        "environments:\n  - name: sit\n    namespace: shop\n  - name: qa\n    namespace: shop\n",
        "ferry.yaml:9: environments[1].namespace: 'shop' on the same cluster is already environment 'sit': "
        "environments must not share a namespace",
    ),
    "shared valuesDir": (
        "environments:\n  - name: sit\n    valuesDir: envs/test\n  - name: qa\n    valuesDir: envs/test\n",
        "ferry.yaml:9: environments[1].valuesDir: 'envs/test' is already environment 'sit''s: each environment "
        "needs its own pins",
    ),
    "valuesDir escaping the repo": (
        "environments:\n  - name: sit\n    valuesDir: ../elsewhere\n",
        "ferry.yaml:8: environments[0].valuesDir: '../elsewhere' must be a relative path inside the config repo, "
        "e.g. envs/qa",
    ),
    "negative soak": (
        "environments:\n  - name: sit\n  - name: qa\n    promotion: {soakSeconds: -5}\n",
        "ferry.yaml:9: environments[1].promotion.soakSeconds: must be a number of seconds, 0 or more",
    ),
    "soak as text": (
        "environments:\n  - name: sit\n  - name: qa\n    promotion:\n      soakSeconds: 5m\n",
        "ferry.yaml:10: environments[1].promotion.soakSeconds: must be a number of seconds, 0 or more",
    ),
    "verify as a boolean": (
        "environments:\n  - name: sit\n  - name: qa\n    promotion: {verify: true}\n",
        'ferry.yaml:9: environments[1].promotion.verify: must be a command string (quote it: verify: "true")',
    ),
    "approval not a boolean": (
        "environments:\n  - name: sit\n    promotion: {approval: maybe}\n",
        "ferry.yaml:8: environments[0].promotion.approval: must be true or false",
    ),
    "soak on the first environment": (
        "environments:\n  - name: sit\n    promotion: {soakSeconds: 60}\n",
        "ferry.yaml:8: environments[0].promotion.soakSeconds: the first environment is entered from a build, "
        "not from another environment: put soak and verify gates on the next one",
    ),
    "empty cluster": (
        "environments:\n  - name: sit\n    cluster: {}\n",
        "ferry.yaml:8: environments[0].cluster: needs `context`, `kubeconfig` or both (omit `cluster` for the "
        "embedded one)",
    ),
    "unknown cluster key": (
        "environments:\n  - name: sit\n    cluster: {kubeconfg: x}\n",
        "ferry.yaml:8: environments[0].cluster.kubeconfg: unknown key (did you mean 'kubeconfig'?)",
    ),
    "configRepo not a string": (
        "configRepo: [a, b]\n",
        "ferry.yaml:6: configRepo: must be a non-empty string",
    ),
    "bad app": (
        "app: My Shop\n",
        "ferry.yaml:6: app: must be lowercase letters, digits and '-' (at most 30): it prefixes namespaces",
    ),
    "duplicate key": ("app: a\napp: b\n", "ferry.yaml:7: (top level): duplicate key 'app' (first at line 6)"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_error_names_its_line_and_field(case: str, tmp_path: Path) -> None:
    tail, expected = CASES[case]
    with pytest.raises(PlatformError) as caught:
        parse_platform(HEAD + tail, tmp_path)
    assert str(caught.value) == expected


SERVICE_CASES = {
    "unknown service key": (
        "    chrat: helm/x\n",
        "ferry.yaml:6: services.order-service.chrat: unknown key (did you mean 'chart'?)",
    ),
    "chart that does not exist": (
        "    chart: helm/orders\n",
        "ferry.yaml:6: services.order-service.chart: directory helm/orders does not exist",
    ),
    "chart outside the repo": (
        "    chart: ../charts/x\n",
        "ferry.yaml:6: services.order-service.chart: '../charts/x' must be a relative path inside the repository",
    ),
    "image with a tag": (
        "    image: 127.0.0.1:5000/order-service:1.0\n",
        "ferry.yaml:6: services.order-service.image: must not carry a tag or digest: the config repo pins those",
    ),
    "configChecksums not a boolean": (
        "    configChecksums: sometimes\n",
        "ferry.yaml:6: services.order-service.configChecksums: must be true or false",
    ),
    "dependsOn not a list": (
        "    dependsOn: auth-service\n",
        "ferry.yaml:6: services.order-service.dependsOn: must be a list of service names or paths",
    ),
}


@pytest.mark.parametrize("case", sorted(SERVICE_CASES))
def test_each_service_error_names_its_line(case: str, tmp_path: Path) -> None:
    tail, expected = SERVICE_CASES[case]
    with pytest.raises(PlatformError) as caught:
        parse_platform(HEAD + tail, tmp_path)
    assert str(caught.value) == expected


def test_a_service_without_any_image_repository_is_refused(tmp_path: Path) -> None:
    text = "services:\n  order-service:\n    path: services/order-service\n"
    with pytest.raises(PlatformError) as caught:
        parse_platform(text, tmp_path)
    assert str(caught.value) == (
        "ferry.yaml:2: services.order-service: no image repository: set top-level `registry:` or the service's `image:`"
    )


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(PlatformError) as caught:
        parse_platform(HEAD + "environments: [\n  - name: sit\n", tmp_path)
    assert str(caught.value).startswith("ferry.yaml:7: not valid YAML:")


def test_a_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(PlatformError, match=r"ferry.yaml: not found \(ferry init writes one\)"):
        load_platform(tmp_path)
