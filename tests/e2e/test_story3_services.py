"""Story 3 with real pods (issue 4, Done-means bullet 3), and pods reaching the API server.

One process-runtime cluster for the module (``proc_cluster``: unique host prefix, random pod and service CIDRs,
``ferry cluster down`` asserted to leave nothing). The shop's three Python services (examples/services: auth,
order, payment) are built by ``ferry.build`` (buildpack python, host base) and pushed to the cluster's registry,
then deployed as plain Deployments and Services with the real kubectl. Checked from inside pods, read back with
``kubectl logs``:

* a client container in the auth-service pod reaches order-service **by name** (cluster DNS: the search path
  turns ``order-service`` into ``order-service.default.svc.cluster.local``, answered with its ClusterIP), and an
  order placed there makes order-service call auth-service and payment-service by name in turn;
* the Service env vars (``ORDER_SERVICE_SERVICE_HOST``, ``_PORT`` and the docker-link ones) are set in a pod
  created after the Service;
* a ConfigMap update reaches a mounted volume within the kubelet's pod sync period (10 s) but not an env var;
* a pod reaches ``https://kubernetes.default.svc`` with its projected service-account token and ``ca.crt``, and
  the token dies with its pod.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ferry.build import BuildRequest, build_image
from ferry.registry.client import RegistryClient
from tests.e2e.test_kubelet_proc_support import ProcCluster, proc_cluster

pytestmark = pytest.mark.e2e
__all__ = ["proc_cluster"]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "services"
SERVICES = ("auth-service", "order-service", "payment-service")

# The client container of the auth-service pod: the shop's own image (host Python), its own loop.
CLIENT = r"""
import json, os, socket, time, urllib.request, urllib.error
def call(method, url, body=None, token=None):
    req = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
print("ENV " + json.dumps({k: v for k, v in os.environ.items() if "_SERVICE_" in k or "_PORT" in k}), flush=True)
while True:
    try:
        ip = socket.gethostbyname("order-service")
        status, version = call("GET", "http://order-service/")
        _, login = call("POST", "http://auth-service/login", {"user": "alice", "password": "secret"})
        token = json.loads(login)["token"]
        placed = call("POST", "http://order-service/orders", {"items": [{"sku": "mug", "quantity": 2, "priceCents": 750}]}, token)
        print("RESULT " + json.dumps({"ip": ip, "version": [status, version.strip()], "order": [placed[0], json.loads(placed[1])]}), flush=True)
        if placed[0] == 201:
            break
    except Exception as e:
        print("retry: %r" % (e,), flush=True)
    time.sleep(1)
time.sleep(3600)
"""

# A pod's in-cluster client, as client-go's rest.InClusterConfig reads its files.
API_CLIENT = r"""
import json, os, ssl, time, urllib.request, urllib.error
SA = "/var/run/secrets/kubernetes.io/serviceaccount"
token = open(SA + "/token").read()
ns = open(SA + "/namespace").read()
ctx = ssl.create_default_context(cafile=SA + "/ca.crt")
def get(url, token):
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())
host = "https://%s:%s" % (os.environ["KUBERNETES_SERVICE_HOST"], os.environ["KUBERNETES_SERVICE_PORT"])
for base in ("https://kubernetes.default.svc", host):
    status, body = get(base + "/api/v1/namespaces/%s/pods" % ns, token)
    names = sorted(i["metadata"]["name"] for i in body.get("items", []))
    print("API " + json.dumps({"base": base, "status": status, "names": names, "ns": ns}), flush=True)
status, body = get("https://kubernetes.default.svc/api/v1/namespaces/%s/pods" % ns, "forged." + token[7:])
print("FORGED " + json.dumps({"status": status, "reason": body.get("reason")}), flush=True)
time.sleep(3600)
"""

KUBE_API_ACCESS = """
  volumes:
  - name: kube-api-access
    projected:
      defaultMode: 420
      sources:
      - serviceAccountToken: {expirationSeconds: 3607, path: token}
      - configMap:
          name: kube-root-ca.crt
          items: [{key: ca.crt, path: ca.crt}]
      - downwardAPI:
          items:
          - path: namespace
            fieldRef: {apiVersion: v1, fieldPath: metadata.namespace}
