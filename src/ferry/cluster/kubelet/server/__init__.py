"""The kubelet's HTTPS API: ``/containerLogs`` (what ``kubectl logs`` reaches through the API server) and
``/healthz``. Start it with :func:`start_kubelet_server`; issue its certificates with :mod:`.certs`."""

from ferry.cluster.kubelet.server.app import LogFileFor, PodLookup, RunningServer, start_kubelet_server
from ferry.cluster.kubelet.server.certs import (
    KUBELET_CLIENT_CN,
    CertPair,
    ensure_kubelet_client_cert,
    ensure_kubelet_serving_cert,
)

__all__ = [
    "KUBELET_CLIENT_CN",
    "CertPair",
    "LogFileFor",
    "PodLookup",
    "RunningServer",
    "ensure_kubelet_client_cert",
    "ensure_kubelet_serving_cert",
    "start_kubelet_server",
]
