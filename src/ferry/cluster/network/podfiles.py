"""What the kubelet puts into a pod from the network layer: ``/etc/hosts``, ``/etc/resolv.conf``, service env vars.

All three are pure functions of plain data, byte for byte what a Kubernetes node produces:

* :func:`hosts_file`: kubelet's ``managedHostsFileContent`` (``pkg/kubelet/kubelet_pods.go``): the header, the
  localhost lines, the pod IP with its hostname (the FQDN first when ``spec.subdomain`` is set), then the
  ``spec.hostAliases`` block.
* :func:`resolv_conf`: dnsPolicy ClusterFirst as containerd writes it from the kubelet's DNSConfig: ``search``
  ``<ns>.svc.<domain> svc.<domain> <domain>`` (then the host's own search domains), ``nameserver`` (the cluster DNS,
  which ferry serves on the node bridge's gateway address) and ``options ndots:5``.
* :func:`service_env`: kubelet's ``getServiceEnvVarMap`` + ``envvars.FromServices`` (k8s-semantics.md §5): for every
  service with a ClusterIP (not ``None`` or empty) ``{N}_SERVICE_HOST``, ``{N}_SERVICE_PORT`` (the first port),
  ``{N}_SERVICE_PORT_{NAME}`` per named port, and the Docker-link variables ``{N}_PORT``,
  ``{N}_PORT_{port}_{PROTO}`` with ``_PROTO``, ``_PORT`` and ``_ADDR``; N is the upper-cased name with ``-`` → ``_``.
  The ``kubernetes`` service of ``default`` is always included (even with enableServiceLinks false); a service of
  the pod's own namespace with the same name wins over it. The kubelet computes this once, when a container
  starts: services created later are not visible, which the caller gets for free by calling it at that moment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["CLUSTER_DOMAIN", "env_name", "hosts_file", "resolv_conf", "service_env"]

CLUSTER_DOMAIN = "cluster.local"
MASTER_NAMESPACE = "default"
MASTER_SERVICES = frozenset({"kubernetes"})
_HOSTS_HEADER = (
    "# Kubernetes-managed hosts file.\n"
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "fe00::0\tip6-mcastprefix\n"
    "fe00::1\tip6-allnodes\n"
    "fe00::2\tip6-allrouters\n"
)


def hosts_file(
    pod_ip: str,
    hostname: str,
    *,
    subdomain: str = "",
    namespace: str = "",
    cluster_domain: str = CLUSTER_DOMAIN,
    host_aliases: Sequence[Mapping[str, Any]] | None = None,
) -> str:
    """The pod's ``/etc/hosts`` (hostname = ``spec.hostname`` or the pod name, cut to 63 characters by the caller)."""
    out = [_HOSTS_HEADER]
    if subdomain:
        out.append(f"{pod_ip}\t{hostname}.{subdomain}.{namespace}.svc.{cluster_domain}\t{hostname}\n")
    else:
        out.append(f"{pod_ip}\t{hostname}\n")
    if host_aliases:
        out.append("\n# Entries added by HostAliases.\n")
        for alias in host_aliases:
            names = [str(h) for h in alias.get("hostnames") or []]
            out.append(f"{alias.get('ip', '')}\t{chr(9).join(names)}\n")
    return "".join(out)


def resolv_conf(
    namespace: str,
    nameserver: str,
    *,
    cluster_domain: str = CLUSTER_DOMAIN,
    host_search: Sequence[str] = (),
    ndots: int = 5,
) -> str:
    """``/etc/resolv.conf`` for a dnsPolicy ClusterFirst pod in ``namespace`` (Kubernetes keeps ≤ 32 search domains)."""
    search = [f"{namespace}.svc.{cluster_domain}", f"svc.{cluster_domain}", cluster_domain]
    search += [d for d in host_search if d not in search]
    return f"search {' '.join(search[:32])}\nnameserver {nameserver}\noptions ndots:{ndots}\n"


def env_name(name: str) -> str:
    """``makeEnvVariableName``: upper case, ``-`` → ``_``."""
    return name.replace("-", "_").upper()


def _ip_set(service: Mapping[str, Any]) -> bool:
    ip = (service.get("spec") or {}).get("clusterIP") or ""
    return ip not in ("", "None")


def _link_vars(prefix: str, ip: str, ports: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for i, sp in enumerate(ports):
        protocol = str(sp.get("protocol") or "TCP")
        port = int(sp.get("port") or 0)
        host_port = f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
        url = f"{protocol.lower()}://{host_port}"
        if i == 0:
            out.append((f"{prefix}_PORT", url))
        pp = f"{prefix}_PORT_{port}_{protocol.upper()}"
        out += [(pp, url), (f"{pp}_PROTO", protocol.lower()), (f"{pp}_PORT", str(port)), (f"{pp}_ADDR", ip)]
    return out


def service_env(
    services: Iterable[Mapping[str, Any]],
    *,
    namespace: str | None = None,
    enable_service_links: bool = True,
) -> dict[str, str]:
    """The service environment of a container in ``namespace`` (default: the namespace of the services given).

    ``services``: Service objects (plain dicts) of the pod's namespace, plus the ``kubernetes`` Service of
    ``default`` when the caller has it. Returns name → value in a stable order (services by name).
    """
    services = list(services)
    if namespace is None:
        namespaces = {(s.get("metadata") or {}).get("namespace", "") for s in services} - {MASTER_NAMESPACE}
        namespace = namespaces.pop() if len(namespaces) == 1 else MASTER_NAMESPACE
    chosen: dict[str, Mapping[str, Any]] = {}
    for svc in services:
        meta = svc.get("metadata") or {}
        name, ns = str(meta.get("name", "")), meta.get("namespace", "")
        if not _ip_set(svc):
            continue
        if ns == MASTER_NAMESPACE and name in MASTER_SERVICES:
            chosen.setdefault(name, svc)
        if ns == namespace and enable_service_links:
            chosen[name] = svc  # the pod's own namespace wins over the master service
    env: dict[str, str] = {}
    for name in sorted(chosen):
        spec = chosen[name].get("spec") or {}
        ports = list(spec.get("ports") or [])
        if not ports:
            continue
        ip, prefix = str(spec["clusterIP"]), env_name(name)
        env[f"{prefix}_SERVICE_HOST"] = ip
        env[f"{prefix}_SERVICE_PORT"] = str(int(ports[0].get("port") or 0))
        for sp in ports:
            if sp.get("name"):
                env[f"{prefix}_SERVICE_PORT_{env_name(str(sp['name']))}"] = str(int(sp.get("port") or 0))
        env.update(_link_vars(prefix, ip, ports))
    return env
