"""What "the internet" is, as an address set: every address a client on it may connect from.

A set of blocks opens something to the internet when together they hold every public address,
however they are spelled: 0.0.0.0/0, its two halves, or the world less 0.0.0.0/8 or less the
private ranges (addresses no internet client has, so leaving them out closes nothing). For IPv6
the public addresses are the global unicast space 2000::/3, from which IANA allocates every
internet address today (RFC 4291 section 2.4; the IANA "IPv6 Global Unicast Address
Assignments" registry), so 2000::/3 and ::/1 open the IPv6 internet as ::/0 does.

Pure standard library: the policy pack imports it from its own venv, and settings.py may too.
"""

from __future__ import annotations

import ipaddress
from typing import Iterable, Union

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

EVERYWHERE = ipaddress.IPv4Network("0.0.0.0/0")
EVERYWHERE_V6 = ipaddress.IPv6Network("::/0")
# RFC 1918: the private ranges a VPC is carved from.
PRIVATE_RANGES = tuple(ipaddress.IPv4Network(block) for block in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
# Ranges no client ever connects from (RFC 6890's special-purpose registry): loopback (RFC 1122),
# link-local, also the instance metadata service (RFC 3927), multicast (RFC 5771), the reserved
# class E with the broadcast address (RFC 1112), and "this network" (RFC 1122).
_NEVER_A_SOURCE = {
    "loopback": "127.0.0.0/8",
    "link-local": "169.254.0.0/16",
    "multicast": "224.0.0.0/4",
    "reserved": "240.0.0.0/4",
    "'this network'": "0.0.0.0/8",
}
NEVER_A_SOURCE = {name: ipaddress.IPv4Network(block) for name, block in _NEVER_A_SOURCE.items()}
# What an internet-facing endpoint never sees as a source: the above, the private ranges and
# carrier-grade NAT's shared space (RFC 6598), which stay inside the networks that use them.
NOT_PUBLIC = {
    **{f"private (RFC 1918 {block})": block for block in PRIVATE_RANGES},
    "shared address space (carrier-grade NAT, RFC 6598)": ipaddress.IPv4Network("100.64.0.0/10"),
    **NEVER_A_SOURCE,
}
GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")


def _public_space_v4() -> list[ipaddress.IPv4Network]:
    """Every IPv4 address that may be a source on the internet: all of IPv4 less NOT_PUBLIC."""
    space = [EVERYWHERE]
    for hole in NOT_PUBLIC.values():
        space = [part for block in space
                 for part in (block.address_exclude(hole) if hole.subnet_of(block) else
                              () if block.subnet_of(hole) else (block,))]
    return space


PUBLIC_SPACE: dict[int, tuple[Network, ...]] = {4: tuple(_public_space_v4()), 6: (GLOBAL_UNICAST,)}


def network(block: object) -> Network | None:
    """A CIDR as AWS and Kubernetes read it (host bits dropped: 10.0.0.1/0 is 0.0.0.0/0), or None."""
    if isinstance(block, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        return block
    if not isinstance(block, str):
        return None
    try:
        return ipaddress.ip_network(block.strip(), strict=False)
    except ValueError:
        return None


def covers_internet(blocks: Iterable[object]) -> bool:
    """Whether the blocks together admit every public address of IPv4, or of IPv6.

    collapse_addresses merges blocks that together fill a larger one, so a public block is
    covered exactly when one merged block holds it. Blocks that cannot be read count for nothing:
    callers decide what an unreadable block means."""
    networks = [n for n in map(network, blocks) if n is not None]
    for version, public in PUBLIC_SPACE.items():
        # One IP version per call, as collapse_addresses requires; typeshed cannot see it.
        union: list[Network] = list(ipaddress.collapse_addresses(  # type: ignore[type-var]
            n for n in networks if n.version == version))
        if union and all(any(block.subnet_of(merged) for merged in union)  # type: ignore[arg-type]
                         for block in public):
            return True
    return False


def covers_all_public_addresses(blocks: list[str]) -> bool:
    """settings.py's name for covers_internet (its blocks are IPv4 only)."""
    return covers_internet(blocks)
