"""What AWS and the remote components would answer, shaped as their SDKs declare.

Every value a test asserts on is derived from the inputs, so a fake cannot make a wrong wiring
look right: the image digest is a hash of the image name, subnet IDs are numbered per AZ, etc.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Mapping

from pulumi.runtime.mocks import MockResourceArgs
from pulumi.runtime.rpc import UNKNOWN, contains_unknowns

ACCOUNT = "123456789012"
REGION = "us-east-1"
CLUSTER_SECURITY_GROUP_ID = "sg-0eksclustersg00001"
NODE_PUBLIC_IPS = ["198.51.100.20", "198.51.100.10"]


def fake_digest(image_name: str) -> str:
    return "sha256:" + hashlib.sha256(image_name.encode()).hexdigest()


def _uuid(seed: str) -> str:
    """A UUID-shaped ID derived from `seed`: AWS's IDs of that shape, stable across runs."""
    token = hashlib.sha256(seed.encode()).hexdigest()
    return f"{token[:8]}-{token[8:12]}-{token[12:16]}-{token[16:20]}-{token[20:32]}"


# us-east-1 as an account sees it: zone names map to zone IDs per account; use1-az3 offers no
# current instance families (EC2 DescribeInstanceTypeOfferings by availability-zone-id).
ZONE_IDS = ("use1-az1", "use1-az2", "use1-az3", "use1-az4", "use1-az5", "use1-az6")
ZONE_NAMES = ("us-east-1c", "us-east-1d", "us-east-1e", "us-east-1a", "us-east-1b", "us-east-1f")
ZONES_WITHOUT_CURRENT_TYPES = {"use1-az3"}


def _availability_zones(args: dict) -> dict:
    return {
        "id": REGION, "names": list(ZONE_NAMES), "zoneIds": list(ZONE_IDS),
        "groupNames": [REGION] * len(ZONE_IDS), "state": args.get("state"),
    }


def _instance_type_offerings(args: dict) -> dict:
    assert args.get("locationType") == "availability-zone-id", args
    [instance_type_filter] = [f for f in args.get("filters", []) if f["name"] == "instance-type"]
    locations, types = [], []
    for instance_type in instance_type_filter["values"]:
        for zone_id in ZONE_IDS:
            if zone_id not in ZONES_WITHOUT_CURRENT_TYPES:
                locations.append(zone_id)
                types.append(instance_type)
    return {
        "id": REGION, "instanceTypes": types, "locations": locations,
        "locationTypes": ["availability-zone-id"] * len(locations),
    }


def _vpc(args: MockResourceArgs) -> dict:
    # awsx refuses both (awsx/ec2/vpc.ts: "Only one of [availabilityZoneNames] and
    # [numberOfAvailabilityZones] can be specified").
    assert not ("availabilityZoneNames" in args.inputs and "numberOfAvailabilityZones" in args.inputs)
    zones = len(args.inputs["availabilityZoneNames"])
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


def _kubernetes_autoname(args: MockResourceArgs) -> dict:
    """pulumi-kubernetes names an object without metadata.name after its resource name plus a
    random suffix, in its Check: so in preview as in up (the suffix here is a stable stand-in)."""
    metadata = dict(args.inputs.get("metadata") or {})
    metadata.setdefault("name", f"{args.name}-{hashlib.sha256(args.name.encode()).hexdigest()[:8]}")
    return {"metadata": metadata}


# The hosted zone ID of Network Load Balancers in us-east-1 (AWS's "Elastic Load Balancing
# endpoints and quotas" table): what an alias record to an NLB names as its zone.
NLB_HOSTED_ZONE_ID = "Z26RNL4JYFTOTI"


def _load_balancer(args: MockResourceArgs) -> dict:
    arn = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/net/{args.name}/0123456789abcdef"
    return {
        "arn": arn,
        "arnSuffix": arn.split(":loadbalancer/", 1)[1],
        "dnsName": f"{args.name}-0123456789abcdef.elb.{REGION}.amazonaws.com",
        "zoneId": NLB_HOSTED_ZONE_ID,
    }


def _target_group(args: MockResourceArgs) -> dict:
    arn = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/{args.name}/0123456789abcdef"
    return {"arn": arn, "arnSuffix": arn.split(":", 5)[5]}


def _certificate(args: MockResourceArgs) -> dict:
    """ACM asks for one CNAME per name it validates by DNS: derived from the name, as ACM's is."""
    name = args.inputs["domainName"]
    token = hashlib.sha256(name.encode()).hexdigest()
    return {
        "arn": f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/{_uuid(name)}",
        "domainValidationOptions": [{
            "domainName": name,
            "resourceRecordName": f"_{token[:32]}.{name}.",
            "resourceRecordType": "CNAME",
            "resourceRecordValue": f"_{token[32:64]}.acm-validations.aws.",
        }],
        "status": "PENDING_VALIDATION",
    }


