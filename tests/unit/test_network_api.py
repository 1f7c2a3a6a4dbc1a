"""The package's curated public API and its exception tree."""

from __future__ import annotations

import ferry.cluster.network as network
from ferry.cluster.network import CommandError, DnsFormatError, IpamError, IpamExhausted, NetworkError


def test_every_public_name_is_exported_and_documented() -> None:
    assert sorted(network.__all__) == network.__all__
    for name in network.__all__:
        obj = getattr(network, name)
        assert obj.__doc__, f"{name} needs a docstring"
    assert "proxy" in (network.__doc__ or "") and "dnsserver" in (network.__doc__ or "")


def test_the_exception_tree() -> None:
    assert issubclass(IpamExhausted, IpamError)
    for exc in (CommandError, IpamError, DnsFormatError):
        assert issubclass(exc, NetworkError)
    err = CommandError(["ip", "link", "add"], 2, "RTNETLINK answers: File exists\n")
    assert str(err) == "ip link add exited 2: RTNETLINK answers: File exists"
    assert (err.argv, err.returncode) == (("ip", "link", "add"), 2)
