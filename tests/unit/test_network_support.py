"""Builders of the Service and EndpointSlice dicts the network tests feed (no tests here)."""

from __future__ import annotations

from typing import Any


def service(
    name: str,
    ns: str = "shop",
    *,
    ip: str | None = "10.96.0.20",
    ports: list[dict[str, Any]] | None = None,
    type: str = "ClusterIP",
) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": type, "ports": ports or [{"name": "http", "port": 80, "protocol": "TCP"}]}
    if ip is not None:
        spec["clusterIP"] = ip
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns}, "spec": spec}


def endpoint(ip: str, *, ready: bool = True, terminating: bool = False, hostname: str = "") -> dict[str, Any]:
    ep: dict[str, Any] = {
        "addresses": [ip],
        "conditions": {"ready": ready, "serving": ready or terminating, "terminating": terminating},
    }
    if hostname:
        ep["hostname"] = hostname
    return ep


def endpoint_slice(
    svc: str,
    endpoints: list[dict[str, Any]],
    ns: str = "shop",
    *,
    name: str = "",
    ports: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": name or f"{svc}-abcde",
            "namespace": ns,
            "labels": {"kubernetes.io/service-name": svc},
        },
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": ports if ports is not None else [{"name": "http", "port": 3000, "protocol": "TCP"}],
    }


# -- a tiny DNS client (UDP and TCP) on top of the package's wire format ------------------------------------
import asyncio  # noqa: E402
import random  # noqa: E402
import struct  # noqa: E402

from ferry.cluster.network import dnswire as w  # noqa: E402


def query_bytes(name: str, qtype: int = w.A, *, edns: int | None = None) -> bytes:
    msg = w.Message(id=random.randrange(65536), rd=True, questions=[w.Question(name, qtype)])
    if edns is not None:
        msg.additional.append(w.Record("", w.OPT, 0, b"", edns))
    return w.encode(msg)


class _Client(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | int, int]) -> None:
        if not self.answer.done():
            self.answer.set_result(data)


async def udp_raw(host: str, port: int, data: bytes, timeout: float = 5.0) -> bytes:
    transport, proto = await asyncio.get_running_loop().create_datagram_endpoint(
        _Client, remote_addr=(host, port)
    )
    try:
        transport.sendto(data)
        return await asyncio.wait_for(proto.answer, timeout)
    finally:
        transport.close()


async def udp_query(host: str, port: int, name: str, qtype: int = w.A, **kw: int) -> w.Message:
    return w.decode(await udp_raw(host, port, query_bytes(name, qtype, **kw)))


async def tcp_query(host: str, port: int, name: str, qtype: int = w.A) -> w.Message:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        data = query_bytes(name, qtype)
        writer.write(struct.pack("!H", len(data)) + data)
        await writer.drain()
        size = struct.unpack("!H", await reader.readexactly(2))[0]
        return w.decode(await reader.readexactly(size))
    finally:
        writer.close()
        await writer.wait_closed()