def _record(args: MockResourceArgs) -> dict:
    return {"fqdn": str(args.inputs["name"]).rstrip(".")}


def _managed_node_group_resources(name: str, state: dict, inputs: dict) -> tuple[str, dict]:
    """The aws.eks.NodeGroup a ManagedNodeGroup makes (its `nodeGroup` output): EKS names the
    group's one Auto Scaling group eks-<node group name>-<uuid>."""
    node_group_name = f"{name}-{hashlib.sha256(name.encode()).hexdigest()[:7]}"
    return f"backend-on-eks:{node_group_name}", {
        "nodeGroupName": node_group_name,
        "resources": [{
            "autoscalingGroups": [{"name": f"eks-{node_group_name}-{_uuid(node_group_name)}"}],
            "remoteAccessSecurityGroupId": "",
        }],
    }


def _eks_cluster_resource(name: str, state: dict, inputs: dict) -> tuple[str, dict]:
    """The aws.eks.Cluster an eks.Cluster makes (its `eksCluster` output), named as the program asked."""
    cluster_name = inputs["name"]
    return cluster_name, {"name": cluster_name, "arn": f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{cluster_name}"}


CHILD_REFERENCES = {
    "eks:index:ManagedNodeGroup": ("nodeGroup", "aws:eks/nodeGroup:NodeGroup", _managed_node_group_resources),
    "eks:index:Cluster": ("eksCluster", "aws:eks/cluster:Cluster", _eks_cluster_resource),
}
"""Outputs of remote components that reference one of their children (harness.ChildReference)."""


def _eks_addon(args: MockResourceArgs) -> dict:
    """EKS names an add-on by cluster and add-on name, plus an ID of its own. The version EKS
    picks when none is given (its default for the cluster's version) is left out: this fake does
    not know it, and the harness marks it missing should the program ever pass it on."""
    cluster, addon = args.inputs["clusterName"], args.inputs["addonName"]
    return {
        "arn": f"arn:aws:eks:{REGION}:{ACCOUNT}:addon/{cluster}/{addon}/{_uuid(f'{cluster}/{addon}')}",
        "createdAt": "2026-01-01T00:00:00Z",
        "modifiedAt": "2026-01-01T00:00:00Z",
        "tagsAll": dict(args.inputs.get("tags") or {}),
    }


def _amp_workspace(args: MockResourceArgs) -> dict:
    # AMP's workspace IDs: "ws-" and a UUID; its endpoint ends with a slash.
    workspace_id = "ws-" + _uuid(f"workspace/{args.name}")
    return {
        "arn": f"arn:aws:aps:{REGION}:{ACCOUNT}:workspace/{workspace_id}",
        "prometheusEndpoint": f"https://aps-workspaces.{REGION}.amazonaws.com/workspaces/{workspace_id}/",
        "tagsAll": dict(args.inputs.get("tags") or {}),
    }


def _amp_scraper(args: MockResourceArgs) -> dict:
    # The role AMP creates for a scraper: service-linked, under the aws-service-role path, with an
    # ID of its own in the name (what describe-scraper answers as roleArn).
    scraper_id = "s-" + _uuid(f"scraper/{args.name}")
    return {
        "arn": f"arn:aws:aps:{REGION}:{ACCOUNT}:scraper/{scraper_id}",
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/scraper.aps.amazonaws.com/"
                   f"AWSServiceRoleForAmazonPrometheusScraper_{_uuid(scraper_id)[:15].replace('-', '')}",
        "tagsAll": dict(args.inputs.get("tags") or {}),
    }



def _pod_identity_association(args: MockResourceArgs) -> dict:
    # EKS's association IDs: "a-" and 17 lowercase letters and digits (e.g. a-yrpsdroc4ei7k6xps).
    inputs = args.inputs
    key = f"{inputs['clusterName']}/{inputs['namespace']}/{inputs['serviceAccount']}"
    association_id = "a-" + hashlib.sha256(key.encode()).hexdigest()[:17]
    return {
        "associationId": association_id,
        "associationArn": f"arn:aws:eks:{REGION}:{ACCOUNT}:podidentityassociation/"
                          f"{inputs['clusterName']}/{association_id}",
        "tagsAll": dict(inputs.get("tags") or {}),
    }


RESOURCE_FAKES = {
    "aws:lb/loadBalancer:LoadBalancer": _load_balancer,
    "aws:lb/targetGroup:TargetGroup": _target_group,
    "aws:lb/listener:Listener": lambda args: {
        "arn": f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:listener/net/{args.name}/0123456789abcdef/0123456789abcdef",
    },
    "aws:acm/certificate:Certificate": _certificate,
    "aws:route53/record:Record": _record,
    "aws:ec2/securityGroup:SecurityGroup": lambda args: {
        "arn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{args.name}-id",
    },
    "kubernetes:core/v1:Secret": _kubernetes_autoname,
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
    "aws:eks/addon:Addon": _eks_addon,
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": _pod_identity_association,
    "aws:amp/workspace:Workspace": _amp_workspace,
    "aws:amp/scraper:Scraper": _amp_scraper,
    "aws:cloudwatch/metricAlarm:MetricAlarm": lambda args: {
        "name": _alarm_name(args), "arn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{_alarm_name(args)}"},
    # A topic the engine names: its resource name and a suffix (the ARN ends with the name).
    "aws:sns/topic:Topic": lambda args: {
        "arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:{args.name}-{hashlib.sha256(args.name.encode()).hexdigest()[:7]}"},
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
    platform = build.get("platform") if isinstance(build, dict) else None
    return {"imageName": name, "repoDigest": fake_image_id(name, platform or "linux/amd64")}


def _alarm_name(args: MockResourceArgs) -> str:
    # The bridge autonames an alarm given no name: its resource name and a random suffix.
    return args.inputs.get("name") or f"{args.name}-{hashlib.sha256(args.name.encode()).hexdigest()[:7]}"


def _role_in_preview(args: MockResourceArgs) -> dict:
    # The bridge's Check autonames the role, so its name is known in preview; the role's managed
    # and inline policy lists are computed by AWS when left out.
    return {"name": args.inputs.get("name", args.name), "managedPolicyArns": UNKNOWN, "inlinePolicies": UNKNOWN}


PREVIEW_FAKES = {
    "kubernetes:core/v1:Secret": _kubernetes_autoname,
    "docker:index/image:Image": _image_in_preview,
    "aws:iam/role:Role": _role_in_preview,
    # Autonamed in the bridge's Check too: the name is known before the alarm exists.
    "aws:cloudwatch/metricAlarm:MetricAlarm": lambda args: {"name": _alarm_name(args)},
}
"""What a provider computes while previewing a resource it is yet to create, beyond its inputs.
Every other output only the cloud assigns is unknown in preview (the harness makes it so)."""


# Who runs the program unless a test says otherwise: CI's deploy role, through an STS session.
CALLER_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/ci/backend-on-eks-deploy"
CALLER_SESSION = "ci-session"
_PRINCIPAL_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):iam::(?P<account>[0-9]{12}):(?P<kind>role|user)/"
    r"(?P<path>(?:[A-Za-z0-9+=,.@_-]+/)*)(?P<name>[A-Za-z0-9+=,.@_-]+)"
)
_ASSUMED_ROLE_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):sts::(?P<account>[0-9]{12}):assumed-role/(?P<name>[^/]+)/(?P<session>[^/]+)"
)


