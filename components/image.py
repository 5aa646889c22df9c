"""The backend's container image: built from app/, pushed to ECR, addressed by digest."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

TAG_LENGTH = 16


def _ignore_patterns(context: Path) -> list[str]:
    ignore_file = context / ".dockerignore"
    if not ignore_file.exists():
        return []
    lines = (line.strip() for line in ignore_file.read_text().splitlines())
    return [line.rstrip("/") for line in lines if line and not line.startswith("#")]


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """Docker's .dockerignore matching: anchored at the context root, `*` and `?` stop at `/`,
    `**` crosses directories. Matching docker exactly matters: with immutable ECR tags, a file
    docker sends but the tag ignores would rebuild under an old tag and fail the push."""
    regex, index = "", 0
    while index < len(pattern):
        if pattern.startswith("**", index):
            regex, index = regex + ".*", index + 2
        elif pattern[index] == "*":
            regex, index = regex + "[^/]*", index + 1
        elif pattern[index] == "?":
            regex, index = regex + "[^/]", index + 1
        else:
            regex, index = regex + re.escape(pattern[index]), index + 1
    return re.compile(regex)


def _ignored(relative: str, patterns: list[str]) -> bool:
    parts = relative.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        regex = _pattern_regex(pattern.lstrip("!").strip("/"))
        # A pattern that matches a directory excludes everything beneath it.
        if any(regex.fullmatch(candidate) for candidate in candidates):
            ignored = not negated
    return ignored


def content_tag(context: str | os.PathLike) -> str:
    """A tag that changes exactly when a file docker would send as build context changes.

    Same sources, same tag: a second `pulumi up` sees no new image name and pushes nothing.
    """
    root = Path(context)
    patterns = _ignore_patterns(root)
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if _ignored(relative, patterns):
            continue
        digest.update(relative.encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:TAG_LENGTH]


@dataclass
class ImageArgs:
    context: str
    platform: str
    repository_url: pulumi.Input[str]
    registry_id: pulumi.Input[str]


class Image(pulumi.ComponentResource):
    image_name: pulumi.Output[str]
    repo_digest: pulumi.Output[str]

    def __init__(self, name: str, args: ImageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend-on-eks:index:Image", name, None, opts)

        token = aws.ecr.get_authorization_token_output(
            registry_id=args.registry_id, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        image = docker.Image(
            f"{name}-image",
            image_name=pulumi.Output.concat(args.repository_url, ":", content_tag(args.context)),
            build=docker.DockerBuildArgs(
                context=args.context,
                dockerfile=str(Path(args.context) / "Dockerfile"),
                platform=args.platform,
            ),
            # Credentials go to the Image itself, not to a docker Provider: the Image ignores a
            # changed username or password when diffing (pulumi-docker#498), so ECR's 12-hour
            # token does not show a change on every run, while a provider's registryAuth does
            # (pulumi-docker#952). The server is the repository URL, which never changes.
            registry=docker.RegistryArgs(
                server=args.repository_url,
                username=token.user_name,
                password=pulumi.Output.secret(token.password),
            ),
            # A broken Dockerfile must fail the pull request's preview, not the deploy.
            build_on_preview=True,
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.image_name = image.image_name
        self.repo_digest = image.repo_digest
        self.register_outputs({"image_name": self.image_name, "repo_digest": self.repo_digest})
