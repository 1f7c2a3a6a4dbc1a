"""Certificates for the kubelet API, issued by the embedded cluster's own CA.

kube-apiserver talks to a kubelet over HTTPS in both directions of trust: the kubelet presents a serving
certificate (``--tls-cert-file``), and the API server presents a client certificate
(``--kubelet-client-certificate``, CN ``kube-apiserver-kubelet-client``) which the kubelet checks against its
``--client-ca-file``. ferry does the same with the CA that :func:`ferry.cluster.apiserver.tls.ensure_tls` keeps in
``<data-dir>/pki`` (``ca.crt`` + ``ca.key``), so there is no shared secret to hand around: whoever can read the
CA key (the cluster's own processes, running as the same user) can issue both certificates.

* :func:`ensure_kubelet_serving_cert` — ``kubelet-<node>.crt/.key``: serverAuth, SANs = the node name,
  ``localhost``, ``127.0.0.1`` and the addresses the kubelet listens on (its Node's ``InternalIP``).
* :func:`ensure_kubelet_client_cert` — ``apiserver-kubelet-client.crt/.key``: clientAuth only. The kubelet
  server requires it (``CERT_REQUIRED``) and checks its CN; a serving certificate signed by the same CA has no
  clientAuth usage, so OpenSSL refuses it as a client certificate.

Both are made once and reused (a restart keeps them); keys are written with mode 0600. Issuing is idempotent but
not locked: two processes issuing the same file at the same instant both write a valid pair, and the last
rename wins (each pair is written to temporary names and renamed key first, so a reader never sees a key that
does not match its certificate for long; a mismatch makes ``load_cert_chain`` fail loudly, never silently).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "KUBELET_CLIENT_CN",
    "CertPair",
    "ensure_kubelet_client_cert",
    "ensure_kubelet_serving_cert",
]

KUBELET_CLIENT_CN = "kube-apiserver-kubelet-client"
_VALID_DAYS = 3650


@dataclass(frozen=True)
class CertPair:
    """A certificate and its key, plus the CA that signed it (to verify the peer with)."""

    cert: Path
    key: Path
    ca_cert: Path


def _load_ca(pki_dir: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    ca_key_path, ca_cert_path = pki_dir / "ca.key", pki_dir / "ca.crt"
    if not ca_key_path.exists() or not ca_cert_path.exists():
        raise FileNotFoundError(
            f"no cluster CA in {pki_dir} (ca.crt and ca.key are made by `ferry cluster up`)"
        )
    key = serialization.load_pem_private_key(ca_key_path.read_bytes(), None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{ca_key_path} is not an ECDSA key")
    return x509.load_pem_x509_certificate(ca_cert_path.read_bytes()), key


def _sans(hosts: list[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for h in dict.fromkeys(h for h in hosts if h and h not in ("0.0.0.0", "::")):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            names.append(x509.DNSName(h))
    return names


def _covers(cert_path: Path, hosts: list[str]) -> bool:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return not hosts
    present = {str(v) for v in ext.get_values_for_type(x509.IPAddress)} | set(
        ext.get_values_for_type(x509.DNSName)
    )
    return all(h in present for h in hosts if h not in ("0.0.0.0", "::"))


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _issue(pki_dir: Path, stem: str, common_name: str, *, hosts: list[str] | None, client: bool) -> CertPair:
    ca_cert, ca_key = _load_ca(pki_dir)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    key = ec.generate_private_key(ec.SECP256R1())
    usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=_VALID_DAYS))
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    if hosts is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName(_sans(hosts)), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    pair = CertPair(pki_dir / f"{stem}.crt", pki_dir / f"{stem}.key", pki_dir / "ca.crt")
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write(pair.key, key_pem, 0o600)
    _write(pair.cert, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return pair


def ensure_kubelet_serving_cert(pki_dir: Path, node_name: str, *, hosts: list[str] | None = None) -> CertPair:
    """``kubelet-<node>.crt``/``.key`` for the kubelet API of ``node_name``, valid for ``hosts`` too."""
    names = [node_name, "localhost", "127.0.0.1", *(hosts or [])]
    pair = CertPair(
        pki_dir / f"kubelet-{node_name}.crt", pki_dir / f"kubelet-{node_name}.key", pki_dir / "ca.crt"
    )
    if pair.cert.exists() and pair.key.exists() and _covers(pair.cert, names):
        return pair
    return _issue(pki_dir, f"kubelet-{node_name}", f"system:node:{node_name}", hosts=names, client=False)


def ensure_kubelet_client_cert(pki_dir: Path) -> CertPair:
    """``apiserver-kubelet-client.crt``/``.key``: what the API server presents to every kubelet."""
    pair = CertPair(
        pki_dir / "apiserver-kubelet-client.crt", pki_dir / "apiserver-kubelet-client.key", pki_dir / "ca.crt"
    )
    if pair.cert.exists() and pair.key.exists():
        return pair
    return _issue(pki_dir, "apiserver-kubelet-client", KUBELET_CLIENT_CN, hosts=None, client=True)