class AwsApiError(Exception):
    """An error AWS answers, as the provider hands it on (the invoke, and so the program, fails)."""


def _unique_id(prefix: str, arn: str) -> str:
    # IAM's unique IDs: AROA... for a role, AIDA... for a user; 21 characters in all.
    return prefix + hashlib.sha256(arn.encode()).hexdigest().upper()[:17]


def _eks_cluster_description(name: str, tags: Mapping[str, str]) -> dict:
    return {
        "id": name, "name": name, "region": REGION, "status": "ACTIVE", "version": "1.33",
        "arn": f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{name}",
        "endpoint": "https://FAKE.gr7.us-east-1.eks.amazonaws.com",
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/{name}-eksRole",
        "platformVersion": "eks.1", "createdAt": "2026-01-01T00:00:00Z", "deletionProtection": False,
        "certificateAuthorities": [{"data": "RkFLRQ=="}],
        "accessConfigs": [{"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": True}],
        "enabledClusterLogTypes": ["api", "audit", "authenticator"],
        "tags": dict(tags),
    }


def identity_invoke_fakes(
    caller_arn: str = CALLER_ROLE_ARN,
    existing_clusters: Mapping[str, Mapping[str, str]] | None = None,
    session_name: str = CALLER_SESSION,
) -> dict:
    """STS and EKS lookups as AWS answers them when `caller_arn` runs the program in an account
    whose EKS clusters in the region are `existing_clusters` (name -> tags).

    `caller_arn` is an IAM role's ARN (a path is allowed) whose STS session `session_name` runs
    the program, as CI's OIDC role does; or an IAM user's ARN, whose own keys run it.
    """
    caller = _PRINCIPAL_ARN.fullmatch(caller_arn)
    if caller is None:
        raise ValueError(f"not an IAM role or user ARN: {caller_arn!r}")
    clusters = {name: dict(tags) for name, tags in (existing_clusters or {}).items()}
    role_id = _unique_id("AROA", caller_arn)

    def caller_identity(args: dict) -> dict:
        account = caller["account"]
        if caller["kind"] == "user":
            return {"accountId": account, "id": account, "arn": caller_arn, "userId": _unique_id("AIDA", caller_arn)}
        # STS names the session and drops the role's path.
        return {
            "accountId": account, "id": account, "userId": f"{role_id}:{session_name}",
            "arn": f"arn:{caller['partition']}:sts::{account}:assumed-role/{caller['name']}/{session_name}",
        }

    def session_context(args: dict) -> dict:
        arn = args["arn"]
        session = _ASSUMED_ROLE_ARN.fullmatch(arn)
        if session is None:
            # Not a role session (an IAM user, or a role ARN): passed through as the issuer.
            return {"arn": arn, "id": arn, "issuerArn": arn, "issuerId": "", "issuerName": "", "sessionName": ""}
        # The provider looks the role up by name in IAM to learn its path.
        if caller["kind"] != "role" or (session["account"], session["name"]) != (caller["account"], caller["name"]):
            raise AwsApiError(f"NoSuchEntity: The role with name {session['name']} cannot be found.")
        return {"arn": arn, "id": arn, "issuerArn": caller_arn, "issuerId": role_id,
                "issuerName": caller["name"], "sessionName": session["session"]}

    def eks_clusters(args: dict) -> dict:
        return {"id": REGION, "region": REGION, "names": sorted(clusters)}

    def eks_cluster(args: dict) -> dict:
        name = args["name"]
        if name not in clusters:
            raise AwsApiError(
                f"reading EKS Cluster ({name}): operation error EKS: DescribeCluster, https response error "
                f"StatusCode: 404, ResourceNotFoundException: No cluster found for name: {name}."
            )
        return _eks_cluster_description(name, clusters[name])

    return {
        "aws:index/getCallerIdentity:getCallerIdentity": caller_identity,
        "aws:iam/getSessionContext:getSessionContext": session_context,
        "aws:eks/getClusters:getClusters": eks_clusters,
        "aws:eks/getCluster:getCluster": eks_cluster,
    }


