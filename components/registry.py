"""The ECR repository the backend's image is pushed to, and the policy that bounds its size."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass
class RegistryArgs:
    repository_name: str
    keep_images: int
    force_delete: bool
    """Lets `pulumi destroy` remove the repository while images remain (off in prod)."""
    protect: bool


class Registry(pulumi.ComponentResource):
    repository_url: pulumi.Output[str]
    registry_id: pulumi.Output[str]
    repository_name: pulumi.Output[str]

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend-on-eks:index:Registry", name, None, opts)

        repository = aws.ecr.Repository(
            f"{name}-repository",
            name=args.repository_name,
            # Tags are content-derived, so one tag must always mean one image; the Deployment
            # pins the digest anyway, but immutability keeps humans from being misled too.
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS")],
            force_delete=args.force_delete,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )

        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            repository=repository.name,
            policy=json.dumps({
                "rules": [{
                    "rulePriority": 1,
                    "description": f"Keep the last {args.keep_images} images",
                    "selection": {
                        "tagStatus": "any",
                        "countType": "imageCountMoreThan",
                        "countNumber": args.keep_images,
                    },
                    "action": {"type": "expire"},
                }],
            }),
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.repository_url = repository.repository_url
        self.registry_id = repository.registry_id
        self.repository_name = repository.name
        self.register_outputs({
            "repository_url": self.repository_url,
            "registry_id": self.registry_id,
            "repository_name": self.repository_name,
        })
