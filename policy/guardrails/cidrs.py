"""CIDRs read as address sets, judged by what the internet is (internet.py)."""

from __future__ import annotations

import ipaddress
from typing import Any, Iterable


# A sibling of this package: the pack runs with policy/ as its directory (__main__.py imports
# this package the same way).
from internet import covers_internet, network


# Addresses are sets, not strings, and "the internet" is every public address (internet.py):
# 0.0.0.0/1 and 128.0.0.0/1 together are the internet, and so are `::/0`, ` 0.0.0.0/0 `, the
# world less 0.0.0.0/8 or less the private ranges, and 2000::/3.


def _network(cidr: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    return network(cidr) if isinstance(cidr, str) else None


def _covers_internet(networks: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network | None]) -> bool:
    return covers_internet(n for n in networks if n is not None)


def _unreadable_cidrs(cidrs: Iterable[Any]) -> list[Any]:
    return [cidr for cidr in cidrs if _network(cidr) is None]