def _addon_version(args: dict) -> dict:
    # eks:getAddonVersion answers one version of the add-on for the Kubernetes version: the one
    # describe-addon-versions marks defaultVersion, or with mostRecent the newest. Which version
    # AWS answers cannot be known offline; these are made up in AWS's form, and differ, so a test
    # can tell which one the program asked for.
    patch = 9 if args.get("mostRecent") else 1
    version = f"v1.{int(args['kubernetesVersion'].split('.')[1]) - 14}.{patch}-eksbuild.1"
    return {"id": args["addonName"], "addonName": args["addonName"], "kubernetesVersion": args["kubernetesVersion"],
            "mostRecent": bool(args.get("mostRecent")), "version": version, "region": REGION}


def log_group_invoke_fakes(groups: Mapping[str, Mapping[str, str]]):
    """getLogGroups and getLogGroup of an account holding `groups` (name -> tags). getLogGroups
    answers every name under the prefix; getLogGroup fails on a name that does not exist, as the
    data source does."""
    def listed(args: dict) -> dict:
        prefix = args.get("logGroupNamePrefix", "")
        names = sorted(name for name in groups if name.startswith(prefix))
        return {"id": REGION, "logGroupNamePrefix": prefix, "logGroupNames": names,
                "arns": [f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}" for name in names], "region": REGION}

    def one(args: dict) -> dict:
        name = args["name"]
        if name not in groups:
            raise Exception(f"reading CloudWatch Logs Log Group ({name}): empty result")
        return {"id": name, "name": name, "arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}",
                "tags": dict(groups[name]), "retentionInDays": 0, "region": REGION}

    return {"aws:cloudwatch/getLogGroups:getLogGroups": listed, "aws:cloudwatch/getLogGroup:getLogGroup": one}


INVOKE_FAKES = {
    # A new account: no log group yet.
    **log_group_invoke_fakes({}),
    "aws:eks/getAddonVersion:getAddonVersion": _addon_version,
    # A new account: no repository yet, so the program lists no images (ECR's ListImages would
    # fail with RepositoryNotFoundException on a repository that does not exist).
    "aws:ecr/getRepositories:getRepositories": lambda args: {"id": REGION, "names": [], "region": REGION},
    # CI's deploy role in a new account: no cluster exists yet.
    **identity_invoke_fakes(),
    "aws:index/getAvailabilityZones:getAvailabilityZones": _availability_zones,
    "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": _instance_type_offerings,
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
