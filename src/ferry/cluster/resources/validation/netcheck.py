"""IP address, port number and port name rules shared by Service, Endpoints and EndpointSlice.

Facts from ``k8s.io/apimachinery/pkg/util/validation`` v0.32 (``IsValidIP``, ``IsValidIPv4Address``,
``IsValidPortNum``, ``IsValidPortName``) and ``pkg/apis/core/validation`` (``ValidateNonSpecialIP``).

Go parses IPs "sloppily" (``netutils.ParseIPSloppy``): IPv4 octets may carry leading zeros
(``010.001.1.1``), which Python's :mod:`ipaddress` rejects; :func:`parse_ip` accepts them, so an
address kube accepts is accepted here. Zones (``fe80::1%eth0``) are rejected, as Go does.
"""

from __future__ import annotations

import ipaddress
import re

from ferry.cluster.apiserver.errors import FieldError, invalid_value
from ferry.cluster.resources.validation.common import inclusive_range_error, max_len_error

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_IPV4_SLOPPY = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})")
_PORT_NAME_CHARS = re.compile(r"[-a-z0-9]+")
_HAS_LETTER = re.compile(r"[a-z]")


def parse_ip(value: str) -> IPAddress | None:
    """``netutils.ParseIPSloppy``: an IPv4 or IPv6 address, or ``None``."""
    m = _IPV4_SLOPPY.fullmatch(value)
    if m:
        octets = [int(g) for g in m.groups()]
        return ipaddress.IPv4Address(".".join(map(str, octets))) if max(octets) <= 255 else None
    if "%" in value or ":" not in value:
        return None
    try:
        return ipaddress.IPv6Address(value)
    except ValueError:
        return None


def validate_ip(path: str, value: str) -> list[FieldError]:
    """``IsValidIP``."""
    if parse_ip(value) is None:
        return [invalid_value(path, value, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")]
    return []


def validate_ipv4(path: str, value: str) -> list[FieldError]:
    ip = parse_ip(value)
    v4_mapped = isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None
    if ip is None or not (isinstance(ip, ipaddress.IPv4Address) or v4_mapped):
        return [invalid_value(path, value, "must be a valid IPv4 address")]
    return []


def validate_ipv6(path: str, value: str) -> list[FieldError]:
    ip = parse_ip(value)
    v4_mapped = isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None
    if ip is None or isinstance(ip, ipaddress.IPv4Address) or v4_mapped:
        return [invalid_value(path, value, "must be a valid IPv6 address")]
    return []


def validate_non_special_ip(path: str, value: str) -> list[FieldError]:
    """``ValidateNonSpecialIP``: no unspecified, loopback or link-local addresses."""
    ip = parse_ip(value)
    if ip is None:
        return [invalid_value(path, value, "must be a valid IP address")]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    errs: list[FieldError] = []
    if ip.is_unspecified:
        errs.append(invalid_value(path, value, f"may not be unspecified ({value})"))
    if ip.is_loopback:
        errs.append(invalid_value(path, value, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
    link_local_unicast = ip in ipaddress.ip_network("169.254.0.0/16") or ip in ipaddress.ip_network(
        "fe80::/10"
    )
    if link_local_unicast:
        errs.append(
            invalid_value(path, value, "may not be in the link-local range (169.254.0.0/16, fe80::/10)")
        )
    if isinstance(ip, ipaddress.IPv4Address):
        link_local_multicast = ip in ipaddress.ip_network("224.0.0.0/24")
    else:
        packed = ip.packed
        link_local_multicast = packed[0] == 0xFF and packed[1] & 0x0F == 0x02
    if link_local_multicast:
        detail = "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"
        errs.append(invalid_value(path, value, detail))
    return errs


def port_num_errors(path: str, port: int) -> list[FieldError]:
    """``IsValidPortNum`` wrapped at ``path``: 1-65535."""
    if 1 <= port <= 65535:
        return []
    return [invalid_value(path, port, inclusive_range_error(1, 65535))]


def is_valid_port_name(name: str) -> list[str]:
    """``IsValidPortName`` (an IANA_SVC_NAME): at most 15 chars, a-z 0-9 '-', one letter, no '--'."""
    errs: list[str] = []
    if len(name) > 15:
        errs.append(max_len_error(15))
    if not _PORT_NAME_CHARS.fullmatch(name):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not _HAS_LETTER.search(name):
        errs.append("must contain at least one letter (a-z)")
    if "--" in name:
        errs.append("must not contain consecutive hyphens")
    if name.startswith("-") or name.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs


__all__ = [
    "is_valid_port_name",
    "parse_ip",
    "port_num_errors",
    "validate_ip",
    "validate_ipv4",
    "validate_ipv6",
    "validate_non_special_ip",
]
