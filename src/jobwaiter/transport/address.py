"""Node addresses as a config writes them: ``host``, ``host:port``, ``[ipv6]`` or
``[ipv6]:port``. The one parser, used by the config's checks, the SSH provider, ``--node-ip``
and the runtimes (which need the host without the SSH port). Stdlib only."""

from __future__ import annotations

import ipaddress
import re

# A host name, an alias of ~/.ssh/config or an IPv4 address. Never a leading '-': ssh would
# read it as an option.
_HOST_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")


def parse_host(text: str) -> tuple[str, int | None]:
    """Split ``host``, ``host:port``, ``[ipv6]`` or ``[ipv6]:port`` (a bare IPv6 address has no
    port). Raises ValueError saying what is wrong."""
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep:
            raise ValueError(f"{text!r}: missing ']'")
        _ipv6(host, text)
        if not rest:
            return host, None
        if not rest.startswith(":"):
            raise ValueError(f"{text!r}: expected ':PORT' after ']'")
        return host, _port(rest[1:], text)
    if text.count(":") > 1:
        return _ipv6(text, text), None
    host, sep, port = text.partition(":")
    if not _HOST_NAME.fullmatch(host):
        raise ValueError(f"{text!r} is not a host, host:port or [ipv6]:port")
    return host, _port(port, text) if sep else None


def _ipv6(host: str, text: str) -> str:
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        raise ValueError(f"{text!r}: {host!r} is not an IPv6 address") from None
    return host


def _port(port: str, text: str) -> int:
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{text!r}: port must be a number from 1 to 65535")
    return int(port)


def node_host(address: str) -> str:
    """The host of a node's address, without the port: that is the SSH port, not one an engine
    may bind or be reached on. An address that does not parse is returned as it is."""
    try:
        return parse_host(address)[0]
    except ValueError:
        return address