"""


def _build_and_push(registry: str, cache: Path) -> dict[str, str]:
    async def go() -> dict[str, str]:
        refs = {}
        async with RegistryClient(registry) as client:
            for name in SERVICES:
                version = (EXAMPLES / name / "VERSION").read_text().strip()
                built = await build_image(
                    BuildRequest(
                        context=EXAMPLES / name,
                        version=version,
                        revision="3" * 40,
                        created="2026-01-31T12:00:00Z",
                        cache_dir=cache,
                    )
                )
                await client.push_image(f"shop/{name}", version, built.manifest, built.blobs)
                refs[name] = f"{registry}/shop/{name}:{version}"
        return refs

    return asyncio.run(go())


def _service(name: str) -> str:
    return f"""
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:
  selector: {{app: {name}}}
  ports: [{{name: http, port: 80, targetPort: 3000}}]
"""


def _deployment(name: str, image: str, env: str = "", extra: str = "") -> str:
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: app
        image: {image}
        env: [{{name: PORT, value: "3000"}}{env}]
        ports: [{{name: http, containerPort: 3000}}]
        readinessProbe:
          httpGet: {{path: /health, port: http}}
          periodSeconds: 1
{extra}"""


@pytest.fixture(scope="module")
def shop(proc_cluster: ProcCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    k = proc_cluster
    registry = json.loads((k.data_dir / "cluster.json").read_text())["registry"]
    refs = _build_and_push(registry, tmp_path_factory.mktemp("shop-build"))
    # The Services first: a pod's service env vars are those of the Services that exist when it starts.
    k.apply("---".join(_service(name) for name in SERVICES))
    client = json.dumps(CLIENT)
    extra = f"""      - name: client
        image: {refs["auth-service"]}
        command: ["python3", "-c", {client}]
"""
    k.apply(
        "---".join(
            [
                _deployment(
                    "auth-service",
                    refs["auth-service"],
                    ', {name: AUTH_USERS, value: "alice:secret"}, {name: AUTH_SECRET, value: s3}',
                    extra,
                ),
                _deployment("order-service", refs["order-service"]),
                _deployment("payment-service", refs["payment-service"]),
            ]
        )
    )
    for name in SERVICES:
        k.kubectl("rollout", "status", f"deploy/{name}", "--timeout=120s", timeout=130)
    yield refs


def _log_lines(k: ProcCluster, target: str, container: str, prefix: str) -> list[Any]:
    out = k.kubectl("logs", target, "-c", container, check=False)
    return [json.loads(line[len(prefix) :]) for line in out.splitlines() if line.startswith(prefix)]


def test_auth_service_reaches_order_service_by_name_through_cluster_dns(
    proc_cluster: ProcCluster, shop: dict[str, str]
) -> None:
    k = proc_cluster
    cluster_ip = k.kubectl("get", "svc", "order-service", "-o", "jsonpath={.spec.clusterIP}")
    result = k.wait_for(
        "an order placed from the auth-service pod",
        lambda: [
            r for r in _log_lines(k, "deploy/auth-service", "client", "RESULT ") if r["order"][0] == 201
        ],
        timeout=60,
    )[0]
    assert result["ip"] == cluster_ip  # order-service resolved by the cluster DNS to its ClusterIP
    version = (EXAMPLES / "order-service" / "VERSION").read_text().strip()
    assert result["version"] == [200, version]  # order-service's own answer, through the service proxy
    order = result["order"][1]
    # order-service reached auth-service (/verify: the user) and payment-service (the charge) by name in turn
    assert order["user"] == "alice" and order["status"] == "paid" and order["totalCents"] == 1500
    assert order["paymentId"]


def test_service_env_vars_are_set_in_a_pod_created_after_the_service(
    proc_cluster: ProcCluster, shop: dict[str, str]
) -> None:
    k = proc_cluster
    ip = k.kubectl("get", "svc", "order-service", "-o", "jsonpath={.spec.clusterIP}")
    api_ip = k.kubectl("get", "svc", "kubernetes", "-o", "jsonpath={.spec.clusterIP}")
    (env,) = k.wait_for("the client's env", lambda: _log_lines(k, "deploy/auth-service", "client", "ENV "))
    expected = {
        "ORDER_SERVICE_SERVICE_HOST": ip,
        "ORDER_SERVICE_SERVICE_PORT": "80",
        "ORDER_SERVICE_SERVICE_PORT_HTTP": "80",
        "ORDER_SERVICE_PORT": f"tcp://{ip}:80",
        "ORDER_SERVICE_PORT_80_TCP": f"tcp://{ip}:80",
        "ORDER_SERVICE_PORT_80_TCP_PROTO": "tcp",
        "ORDER_SERVICE_PORT_80_TCP_PORT": "80",
        "ORDER_SERVICE_PORT_80_TCP_ADDR": ip,
        "KUBERNETES_SERVICE_HOST": api_ip,
        "KUBERNETES_SERVICE_PORT": "443",
    }
    assert {name: env.get(name) for name in expected} == expected
    assert env["PAYMENT_SERVICE_SERVICE_HOST"] and env["AUTH_SERVICE_SERVICE_HOST"]


def test_a_configmap_update_reaches_the_mounted_file_but_not_the_env_var(proc_cluster: ProcCluster) -> None:
    k = proc_cluster
    k.apply(f"""
apiVersion: v1
kind: ConfigMap
metadata: {{name: shop-config}}
data: {{GREETING: hello-v1}}
---
apiVersion: v1
kind: Pod
metadata: {{name: config-reader}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: reader
    image: {k.image}
    command: ["/bin/busybox", "sh", "-c",
              "trap 'exit 0' TERM; while true; do echo \\"file=$(cat /etc/shop/GREETING) env=$GREETING\\"; sleep 1; done"]
    env:
    - name: GREETING
      valueFrom: {{configMapKeyRef: {{name: shop-config, key: GREETING}}}}
    volumeMounts: [{{name: config, mountPath: /etc/shop}}]
  volumes:
  - name: config
    configMap: {{name: shop-config}}
""")

    def last_line() -> str:
        lines = k.kubectl("logs", "config-reader", "--tail=1", check=False).strip().splitlines()
        return lines[-1] if lines else ""

    k.wait_for("the first reading", lambda: last_line() == "file=hello-v1 env=hello-v1")
    k.kubectl("patch", "configmap", "shop-config", "-p", '{"data": {"GREETING": "hello-v2"}}')
    t0 = time.monotonic()
    k.wait_for("the file to change", lambda: last_line() == "file=hello-v2 env=hello-v1", timeout=40)
    print(
        f"ConfigMap update reached the mounted file in {time.monotonic() - t0:.1f}s (bound: the 10 s pod sync)"
    )
    pod = k.pod("config-reader")
    assert pod["status"]["containerStatuses"][0]["restartCount"] == 0  # the same process: env cannot change
    k.kubectl("delete", "pod", "config-reader", "--wait=false")


def _host_get(k: ProcCluster, path: str, token: str) -> int:
    server = json.loads((k.data_dir / "cluster.json").read_text())["server"]
    ctx = ssl.create_default_context(cafile=str(k.data_dir / "pki" / "ca.crt"))
    req = urllib.request.Request(server + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def test_a_pod_reaches_the_api_server_with_its_service_account_token(
    proc_cluster: ProcCluster, shop: dict[str, str]
) -> None:
    k = proc_cluster
    script = json.dumps(API_CLIENT)
    k.apply(f"""
apiVersion: v1
kind: Pod
metadata: {{name: in-cluster-client}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: client
    image: {shop["auth-service"]}
    command: ["python3", "-c", {script}]
    volumeMounts:
    - {{name: kube-api-access, mountPath: /var/run/secrets/kubernetes.io/serviceaccount, readOnly: true}}
{KUBE_API_ACCESS}""")
    answers = k.wait_for(
        "the pod's API calls", lambda: _log_lines(k, "in-cluster-client", "client", "API "), timeout=60
    )
    assert len(answers) == 2, answers
    for answer in answers:
        # The cluster's authorizer lets every authenticated user (this service account too) list pods.
        assert answer["status"] == 200 and answer["ns"] == "default"
        assert "in-cluster-client" in answer["names"]
    api_ip = k.kubectl("get", "svc", "kubernetes", "-o", "jsonpath={.spec.clusterIP}")
    # by name (cluster DNS, the certificate's DNS SAN) and as client-go's in-cluster config does (env, IP SAN)
    assert [a["base"] for a in answers] == ["https://kubernetes.default.svc", f"https://{api_ip}:443"]
    (forged,) = _log_lines(k, "in-cluster-client", "client", "FORGED ")
    assert forged == {"status": 401, "reason": "Unauthorized"}

    # The token is bound to the pod: valid from the host while it runs, refused once it is gone.
    pod = k.pod("in-cluster-client")
    token_file = (
        k.data_dir / "kubelet" / "pods" / pod["metadata"]["uid"] / "volumes" / "kube-api-access" / "token"
    )
    token = token_file.read_text()
    assert _host_get(k, "/api/v1/namespaces/default/pods", token) == 200
    k.kubectl("delete", "pod", "in-cluster-client", "--wait=true", timeout=60)
    assert _host_get(k, "/api/v1/namespaces/default/pods", token) == 401
