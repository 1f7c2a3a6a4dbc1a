"""What a pod gets from the network layer: service env vars, /etc/hosts and /etc/resolv.conf, exactly."""

from __future__ import annotations

from typing import Any

from ferry.cluster.network import hosts_file, resolv_conf, service_env


def svc(name: str, ns: str, ip: str, *ports: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns}, "spec": {"clusterIP": ip, "ports": list(ports)}}


def test_env_vars_as_the_kubelet_builds_them() -> None:
    services = [
        svc(
            "order-service",
            "shop",
            "10.96.0.20",
            {"name": "http", "port": 80, "protocol": "TCP"},
            {"name": "metrics-port", "port": 9090},
        ),
        svc("headless", "shop", "None", {"port": 80}),
        svc("unset", "shop", "", {"port": 80}),
        svc("kubernetes", "default", "10.96.0.1", {"name": "https", "port": 443, "protocol": "TCP"}),
    ]
    env = service_env(services, namespace="shop")
    assert env == {
        "KUBERNETES_SERVICE_HOST": "10.96.0.1",
        "KUBERNETES_SERVICE_PORT": "443",
        "KUBERNETES_SERVICE_PORT_HTTPS": "443",
        "KUBERNETES_PORT": "tcp://10.96.0.1:443",
        "KUBERNETES_PORT_443_TCP": "tcp://10.96.0.1:443",
        "KUBERNETES_PORT_443_TCP_PROTO": "tcp",
        "KUBERNETES_PORT_443_TCP_PORT": "443",
        "KUBERNETES_PORT_443_TCP_ADDR": "10.96.0.1",
        "ORDER_SERVICE_SERVICE_HOST": "10.96.0.20",
        "ORDER_SERVICE_SERVICE_PORT": "80",
        "ORDER_SERVICE_SERVICE_PORT_HTTP": "80",
        "ORDER_SERVICE_SERVICE_PORT_METRICS_PORT": "9090",
        "ORDER_SERVICE_PORT": "tcp://10.96.0.20:80",
        "ORDER_SERVICE_PORT_80_TCP": "tcp://10.96.0.20:80",
        "ORDER_SERVICE_PORT_80_TCP_PROTO": "tcp",
        "ORDER_SERVICE_PORT_80_TCP_PORT": "80",
        "ORDER_SERVICE_PORT_80_TCP_ADDR": "10.96.0.20",
        "ORDER_SERVICE_PORT_9090_TCP": "tcp://10.96.0.20:9090",
        "ORDER_SERVICE_PORT_9090_TCP_PROTO": "tcp",
        "ORDER_SERVICE_PORT_9090_TCP_PORT": "9090",
        "ORDER_SERVICE_PORT_9090_TCP_ADDR": "10.96.0.20",
    }


def test_udp_port_and_unnamed_first_port() -> None:
    env = service_env([svc("dns", "kube-system", "10.96.0.10", {"port": 53, "protocol": "UDP"})])
    assert env == {
        "DNS_SERVICE_HOST": "10.96.0.10",
        "DNS_SERVICE_PORT": "53",
        "DNS_PORT": "udp://10.96.0.10:53",
        "DNS_PORT_53_UDP": "udp://10.96.0.10:53",
        "DNS_PORT_53_UDP_PROTO": "udp",
        "DNS_PORT_53_UDP_PORT": "53",
        "DNS_PORT_53_UDP_ADDR": "10.96.0.10",
    }


def test_service_links_off_keeps_only_the_master_service_and_the_namespace_wins() -> None:
    master = svc("kubernetes", "default", "10.96.0.1", {"name": "https", "port": 443})
    own = svc("kubernetes", "shop", "10.96.0.99", {"port": 8080})
    other = svc("web", "shop", "10.96.0.5", {"port": 80})
    off = service_env([master, other], namespace="shop", enable_service_links=False)
    assert (
        set(off) == {k for k in off if k.startswith("KUBERNETES_")}
        and off["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"
    )
    for order in ([master, own], [own, master]):
        env = service_env(order, namespace="shop")
        assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.99"
        assert env["KUBERNETES_SERVICE_PORT"] == "8080"
    # a service of another namespace is not visible
    assert "WEB_SERVICE_HOST" not in service_env([master, other], namespace="billing")


def test_hosts_file_plain_with_subdomain_and_aliases() -> None:
    header = (
        "# Kubernetes-managed hosts file.\n"
        "127.0.0.1\tlocalhost\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\n"
        "fe00::0\tip6-localnet\n"
        "fe00::0\tip6-mcastprefix\n"
        "fe00::1\tip6-allnodes\n"
        "fe00::2\tip6-allrouters\n"
    )
    assert hosts_file("10.244.0.5", "web-7d9f") == header + "10.244.0.5\tweb-7d9f\n"
    assert (
        hosts_file(
            "10.244.0.6",
            "db-0",
            subdomain="db",
            namespace="shop",
            host_aliases=[{"ip": "10.1.2.3", "hostnames": ["foo.local", "bar.local"]}],
        )
        == header
        + "10.244.0.6\tdb-0.db.shop.svc.cluster.local\tdb-0\n"
        + "\n# Entries added by HostAliases.\n10.1.2.3\tfoo.local\tbar.local\n"
    )


def test_resolv_conf_for_cluster_first() -> None:
    assert resolv_conf("shop", "10.244.0.1") == (
        "search shop.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.244.0.1\noptions ndots:5\n"
    )
    assert resolv_conf("a", "10.244.0.1", host_search=["corp.example", "cluster.local"]).splitlines()[0] == (
        "search a.svc.cluster.local svc.cluster.local cluster.local corp.example"
    )
