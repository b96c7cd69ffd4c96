"""Who a client on the shelter's network is, for limits: its address, an IPv4 address written as IPv6
(::ffff:10.0.0.5, on a listener for both) as itself, and a device's whole IPv6 /64 as one (a phone may use
many addresses of it, each otherwise with a budget of its own)."""
from __future__ import annotations

import ipaddress


def ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return None
    return getattr(parsed, "ipv4_mapped", None) or parsed


def client_key(address: str) -> str:
    parsed = ip(address)
    if parsed is None:
        return address or "?"
    return str(ipaddress.ip_network(f"{parsed}/64", strict=False)) if parsed.version == 6 else str(parsed)
