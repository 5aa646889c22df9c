"""The date the suite reads instead of the clock, so that it means the same thing on any day.

It is derived from the catalog, not written down: the day the newest version in
catalog/eks-versions.json arrived on EKS. On that day every version of the table exists, and the
default chosen from among the newest is in standard support; when `ops catalog refresh` adds a
version, the suite's day moves with it. Tests about a particular calendar day pin their own.
"""

from __future__ import annotations

import datetime

import eks_versions

SUITE_TODAY: datetime.date = max(row.released for row in eks_versions.VERSIONS)
DAY = datetime.timedelta(days=1)
