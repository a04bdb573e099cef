"""This machine's address on the LAN, for ``python -m tools.stack --lan``.

A PyPortal or a Pi cannot reach 127.0.0.1 of this computer; they need an address of it on the
network they share. The ESP32 of a PyPortal speaks IPv4 only, so only IPv4 is considered.
"""

from __future__ import annotations

import ipaddress
import socket

# Any routable address: a UDP "connect" only asks the kernel which route and source address it
# would use; no packet is sent.
_ROUTE_PROBE = ("198.51.100.1", 9)  # TEST-NET-2 (RFC 5737): never a real host


def is_lan_address(host: str) -> bool:
    """Whether another machine could reach this one at ``host`` (IPv4, not loopback,
    link-local, multicast or unspecified)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return (address.version == 4 and not address.is_loopback and not address.is_link_local
            and not address.is_unspecified and not address.is_multicast)


def _default_route_source() -> str | None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(_ROUTE_PROBE)
            return probe.getsockname()[0]
    except OSError:  # no route at all
        return None


def _host_name_addresses() -> list[str]:
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        return []
    return [str(info[4][0]) for info in infos]


def lan_address() -> str | None:
    """The address this machine has on its LAN: the source address of its default route,
    else one its host name resolves to; ``None`` when it has only loopback."""
    for candidate in [_default_route_source(), *_host_name_addresses()]:
        if candidate and is_lan_address(candidate):
            return candidate
    return None
