"""policy/internet.py: a set of blocks covers the internet when it holds every public address."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, strategies as st

from policy.internet import NOT_PUBLIC, covers_internet
from tests.policy.addresses import covers_public, public_spans, world_less

NOT_PUBLIC_BLOCKS = list(NOT_PUBLIC.values())


def public_block():
    """A block that holds at least one public IPv4 address."""
    spans = public_spans(4)
    return st.builds(lambda i, at, prefix: ipaddress.IPv4Network((spans[i][0] + at % (spans[i][1] - spans[i][0] + 1),
                                                                  prefix), strict=False),
                     st.integers(0, len(spans) - 1), st.integers(0, 2**32), st.integers(1, 32))


@given(holes=st.lists(st.sampled_from(NOT_PUBLIC_BLOCKS), unique=True))
def test_the_world_less_any_non_public_ranges_still_covers_the_internet(holes):
    assert covers_internet(world_less(holes))
    assert covers_internet(map(str, world_less(holes)))


@given(holes=st.lists(st.sampled_from(NOT_PUBLIC_BLOCKS), unique=True), public=public_block())
def test_the_world_less_any_public_address_does_not_cover_the_internet(holes, public):
    assert not covers_internet(world_less([*holes, public]))


V4 = st.builds(lambda a, p: ipaddress.IPv4Network((a, p), strict=False), st.integers(0, 2**32 - 1), st.integers(0, 12))
V6 = st.builds(lambda a, p: ipaddress.IPv6Network((a, p), strict=False), st.integers(0, 2**128 - 1), st.integers(0, 4))


@given(networks=st.lists(V4 | V6, max_size=12),
       holes=st.lists(st.sampled_from(NOT_PUBLIC_BLOCKS) | public_block(), max_size=3))
def test_covers_the_internet_iff_an_independent_interval_merge_says_every_public_address_is_held(networks, holes):
    blocks = [*networks, *(world_less(holes) if holes else [])]
    assert covers_internet(blocks) == covers_public(blocks)


@pytest.mark.parametrize("blocks", [
    ["0.0.0.0/0"], ["::/0"], ["2000::/3"], ["::/1"], ["::/1", "8000::/1"], ["2000::/4", "3000::/4"],
    [str(b) for b in world_less([ipaddress.IPv4Network("0.0.0.0/8")])],
    [str(b) for b in world_less(NOT_PUBLIC_BLOCKS)],
], ids=lambda b: ",".join(b) if len(b) < 4 else f"{len(b)} blocks")
def test_these_sets_cover_the_internet(blocks):
    assert covers_internet(blocks)


@pytest.mark.parametrize("blocks", [
    [], ["0.0.0.0/1"], ["2000::/4"], ["4000::/2", "8000::/1"], ["fc00::/7", "fe80::/10"], list(map(str, NOT_PUBLIC_BLOCKS)),
    ["0.0.0.0/1", "2000::/4"], ["everyone"], [str(b) for b in world_less([ipaddress.IPv4Network("8.8.8.0/24")])],
], ids=lambda b: ",".join(b) if len(b) < 4 else f"{len(b)} blocks")
def test_these_sets_leave_part_of_the_internet_out(blocks):
    assert not covers_internet(blocks)


def test_settings_judges_the_stacks_cidrs_by_the_packs_own_notion_not_a_copy():
    import settings
    from policy import internet as the_packs

    assert settings.NOT_PUBLIC is the_packs.NOT_PUBLIC and settings.NEVER_A_SOURCE is the_packs.NEVER_A_SOURCE
    assert settings.covers_all_public_addresses is the_packs.covers_all_public_addresses
