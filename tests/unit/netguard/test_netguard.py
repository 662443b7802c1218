"""The SSRF guard's decisions: which addresses are public, what the allow-list opens, which URLs are refused."""

from __future__ import annotations

import pytest

from marketing_agent.netguard import AllowList, BlockedAddressError, check_url, is_public_address


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.9.9.9",
        "::1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.100.100.200",  # carrier-grade NAT range, used by some metadata services
        "0.0.0.0",
        "::",
        "224.0.0.1",  # multicast
        "ff02::1",
        "240.0.0.1",  # reserved
        "fd00:ec2::254",  # unique-local (AWS IPv6 metadata)
        "fe80::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:10.0.0.1",
        "2002:7f00:1::",  # 6to4 wrapping 127.0.0.1
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert is_public_address(address)


def test_allow_list_parses_hosts_ports_and_ipv6() -> None:
    allow = AllowList.parse(" Example.com , 127.0.0.2:8081, [::1]:9000,[fe80::1]")
    assert allow.allows("example.com", 443)
    assert allow.allows("EXAMPLE.com.", 80)
    assert allow.allows("127.0.0.2", 8081)
    assert not allow.allows("127.0.0.2", 8082)
    assert allow.allows("::1", 9000)
    assert allow.allows("[::1]", 9000)
    assert not allow.allows("::1", 9001)
    assert allow.allows("fe80::1", 1)
    assert not AllowList.parse("")
    assert not AllowList.parse(None).allows("example.com", 80)


@pytest.mark.parametrize("entry", ["http://x", "host:port", "host:0", "host:70000", "[::1", "[::1]x", "a b"])
def test_allow_list_names_a_bad_entry(entry: str) -> None:
    with pytest.raises(ValueError, match="allow-list entry"):
        AllowList.parse(entry)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "scheme 'file'"),
        ("gopher://example.com/", "scheme 'gopher'"),
        ("ftp://example.com/", "scheme 'ftp'"),
        ("http://127.0.0.1/", "non-public address"),
        ("http://[::1]:8080/", "non-public address"),
        ("http://10.0.0.5/admin", "non-public address"),
        ("http://169.254.169.254/latest/meta-data/", "non-public address"),
        ("http://localhost:8288/fn/register", "non-public address"),  # a name resolving to loopback
        ("http://0x7f000001/", "non-public address"),  # the same address, written in hex
    ],
)
async def test_check_url_refuses(url: str, reason: str) -> None:
    with pytest.raises(BlockedAddressError, match=reason):
        await check_url(url, AllowList())


async def test_check_url_accepts_public_and_allowed_hosts() -> None:
    await check_url("https://93.184.216.34/pricing", AllowList())
    await check_url("http://127.0.0.2:8081/", AllowList.parse("127.0.0.2:8081"))
    with pytest.raises(BlockedAddressError):
        await check_url("http://127.0.0.2:8082/", AllowList.parse("127.0.0.2:8081"))


async def test_a_name_with_any_private_address_is_refused() -> None:
    async def split_horizon(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.0.0.7"]

    with pytest.raises(BlockedAddressError, match=r"10\.0\.0\.7"):
        await check_url("https://mixed.example/", AllowList(), resolver=split_horizon)
