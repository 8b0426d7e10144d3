"""Which addresses http_fetch and browser_open may connect to: public ones, plus
TOOLS_FETCH_ALLOW.

Without this check a model (or a prompt injected into a fetched page) could make the
server read its own admin ports, the LAN, or cloud metadata at 169.254.169.254.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

from langchain_core.tools import ToolException

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
FORBIDDEN_KINDS = (
    ("is_loopback", "a loopback address"),
    ("is_unspecified", "an unspecified address"),
    ("is_link_local", "a link-local address (this includes cloud metadata services)"),
    ("is_multicast", "a multicast address"),
    ("is_private", "a private-network address"),
    ("is_reserved", "a reserved address"),
)


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (::ffff:a.b.c.d, 6to4, NAT64), if any."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def forbidden_kind(ip: IPAddress) -> str | None:
    """Why `ip` must not be fetched by default, or None for a public address."""
    ip = embedded_ipv4(ip) or ip
    for attribute, kind in FORBIDDEN_KINDS:
        if getattr(ip, attribute):
            return kind
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "a site-local address"
    if not ip.is_global:
        return "an address that is not publicly routable"
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """Public addresses are allowed; private ones only via an allowed host name or CIDR."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_allow_list(cls, entries: list[str]) -> AddressPolicy:
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in entries:
            text = entry.strip().strip("[]")
            try:
                networks.append(ipaddress.ip_network(text, strict=False))
            except ValueError:
                hosts.add(normalize_host(text))
        return cls(frozenset(hosts), tuple(networks))

    def allows(self, host: str, ip: IPAddress) -> bool:
        if normalize_host(host) in self.hosts:
            return True
        candidates = [ip, embedded_ipv4(ip)]
        return any(c is not None and c in net for c in candidates for net in self.networks)


def normalize_host(host: str) -> str:
    return host.strip().rstrip(".").lower()


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (a literal IP resolves to itself)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise ToolException(f"could not resolve the host name '{host}'") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    return list(dict.fromkeys(addresses))


async def permitted_addresses(policy: AddressPolicy, host: str, port: int) -> list[IPAddress]:
    """The addresses to connect to for `host`; refuses if any of them is off limits."""
    addresses = await resolve(host, port)
    if not addresses:
        raise ToolException(f"the host name '{host}' has no addresses")
    for ip in addresses:
        kind = forbidden_kind(ip)
        if kind and not policy.allows(host, ip):
            raise ToolException(
                f"refused: '{host}' resolves to {ip}, {kind}. The web tools only reach public "
                "web addresses unless the operator allows more in TOOLS_FETCH_ALLOW."
            )
    return addresses
