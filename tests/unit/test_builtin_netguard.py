"""The address policy behind http_fetch."""

from __future__ import annotations

import ipaddress

import pytest

from mcp_tools.builtin.netguard import AddressPolicy, embedded_ipv4, forbidden_kind


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "127.255.0.9", "::1", "0.0.0.0", "::",
        "10.0.0.1", "172.16.0.1", "192.168.0.1", "fd00::1", "fc00::5",
        "169.254.169.254", "fe80::1", "224.0.0.1", "ff02::1", "240.0.0.1",
        "255.255.255.255", "100.64.0.1", "192.0.2.1", "fec0::1", "::127.0.0.1",
        "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.1.2.3",
        "2002:7f00:1::", "64:ff9b::a00:1",
    ],
)  # fmt: skip
def test_non_public_addresses_are_forbidden(address: str) -> None:
    assert forbidden_kind(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert forbidden_kind(ipaddress.ip_address(address)) is None


def test_embedded_ipv4_is_unwrapped() -> None:
    mapped = ipaddress.ip_address("::ffff:169.254.169.254")
    assert embedded_ipv4(mapped) == ipaddress.ip_address("169.254.169.254")
    assert embedded_ipv4(ipaddress.ip_address("8.8.8.8")) is None


def test_allow_list_hosts_and_networks() -> None:
    policy = AddressPolicy.from_allow_list(["Intranet.Example.", "10.1.0.0/16", "[::1]"])
    loopback6 = ipaddress.ip_address("::1")
    assert policy.allows("intranet.example", ipaddress.ip_address("10.9.9.9"))
    assert policy.allows("other", ipaddress.ip_address("10.1.2.3"))
    assert policy.allows("other", ipaddress.ip_address("::ffff:10.1.2.3"))
    assert policy.allows("other", loopback6)
    assert not policy.allows("other", ipaddress.ip_address("10.2.0.1"))
    assert not policy.allows("other", ipaddress.ip_address("169.254.169.254"))


def test_empty_allow_list_allows_nothing_private() -> None:
    policy = AddressPolicy.from_allow_list([])
    assert not policy.allows("localhost", ipaddress.ip_address("127.0.0.1"))
