"""An independent reading of "covers the internet", for the tests to judge the pack by.

The facts (which IPv4 ranges are not public, that IPv6's internet is 2000::/3) are the pack's own,
from policy/internet.py; the arithmetic is not: address ranges as integer intervals, merged by
hand, with no ipaddress.collapse_addresses or subnet_of.
"""

from __future__ import annotations

import ipaddress
from typing import Iterable

from policy.internet import GLOBAL_UNICAST, NOT_PUBLIC

Span = tuple[int, int]


def _span(network) -> Span:
    return int(network.network_address), int(network.broadcast_address)


def _merged(spans: Iterable[Span]) -> list[Span]:
    merged: list[Span] = []
    for low, high in sorted(spans):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def public_spans(version: int) -> list[Span]:
    """The public addresses of one family, as disjoint integer intervals."""
    if version == 6:
        return [_span(GLOBAL_UNICAST)]
    public, start = [], 0
    for low, high in _merged(_span(n) for n in NOT_PUBLIC.values()):
        if low > start:
            public.append((start, low - 1))
        start = high + 1
    if start <= 2**32 - 1:
        public.append((start, 2**32 - 1))
    return public


def covers_public(networks: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    """Whether the networks together hold every public address of IPv4, or of IPv6."""
    networks = list(networks)
    for version in (4, 6):
        union = _merged(_span(n) for n in networks if n.version == version)
        if union and all(any(low <= a and b <= high for low, high in union) for a, b in public_spans(version)):
            return True
    return False


def world_less(holes: Iterable[ipaddress.IPv4Network]) -> list[ipaddress.IPv4Network]:
    """All of IPv4 with `holes` cut out, as the blocks a careful author would list."""
    space = [ipaddress.IPv4Network("0.0.0.0/0")]
    for hole in holes:
        space = [part for block in space
                 for part in (block.address_exclude(hole) if hole.subnet_of(block) else
                              () if block.subnet_of(hole) else (block,))]
    return space
