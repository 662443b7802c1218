"""The one guard for outbound HTTP to URLs we did not choose (SSRF).

Every URL that comes from outside — a page the agent fetches, a redirect it follows, a Slack or webhook
URL a user registers, an alert URL an operator sets — may point at this machine or the network behind it
(``127.0.0.1``, ``10.0.0.5``, the cloud metadata service at ``169.254.169.254``). Such a request must not
be made unless an operator named the host in an allow-list.

Two layers, used together:

* :func:`check_url` refuses early with a clear reason: a scheme other than http/https, a missing host, or
  a host whose resolved addresses include a non-public one. It is what gives the caller a readable error.
* :func:`guarded_transport` is an ``httpx`` transport whose network backend resolves the host itself,
  checks every address and connects to the checked address. A name that resolves to a public address at
  check time and to ``127.0.0.1`` a moment later (DNS rebinding) is therefore still refused — the address
  that is connected to is the address that was checked. Every hop of a redirect goes through it too.

An allow-list entry is ``host`` (any port) or ``host:port`` (``[::1]:8080`` for IPv6), compared with the
URL's host as written (case-insensitive), so ``127.0.0.2`` or ``127.0.0.2:8081`` opens a loopback test site.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import anyio
import httpcore
import httpx

from marketing_agent.errors import MarketingAgentError

__all__ = [
    "AllowList",
    "BlockedAddressError",
    "Resolver",
    "check_url",
    "guarded_transport",
    "is_public_address",
]

ALLOWED_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: ``(host, port) -> addresses``; the default asks the system resolver. Tests may pass their own.
Resolver = Callable[[str, int], Awaitable[list[str]]]


class BlockedAddressError(MarketingAgentError):
    """An outbound request was refused: bad scheme, or a loopback/private/link-local/… address."""

    code = "BLOCKED_ADDRESS"


@dataclass(frozen=True, slots=True)
class AllowList:
    """Hosts (optionally with a port) that may be reached even though they resolve to non-public addresses."""

    entries: frozenset[tuple[str, int | None]] = frozenset()

    @classmethod
    def parse(cls, text: str | Iterable[str] | None) -> AllowList:
        """``"a.example, 127.0.0.2:8081, [::1]:9000"`` → an allow-list; raises ``ValueError`` naming a bad entry."""
        if text is None:
            return cls()
        items = text.split(",") if isinstance(text, str) else list(text)
        entries: set[tuple[str, int | None]] = set()
        for raw in items:
            item = raw.strip()
            if item:
                entries.add(_parse_entry(item))
        return cls(frozenset(entries))

    def allows(self, host: str, port: int | None) -> bool:
        name = _normalise_host(host)
        return (name, None) in self.entries or (port is not None and (name, port) in self.entries)

    def __bool__(self) -> bool:
        return bool(self.entries)


def _parse_entry(item: str) -> tuple[str, int | None]:
    host, port_text = item, ""
    if item.startswith("["):  # [v6]:port or [v6]
        end = item.find("]")
        if end < 0:
            raise ValueError(f"allow-list entry {item!r}: missing ']'")
        host, rest = item[1:end], item[end + 1 :]
        if rest and not rest.startswith(":"):
            raise ValueError(f"allow-list entry {item!r}: expected ':port' after ']'")
        port_text = rest[1:]
    elif item.count(":") == 1:
        host, port_text = item.split(":")
    if not host or any(c in host for c in "/@?# "):
        raise ValueError(f"allow-list entry {item!r}: expected host or host:port")
    if not port_text:
        return _normalise_host(host), None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"allow-list entry {item!r}: port must be 1-65535")
    return _normalise_host(host), int(port_text)


def _normalise_host(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


def is_public_address(address: str | IPAddress) -> bool:
    """True only for globally routable unicast addresses.

    ``ipaddress``'s ``is_global`` alone is not enough: it calls multicast global, and an IPv4 address
    wrapped in IPv6 (``::ffff:127.0.0.1``, 6to4, Teredo) must be judged as the IPv4 address it carries.
    """
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return is_public_address(embedded)
    return bool(
        ip.is_global
        and not ip.is_multicast
        and not ip.is_reserved
        and not ip.is_unspecified
        and not ip.is_loopback
        and not ip.is_link_local
        and not ip.is_private
    )


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (literal addresses resolve to themselves)."""
    try:
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:  # socket.gaierror: name unknown
        raise BlockedAddressError(f"cannot resolve host {host!r}: {exc.strerror or exc}") from exc
    seen: dict[str, None] = {}
    for info in infos:
        seen.setdefault(str(info[4][0]).split("%")[0], None)
    return list(seen)


async def _checked_addresses(host: str, port: int, allow: AllowList, resolver: Resolver) -> list[str]:
    addresses = await resolver(host, port)
    if not addresses:
        raise BlockedAddressError(f"host {host!r} resolves to no address")
    if allow.allows(host, port):
        return addresses
    refused = [a for a in addresses if not is_public_address(a)]
    if refused:
        raise BlockedAddressError(
            f"refused {host}:{port}: it resolves to a non-public address ({refused[0]}); "
            "only public addresses may be fetched unless the host is allow-listed",
            details={"host": host, "port": port, "address": refused[0]},
        )
    return addresses


async def check_url(url: str | httpx.URL, allow: AllowList, *, resolver: Resolver | None = None) -> None:
    """Refuse ``url`` (raise :class:`BlockedAddressError`) unless it is http(s) to a public or allowed host."""
    try:
        parsed = httpx.URL(url) if isinstance(url, str) else url
    except httpx.InvalidURL as exc:
        raise BlockedAddressError(f"invalid URL: {exc}") from exc
    if parsed.scheme not in ALLOWED_SCHEMES:
        raise BlockedAddressError(f"refused URL scheme {parsed.scheme or '(none)'!r}: only http and https")
    if not parsed.host:
        raise BlockedAddressError("refused URL without a host")
    port = parsed.port or _DEFAULT_PORTS[parsed.scheme]
    await _checked_addresses(parsed.host, port, allow, resolver or system_resolver)


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks and connects to the checked address: the check and the connect cannot disagree."""

    def __init__(self, allow: AllowList, resolver: Resolver) -> None:
        self._allow = allow
        self._resolver = resolver
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 — the signature httpcore calls
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await _checked_addresses(host, port, self._allow, self._resolver)
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:  # try the next address, like the system's connect would
                last_error = exc
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 — the signature httpcore calls
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddressError("refused: unix sockets are never reachable from untrusted URLs")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def guarded_transport(allow: AllowList, *, resolver: Resolver | None = None) -> httpx.AsyncHTTPTransport:
    """An ``httpx`` transport that connects only to public addresses (or allow-listed hosts).

    httpx builds its connection pool without a way to pass a network backend, so the pool is replaced by
    one with the same TLS context and the guarded backend. Environment proxies are never used with an
    explicit transport, so a proxy cannot bypass the check either.
    """
    transport = httpx.AsyncHTTPTransport()
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        network_backend=_GuardedBackend(allow, resolver or system_resolver),
    )
    return transport
