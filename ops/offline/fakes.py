"""What AWS and the remote components would answer, shaped as their SDKs declare.

Every value a test asserts on is derived from the inputs, so a fake cannot make a wrong wiring
look right: the image digest is a hash of the image name, subnet IDs are numbered per AZ, etc.
"""

from __future__ import annotations

import hashlib
import json

from pulumi.runtime.mocks import MockResourceArgs
from pulumi.runtime.rpc import UNKNOWN, contains_unknowns

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


def fake_image_id(image_name: str, platform: str) -> str:
    """The ID docker gives a local build (the digest of the image's config): content-addressed,
    so it follows the content tag and the platform, never the repository it will be pushed to."""
    return "sha256:" + hashlib.sha256(f"image-id {image_name.rsplit(':', 1)[-1]} {platform}".encode()).hexdigest()


def _unknown(value) -> bool:
    """Whether a preview input holds an unknown (the SDK's Unknown, or the engine's string)."""
    if contains_unknowns(value) or value == UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(_unknown(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(_unknown(item) for item in value)
    return False


def _image_in_preview(args: MockResourceArgs) -> dict:
    """pulumi-docker 4.x in preview (provider.go `canPreview`): with buildOnPreview, it builds but
    never pushes, once imageName and build context, dockerfile and args are known; repoDigest is
    then the local image ID, a bare `sha256:<hex>` (the SDK's repo_digest docs). Anything unknown
    and it skips the build, answering its inputs: repoDigest stays unknown. A new stack's
    imageName is unknown (the repository URL is), so only a deployed stack's preview builds."""
    inputs = args.inputs
    build = inputs.get("build")
    needed = [inputs.get("imageName"), build]
    if isinstance(build, dict):
        needed += [build.get("context"), build.get("dockerfile"), build.get("args")]
    if inputs.get("buildOnPreview") is not True or any(_unknown(value) for value in needed):
        return {}
    name = inputs["imageName"]
    return {"imageName": name, "repoDigest": fake_image_id(name, build.get("platform") or "linux/amd64")}


def _role_in_preview(args: MockResourceArgs) -> dict:
    # The bridge's Check autonames the role, so its name is known in preview; the role's managed
    # and inline policy lists are computed by AWS when left out.
    return {"name": args.inputs.get("name", args.name), "managedPolicyArns": UNKNOWN, "inlinePolicies": UNKNOWN}


PREVIEW_FAKES = {
    "docker:index/image:Image": _image_in_preview,
    "aws:iam/role:Role": _role_in_preview,
}
"""What a provider computes while previewing a resource it is yet to create, beyond its inputs.
Every other output only the cloud assigns is unknown in preview (the harness makes it so)."""


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
