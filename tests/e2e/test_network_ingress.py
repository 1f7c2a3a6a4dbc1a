"""End-to-end: Ingresses served on the cluster's ingress port, and a NodePort on 127.0.0.1, with real pods.

``ferry cluster up --runtime process --ingress 0`` (the ``proc_cluster`` fixture): two Deployments of busybox
httpd answering "one" and "two", their Services, and an Ingress without a class (the IngressClass ``ferry`` the
controller creates is the default) with an exact host, a wildcard host, a host with only an Exact path and a
catch-all server; requests go through 127.0.0.1:<ingress port> with Host headers.
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys

import pytest

from tests.e2e.test_kubelet_proc_support import ProcCluster, proc_cluster

pytestmark = pytest.mark.e2e
__all__ = ["proc_cluster"]


def deployment(name: str, image: str) -> str:
    serve = (
        f"/bin/busybox mkdir -p /tmp/w && echo {name} > /tmp/w/index.html && "
        "exec /bin/busybox httpd -f -p 8080 -h /tmp/w"
    )
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
      terminationGracePeriodSeconds: 1
      containers:
      - name: httpd
        image: {image}
        command: ["/bin/busybox", "sh", "-c", "{serve}"]
        readinessProbe:
          tcpSocket: {{port: 8080}}
          periodSeconds: 1
"""


SERVICES = """
apiVersion: v1
kind: Service
metadata: {name: one}
spec:
  type: NodePort
  selector: {app: one}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: two}
spec:
  selector: {app: two}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: three}
spec:
  selector: {app: three}
  ports: [{port: 80, targetPort: 8080}]
"""

INGRESS = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop}
spec:
  rules:
  - host: one.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: one, port: {number: 80}}}}
  - host: "*.two.test"
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: two, port: {name: http}}}}
  - host: api.test
    http:
      paths:
      - {path: /index.html, pathType: Exact, backend: {service: {name: two, port: {number: 80}}}}
  - host: empty.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: three, port: {number: 80}}}}
  - http:
      paths:
      - {path: /index.html, pathType: Exact, backend: {service: {name: two, port: {number: 80}}}}
      - {path: /, pathType: Prefix, backend: {service: {name: one, port: {number: 80}}}}
"""


def fetch(port: int, path: str, host: str | None = None) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": host} if host else {})
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def test_ingress_routes_by_host_and_path_to_ready_pods(proc_cluster: ProcCluster) -> None:
    k = proc_cluster
    k.apply(
        deployment("one", k.image) + "---" + deployment("two", k.image) + "---" + SERVICES + "---" + INGRESS
    )
    port = k.ingress_port()
    for name in ("one", "two"):
        out = k.kubectl("rollout", "status", f"deployment/{name}", "--timeout=90s", timeout=100)
        assert "successfully rolled out" in out
    k.wait_for("both backends through the ingress", lambda: fetch(port, "/", "a.two.test") == (200, "two\n"))
    k.wait_for("one through the ingress", lambda: fetch(port, "/", "one.test") == (200, "one\n"))

    assert fetch(port, "/index.html", "ONE.test:80") == (200, "one\n")  # case and port do not matter
    assert fetch(port, "/index.html", "b.two.test") == (200, "two\n")  # wildcard: one label
    assert fetch(port, "/index.html", "x.b.two.test") == (200, "two\n")  # not the wildcard: catch-all Exact
    assert fetch(port, "/", "x.b.two.test") == (200, "one\n")  # catch-all Prefix /
    assert fetch(port, "/index.html", "api.test") == (200, "two\n")
    assert fetch(port, "/", "api.test")[0] == 404  # api.test has a server: no fall back to the catch-all
    assert fetch(port, "/index.html/", "api.test")[0] == 404  # Exact
    assert fetch(port, "/", "empty.test") == (503, "503 Service Temporarily Unavailable\n")  # no endpoints

    # The controller's class, its address in the Ingress's status, and `ferry cluster status`.
    classes = k.kubectl("get", "ingressclass", "ferry", "-o", "json")
    assert json.loads(classes)["spec"]["controller"] == "ferry.dev/ingress"
    k.wait_for("the address", lambda: "127.0.0.1" in k.kubectl("get", "ingress", "shop"))
    table = k.kubectl("get", "ingress", "shop").splitlines()
    assert table[0].split() == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    assert re.fullmatch(
        r"shop\s+<none>\s+one\.test,\*\.two\.test,api\.test \+ 2 more\.\.\.\s+127\.0\.0\.1\s+80\s+\S+",
        table[1],
    ), table
    status = json.loads(k.kubectl("get", "ingress", "shop", "-o", "json"))["status"]
    assert status == {
        "loadBalancer": {"ingress": [{"ip": "127.0.0.1", "ports": [{"port": port, "protocol": "TCP"}]}]}
    }
    cli = [sys.executable, "-m", "ferry", "cluster", "status", "--data-dir", str(k.data_dir)]
    out = subprocess.run(cli, capture_output=True, text=True, timeout=30).stdout
    assert f"ingress: http://127.0.0.1:{port}" in out

    # A backend that turns not ready: 503 (scale to zero: its endpoint leaves the slice).
    k.kubectl("scale", "deployment/two", "--replicas=0")
    k.wait_for("two gone from the ingress", lambda: fetch(port, "/", "a.two.test")[0] == 503)

    # The NodePort of Service one answers on 127.0.0.1.
    node_port = int(k.kubectl("get", "service", "one", "-o", "jsonpath={.spec.ports[0].nodePort}"))
    assert fetch(node_port, "/") == (200, "one\n")
    k.kubectl("delete", "ingress/shop", "service/one", "service/two", "service/three", timeout=60)
    k.kubectl("delete", "deployment", "one", "two", "--wait=true", timeout=60)
