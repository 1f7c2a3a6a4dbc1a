"""Who may talk to the kubelet API: only a client certificate from the cluster CA for the API server."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from cryptography import x509

from ferry.cluster.kubelet.server import (
    RunningServer,
    ensure_kubelet_client_cert,
    ensure_kubelet_serving_cert,
    start_kubelet_server,
)
from ferry.cluster.kubelet.server.certs import _issue
from tests.unit.kubelet_server_support import FakeNode, client_context, make_pki


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[Path, RunningServer]]:
    pki = make_pki(tmp_path / "pki")
    node = FakeNode(tmp_path / "logs")
    server = await start_kubelet_server(
        "127.0.0.1", 0, node.log_file_for, pods=node.lookup, tls=ensure_kubelet_serving_cert(pki, "node-a")
    )
    try:
        yield pki, server
    finally:
        await server.close()


async def _healthz(server: RunningServer, ctx: ssl.SSLContext) -> tuple[int, str]:
    async with aiohttp.ClientSession() as s, s.get(server.url + "/healthz", ssl=ctx) as r:
        return r.status, await r.text()


async def test_api_server_client_certificate_is_accepted(served: tuple[Path, RunningServer]) -> None:
    pki, server = served
    assert await _healthz(server, client_context(pki)) == (200, "ok\n")


async def test_no_client_certificate_is_unauthorized(served: tuple[Path, RunningServer]) -> None:
    pki, server = served
    ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    assert await _healthz(server, ctx) == (401, "Unauthorized\n")


async def test_another_client_of_the_same_ca_is_forbidden(served: tuple[Path, RunningServer]) -> None:
    pki, server = served
    other = _issue(pki, "someone", "someone", hosts=None, client=True)
    ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    ctx.load_cert_chain(str(other.cert), str(other.key))
    status, body = await _healthz(server, ctx)
    assert status == 403 and "user=someone" in body


async def test_a_serving_certificate_cannot_be_used_as_a_client(served: tuple[Path, RunningServer]) -> None:
    pki, server = served
    ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    ctx.load_cert_chain(str(pki / "apiserver.crt"), str(pki / "apiserver.key"))  # serverAuth only
    with pytest.raises(aiohttp.ClientError):
        await _healthz(server, ctx)


async def test_the_kubelet_certificate_is_verified_by_name(served: tuple[Path, RunningServer]) -> None:
    pki, server = served
    ctx = client_context(pki)  # check_hostname: 127.0.0.1 must be in the SANs
    assert (await _healthz(server, ctx))[0] == 200
    stranger = make_pki(pki.parent / "other-pki")
    with pytest.raises(aiohttp.ClientError):
        await _healthz(server, client_context(stranger))


def test_certificates_are_reused_and_reissued_for_new_addresses(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    first = ensure_kubelet_serving_cert(pki, "node-a", hosts=["10.0.0.5"])
    pem = first.cert.read_bytes()
    assert ensure_kubelet_serving_cert(pki, "node-a", hosts=["10.0.0.5"]).cert.read_bytes() == pem
    again = ensure_kubelet_serving_cert(pki, "node-a", hosts=["10.0.0.6"])
    sans = x509.load_pem_x509_certificate(again.cert.read_bytes()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert {str(ip) for ip in sans.value.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "10.0.0.6"}
    assert "node-a" in sans.value.get_values_for_type(x509.DNSName)
    assert first.key.stat().st_mode & 0o777 == 0o600
    client = ensure_kubelet_client_cert(pki)
    assert ensure_kubelet_client_cert(pki).cert.read_bytes() == client.cert.read_bytes()


def test_no_cluster_ca_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no cluster CA"):
        ensure_kubelet_client_cert(tmp_path)
