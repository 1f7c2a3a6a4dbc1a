"""Cluster DNS answers from Services and EndpointSlices: A, headless, SRV, pod names, PTR, NXDOMAIN, NODATA."""

from __future__ import annotations

from ferry.cluster.network import ClusterZone, ServiceTable
from ferry.cluster.network import dnswire as w
from tests.unit.test_network_support import endpoint, endpoint_slice, service


def zone() -> tuple[ServiceTable, ClusterZone]:
    table = ServiceTable()
    table.apply_service(service("web", ip="10.96.0.20"))
    table.apply_service(service("db", ip="None", ports=[{"name": "pg", "port": 5432, "protocol": "TCP"}]))
    table.apply_slice(
        endpoint_slice(
            "db",
            [
                endpoint("10.244.0.7", hostname="db-0"),
                endpoint("10.244.0.8"),
                endpoint("10.244.0.9", ready=False),
            ],
            ports=[{"name": "pg", "port": 5433, "protocol": "TCP"}],
        )
    )
    return table, ClusterZone(table)


def texts(records: list[w.Record]) -> list[tuple[str, int, str]]:
    return [(r.name, r.rtype, r.text()) for r in records]


def test_service_a_record_is_the_cluster_ip_with_the_name_as_asked() -> None:
    _, z = zone()
    got = z.answer(w.Question("Web.Shop.svc.cluster.local", w.A))
    assert got is not None and got.rcode == w.NOERROR
    assert texts(got.answers) == [("Web.Shop.svc.cluster.local", w.A, "10.96.0.20")]
    assert got.answers[0].ttl == 5


def test_headless_service_answers_the_ready_endpoints_only() -> None:
    table, z = zone()
    got = z.answer(w.Question("db.shop.svc.cluster.local", w.A))
    assert got is not None
    assert [r.text() for r in got.answers] == ["10.244.0.7", "10.244.0.8"]
    # an endpoint by hostname and by dashed IP; a not ready one does not exist
    one = z.answer(w.Question("db-0.db.shop.svc.cluster.local", w.A))
    assert one is not None and [r.text() for r in one.answers] == ["10.244.0.7"]
    two = z.answer(w.Question("10-244-0-8.db.shop.svc.cluster.local", w.A))
    assert two is not None and [r.text() for r in two.answers] == ["10.244.0.8"]
    gone = z.answer(w.Question("10-244-0-9.db.shop.svc.cluster.local", w.A))
    assert gone is not None and gone.rcode == w.NXDOMAIN
    # endpoint changes show in the very next answer
    table.apply_slice(endpoint_slice("db", [], ports=[{"name": "pg", "port": 5433, "protocol": "TCP"}]))
    empty = z.answer(w.Question("db.shop.svc.cluster.local", w.A))
    assert empty is not None and empty.rcode == w.NXDOMAIN


def test_srv_for_a_cluster_ip_service_and_a_headless_one() -> None:
    _, z = zone()
    web = z.answer(w.Question("_http._tcp.web.shop.svc.cluster.local", w.SRV))
    assert web is not None
    assert texts(web.answers) == [
        ("_http._tcp.web.shop.svc.cluster.local", w.SRV, "0 100 80 web.shop.svc.cluster.local")
    ]
    assert texts(web.additional) == [("web.shop.svc.cluster.local", w.A, "10.96.0.20")]
    db = z.answer(w.Question("_pg._tcp.db.shop.svc.cluster.local", w.SRV))
    assert db is not None
    assert [r.text() for r in db.answers] == [
        "0 50 5433 db-0.db.shop.svc.cluster.local",
        "0 50 5433 10-244-0-8.db.shop.svc.cluster.local",
    ]
    assert [r.text() for r in db.additional] == ["10.244.0.7", "10.244.0.8"]
    missing = z.answer(w.Question("_grpc._tcp.web.shop.svc.cluster.local", w.SRV))
    assert missing is not None and missing.rcode == w.NXDOMAIN


def test_pod_names_and_negative_answers_carry_the_soa() -> None:
    _, z = zone()
    pod = z.answer(w.Question("10-244-0-5.shop.pod.cluster.local", w.A))
    assert pod is not None and [r.text() for r in pod.answers] == ["10.244.0.5"]
    for name in ("nope.shop.svc.cluster.local", "300-1-1-1.shop.pod.cluster.local", "x.cluster.local"):
        got = z.answer(w.Question(name, w.A))
        assert got is not None and got.rcode == w.NXDOMAIN and got.answers == [], name
        assert [r.rtype for r in got.authority] == [w.SOA]
    nodata = z.answer(w.Question("web.shop.svc.cluster.local", w.AAAA))
    assert nodata is not None and nodata.rcode == w.NOERROR and nodata.answers == []
    assert [r.rtype for r in nodata.authority] == [w.SOA]
    ns = z.answer(w.Question("shop.svc.cluster.local", w.A))
    assert ns is not None and ns.rcode == w.NOERROR


def test_ptr_for_cluster_ips_and_headless_endpoints_others_are_forwarded() -> None:
    _, z = zone()
    svc = z.answer(w.Question("20.0.96.10.in-addr.arpa", w.PTR))
    assert svc is not None and [r.text() for r in svc.answers] == ["web.shop.svc.cluster.local"]
    ep = z.answer(w.Question("7.0.244.10.in-addr.arpa", w.PTR))
    assert ep is not None and [r.text() for r in ep.answers] == ["db-0.db.shop.svc.cluster.local"]
    assert z.answer(w.Question("1.1.168.192.in-addr.arpa", w.PTR)) is None
    assert z.answer(w.Question("example.com", w.A)) is None
    assert z.answer(w.Question("cluster.local.example.com", w.A)) is None


def test_deleting_a_service_removes_its_names() -> None:
    table, z = zone()
    table.delete_service(service("web"))
    got = z.answer(w.Question("web.shop.svc.cluster.local", w.A))
    assert got is not None and got.rcode == w.NXDOMAIN
