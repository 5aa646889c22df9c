"""What every IAM role handed to a pod through EKS Pod Identity trusts (not a component: the one
trust policy the components that use Pod Identity share).

Pod Identity's service principal, and the two actions its trust policy must allow (pulumi-aws
aws.eks.PodIdentityAssociation docs, "Basic Usage"): EKS tags the session with the cluster,
namespace and service account, which is why sts:TagSession is needed.
"""

from __future__ import annotations

import json

PRINCIPAL = "pods.eks.amazonaws.com"
ACTIONS = ("sts:AssumeRole", "sts:TagSession")


def trust_policy() -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": PRINCIPAL}, "Action": list(ACTIONS)}],
    })
