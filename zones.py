"""Which availability zones the network spans: the first zones, by zone ID, that offer every
node instance type.

Zone names (us-east-1a, ...) are shuffled per AWS account; zone IDs (use1-az1, ...) are the same
physical zone everywhere. Some zones lack current instance types (us-east-1's use1-az3 has no
t3 or newer families), and a node group placed in a subnet there fails to scale into it. So the
program asks EC2 where the configured instance types are offered, by zone ID, and picks zones
from that answer rather than taking the region's first names.
"""

from __future__ import annotations

from typing import Sequence

import pulumi
import pulumi_aws as aws


class NoZonesForInstanceTypes(pulumi.RunError):
    """Fewer zones offer every node instance type than the stack asks for."""


def zones_offering(instance_types: Sequence[str], count: int) -> list[str]:
    """Names of `count` available zones, chosen in zone-ID order, that offer every instance type.

    Zone-ID order keeps the choice the same for every account and every run, so a second `up`
    never moves a subnet.
    """
    zones = aws.get_availability_zones(
        state="available",
        filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
    )
    name_of = dict(zip(zones.zone_ids, zones.names))
    offering = set(name_of)
    for instance_type in instance_types:
        offers = aws.ec2.get_instance_type_offerings(
            location_type="availability-zone-id",
            filters=[aws.ec2.GetInstanceTypeOfferingsFilterArgs(name="instance-type", values=[instance_type])],
        )
        if not offers.locations:
            # Not a question of how many zones: no zone of the region has it at all.
            raise NoZonesForInstanceTypes(
                f"backend-on-eks:nodeInstanceTypes: no availability zone of this region offers instance type "
                f"{instance_type!r}: it does not exist (check its spelling) or is not offered in this region"
            )
        offering &= set(offers.locations)
    chosen = sorted(offering)[:count]
    if len(chosen) < count:
        raise NoZonesForInstanceTypes(
            f"backend-on-eks:availabilityZoneCount = {count}: only {len(chosen)} available zone(s) "
            f"({', '.join(chosen) or 'none'}) offer every type of backend-on-eks:nodeInstanceTypes "
            f"({', '.join(instance_types)}); lower the count or choose instance types offered more widely"
        )
    return [name_of[zone_id] for zone_id in chosen]
