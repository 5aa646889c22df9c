"""What AWS and the remote components would answer, shaped as their SDKs declare.

Every value a test asserts on is derived from the inputs, so a fake cannot make a wrong wiring
look right: the image digest is a hash of the image name, subnet IDs are numbered per AZ, etc.
"""

from __future__ import annotations

import hashlib
import json

from pulumi.runtime.mocks import MockResourceArgs

ACCOUNT = "123456789012"
REGION = "us-east-1"
CLUSTER_SECURITY_GROUP_ID = "sg-0eksclustersg00001"
NODE_PUBLIC_IPS = ["198.51.100.20", "198.51.100.10"]


def fake_digest(image_name: str) -> str:
    return "sha256:" + hashlib.sha256(image_name.encode()).hexdigest()


def _vpc(args: MockResourceArgs) -> dict:
    zones = int(args.inputs["numberOfAvailabilityZones"])
    return {
        "vpcId": "vpc-0fake0000000000001",
        "publicSubnetIds": [f"subnet-public-{zone}" for zone in range(zones)],
        "privateSubnetIds": [f"subnet-private-{zone}" for zone in range(zones)],
        "isolatedSubnetIds": [],
    }


def _kubeconfig(cluster_name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kubernetes", "cluster": {
            "server": "https://FAKE.gr7.us-east-1.eks.amazonaws.com",
            "certificate-authority-data": "RkFLRQ==",
        }}],
        "contexts": [{"name": "aws", "context": {"cluster": "kubernetes", "user": "aws"}}],
        "current-context": "aws",
        "users": [{"name": "aws", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", cluster_name, "--output", "json"],
        }}}],
    }


def _eks_cluster(args: MockResourceArgs) -> dict:
    kubeconfig = _kubeconfig(args.inputs["name"])
    return {
        "kubeconfig": kubeconfig,
        "kubeconfigJson": json.dumps(kubeconfig),
        "clusterSecurityGroupId": CLUSTER_SECURITY_GROUP_ID,
    }


def _image(args: MockResourceArgs) -> dict:
    name = args.inputs["imageName"]
    repository = name.rsplit(":", 1)[0]
    return {"imageName": name, "repoDigest": f"{repository}@{fake_digest(name)}"}


def _repository(args: MockResourceArgs) -> dict:
    name = args.inputs["name"]
    return {
        "repositoryUrl": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{name}",
        "registryId": ACCOUNT,
        "arn": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{name}",
    }


RESOURCE_FAKES = {
    "awsx:ec2:Vpc": _vpc,
    "eks:index:Cluster": _eks_cluster,
    "eks:index:ManagedNodeGroup": lambda args: {},
    "docker:index/image:Image": _image,
    "aws:ecr/repository:Repository": _repository,
    "aws:iam/role:Role": lambda args: {
        "arn": f"arn:aws:iam::{ACCOUNT}:role/{args.name}", "name": args.name,
    },
    "aws:kms/key:Key": lambda args: {"arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{args.name}"},
    "aws:ec2/launchTemplate:LaunchTemplate": lambda args: {"latestVersion": 1},
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": lambda args: {},
}

INVOKE_FAKES = {
    "aws:index/getPartition:getPartition": lambda args: {
        "partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws", "reverseDnsPrefix": "com.amazonaws",
    },
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": lambda args: {
        "userName": "AWS",
        "password": "fake-ecr-password",
        "authorizationToken": "QVdTOmZha2UtZWNyLXBhc3N3b3Jk",
        "proxyEndpoint": f"https://{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com",
        "expiresAt": "2026-11-27T22:00:00Z",
        "id": REGION,
        "registryId": args.get("registryId", ACCOUNT),
    },
    "aws:ec2/getInstances:getInstances": lambda args: {
        "ids": ["i-0fake1", "i-0fake2"],
        "publicIps": list(NODE_PUBLIC_IPS),
        "privateIps": ["10.0.0.10", "10.0.0.20"],
        "ipv6Addresses": [],
        "id": REGION,
    },
}
