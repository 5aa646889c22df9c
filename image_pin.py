"""A pinned image (`imageDigest`): the stack runs an image its ECR repository already holds.

How a deploy is rolled back: by hand (`pulumi up --config backend-on-eks:imageDigest=sha256:...`)
or by `python -m ops gate` after a failed verification. settings.py has checked the digest's
form; this asks ECR, before the program declares anything, whether the stack's repository holds
it. A digest the lifecycle policy has expired, one from another stack's repository, or a first
`up` (no repository yet) would otherwise surface at the Deployment's rollout, as pods that cannot
pull their image, after the rest of the stack changed.
"""

from __future__ import annotations

import pulumi

from components.image import repository_images

DIGEST_KEY = "imageDigest"


class PinnedImageMissing(pulumi.RunError):
    """`imageDigest` names an image the stack's repository does not hold."""


def pinned_image_tags(repository_name: str, digest: str) -> tuple[str, ...]:
    """The tags the repository holds the pinned image under (empty when it holds it untagged)."""
    key = f"{pulumi.get_project()}:{DIGEST_KEY}"
    images = repository_images(repository_name)
    if images is None:
        raise PinnedImageMissing(
            f"{key} = {digest!r}: the stack's ECR repository {repository_name} does not exist yet, so it "
            f"holds no image to run; leave {key} empty for the stack's first up, which builds app/"
        )
    if digest not in images:
        raise PinnedImageMissing(
            f"{key} = {digest!r}: the stack's ECR repository {repository_name} holds no image with that "
            f"digest (expired by its lifecycle policy, or from another repository); "
            f"accepted: one of its {len(images)} images, as `aws ecr describe-images --repository-name "
            f"{repository_name}` lists them, or empty to build app/"
        )
    return images[digest]
