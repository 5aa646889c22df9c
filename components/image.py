"""The backend's container image: built from app/, pushed to ECR under a content tag, run by digest.

Why it is built this way (pulumi-docker 4.11 `docker.Image`, ECR repository with IMMUTABLE tags):

* ECR refuses a push under a tag it already holds. pulumi-docker's Diff compares every old input
  with the new (imageName, build incl. context, dockerfile and the `contextDigest` its Check adds,
  skipPush, registry.server) and any difference is an Update that builds and pushes again. A
  rebuilt image is never byte-identical (layer timestamps), so every such push under a held tag
  fails. Hence one rule: **this program never builds an image ECR already holds under its content
  tag.** At program time (preview and up alike) it asks ECR which tags the repository holds; if it
  holds ours, the Deployment runs that image's digest and no `docker.Image` is declared at all.
  That covers the second `up` of a commit from any checkout (other path, other umask: Check's
  `contextDigest` hashes file modes, so pulumi-docker would otherwise rebuild) and a revert to a
  tag the lifecycle policy still keeps.
* `ignore_changes` cannot do this job. The engine (pulumi/pulumi step_generator.go) resets ignored
  properties to their old values *before* calling the provider's Check, and docker's Check then
  recomputes `build.contextDigest` from the files on disk anyway; the engine passes
  `IgnoreChanges` on to Diff, but docker's Diff never reads it (it diffs all old `__inputs`).
  Ignoring `build` would also hide real changes (platform) and, on a revert, push the reverted
  files under the newer state's tag.
* The tag covers everything docker reads: every file it sends after .dockerignore (docker's own
  matching rules), the Dockerfile and .dockerignore themselves (app/.dockerignore starts with `*`,
  yet docker always reads both), the platform and the build args. File modes are left out except
  the executable bit, the one git records: a checkout under another umask is the same commit and
  must find the same tag. (docker COPY does copy the group bits; that difference is not worth a
  second image of one commit.)
* Build paths are relative to the project directory, where the CLI runs the program and the
  provider plugin: state written from one checkout means the same in any other.

What this cannot make perfect with pulumi-docker 4.x, and what it does instead:

* The `up` right after a build finds its tag held, declares no `docker.Image`, and so the engine
  shows one `delete` of the previous `docker:index/image:Image` record. pulumi-docker's Delete is a
  no-op (nothing is removed from ECR or the daemon) and the Deployment's image string is the same
  digest, so nothing else changes; later `up`s of that commit show nothing. The alternative that
  keeps the record (declaring it again) cannot tell "state holds this tag" from "a revert to an
  old tag", and the latter would be pushed and refused.
* First preview of a new stack: the repository does not exist, so its URL and hence `imageName`
  are unknown; pulumi-docker then skips the preview build (its canPreview needs a known
  imageName) with a warning. Every later preview (a pull request against an existing stack)
  builds a changed image, so a broken Dockerfile still fails the PR's preview.
* An image deleted from ECR by hand while state still records it under the same tag is not
  rebuilt by a second `up` from the same checkout (pulumi-docker's Read does not look at the
  registry). The lifecycle policy never does this: it expires the oldest images, and state always
  records the newest push.
* `pulumi destroy` does not run this program; the docker provider's Delete removes nothing.
  Images go with the repository (the registry's force_delete) or stay (prod).
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

TAG_LENGTH = 16
DOCKERFILE = "Dockerfile"
DOCKERIGNORE = ".dockerignore"
# Part of every tag: changing what the tag covers must change every tag, never reuse one.
_TAG_SCHEME = b"backend-on-eks image tag v2\0"


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[str]
    exclusion: bool


def _read_dockerignore(text: str) -> list[_Pattern]:
    """The patterns as docker reads them (moby dockerignore.ReadAll, patternmatcher): trimmed,
    `#` lines skipped, `!` inverts, each path cleaned and made relative to the context root."""
    patterns = []
    for line in text.removeprefix("\ufeff").splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        exclusion = pattern.startswith("!")
        if exclusion:
            pattern = pattern[1:].strip()
        if pattern:
            pattern = posixpath.normpath(pattern)
            if len(pattern) > 1 and pattern.startswith("/"):
                pattern = pattern.lstrip("/") or "/"
        patterns.append(_Pattern(_compile(pattern), exclusion))
    return patterns


def _compile(pattern: str) -> re.Pattern[str]:
    """docker's translation of one pattern to a regular expression: `*` and `?` stop at `/`,
    `**` crosses directories (`**/` may match none), `[...]` is a character class, `\\` escapes."""
    regex, index = "", 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**", index):
            index += 2
            if pattern.startswith("/", index):
                index += 1
            regex += ".*" if index == len(pattern) else "(.*/)?"
            continue
        if char == "*":
            regex += "[^/]*"
        elif char == "?":
            regex += "[^/]"
        elif char == "\\" and index + 1 < len(pattern):
            index += 1
            regex += re.escape(pattern[index])
        elif char in ".+()|{}$":
            regex += "\\" + char
        else:
            regex += char
        index += 1
    try:
        return re.compile(f"^{regex}$")
    except re.error as error:
        raise ValueError(f"{DOCKERIGNORE}: docker cannot read the pattern {pattern!r}: {error}") from error


def _sent(relative: str, patterns: list[_Pattern]) -> bool:
    """Whether docker sends the file: the last pattern matching it or one of its parent
    directories decides (moby patternmatcher MatchesOrParentMatches)."""
    parts = relative.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for pattern in patterns:
        if any(pattern.regex.match(candidate) for candidate in candidates):
            excluded = not pattern.exclusion
    return not excluded


def sent_files(context: str | os.PathLike) -> list[str]:
    """The files (context-relative, `/`-separated, sorted) that docker sends as build context."""
    root = Path(context)
    ignore_file = root / DOCKERIGNORE
    patterns = _read_dockerignore(ignore_file.read_text()) if ignore_file.exists() else []
    files = (p for p in root.rglob("*") if p.is_file() or p.is_symlink())
    return sorted(
        relative for relative in (p.relative_to(root).as_posix() for p in files) if _sent(relative, patterns)
    )


def _file_digest(path: Path) -> bytes:
    if path.is_symlink():
        return hashlib.sha256(b"symlink\0" + os.readlink(path).encode()).digest()
    return hashlib.sha256(path.read_bytes()).digest()


def content_tag(context: str | os.PathLike, platform: str, build_args: Mapping[str, str] | None = None) -> str:
    """A tag that changes exactly when something docker reads for this build changes.

    Same commit, same tag, in any checkout: so ECR's answer to "do you hold this tag?" tells
    whether this exact image was built before.
    """
    root = Path(context)
    digest = hashlib.sha256(_TAG_SCHEME)
    digest.update(b"platform\0" + platform.encode() + b"\0")
    for name, value in sorted((build_args or {}).items()):
        digest.update(b"arg\0" + name.encode() + b"\0" + value.encode() + b"\0")
    # docker reads both whatever .dockerignore says about them.
    for name in (DOCKERFILE, DOCKERIGNORE):
        path = root / name
        digest.update(name.encode() + b"\0" + (_file_digest(path) if path.exists() else b"absent"))
    for relative in sent_files(root):
        path = root / relative
        executable = not path.is_symlink() and bool(path.stat().st_mode & stat.S_IXUSR)
        digest.update(b"file\0" + relative.encode() + (b"\0x" if executable else b"\0-") + _file_digest(path))
    return digest.hexdigest()[:TAG_LENGTH]


def repository_images(repository_name: str, opts: Optional[pulumi.InvokeOptions] = None) -> Optional[dict[str, tuple[str, ...]]]:
    """Each image digest the repository holds, with its tags; None when the repository does not
    exist yet (a new stack's first preview and up).

    Plain invokes, so the answer decides what the program declares, in preview as in up. The
    repositories are listed first because ECR answers ListImages on a missing repository with
    RepositoryNotFoundException, which would fail the program.
    """
    names = aws.ecr.get_repositories(opts=opts).names or []
    if repository_name not in names:
        return None
    images: dict[str, tuple[str, ...]] = {}
    # ListImages answers one entry per tag (and one without a tag for an untagged image).
    for image in aws.ecr.get_images(repository_name=repository_name, opts=opts).image_ids or []:
        tags = images.setdefault(image.image_digest, ())
        if image.image_tag:
            images[image.image_digest] = (*tags, image.image_tag)
    return images


def held_image_digest(repository_name: str, tag: str, opts: Optional[pulumi.InvokeOptions] = None) -> Optional[str]:
    """The digest ECR holds under `tag` in the repository, or None (also when the repository does
    not exist yet)."""
    for digest, tags in (repository_images(repository_name, opts) or {}).items():
        if tag in tags:
            return digest
    return None


@dataclass
class ImageArgs:
    context: str
    """The build context, relative to the project directory (the CLI's working directory)."""
    platform: str
    repository_name: str
    """The ECR repository's name, known before anything is created: ECR is asked about it at
    program time."""
    repository_url: pulumi.Input[str]
    registry_id: pulumi.Input[str]
    build_args: Mapping[str, str] = field(default_factory=dict)
    pinned_digest: str = ""
    """An image the repository holds (checked before anything is declared: image_pin.py), run
    instead of building `context`; "" to build."""
    pinned_tags: tuple[str, ...] = ()
    """The tags the repository holds the pinned image under."""


class Image(pulumi.ComponentResource):
    image_name: pulumi.Output[str]
    repo_digest: pulumi.Output[str]
    """`<repository>@sha256:...`: what the Deployment runs."""
    tag: str
    built: bool
    """Whether this run declares a build (False: ECR already holds the tag)."""

    def __init__(self, name: str, args: ImageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend-on-eks:index:Image", name, None, opts)
        if Path(args.context).is_absolute():
            raise ValueError(
                f"image context {args.context!r} must be relative to the project directory: an absolute "
                "path is stored in state and differs in every checkout"
            )

        if args.pinned_digest:
            self._pinned(args)
        else:
            self._of_the_checkout(name, args)
        self.register_outputs({"image_name": self.image_name, "repo_digest": self.repo_digest})

    def _pinned(self, args: ImageArgs) -> None:
        # A rollback: nothing of app/ is read, built or pushed.
        self.tag = args.pinned_tags[0] if args.pinned_tags else ""
        self.built = False
        self.image_name = self.repo_digest = pulumi.Output.concat(args.repository_url, "@", args.pinned_digest)
        pulumi.log.info(f"imageDigest pins {args.pinned_digest}: deploying it, nothing to build", resource=self)

    def _of_the_checkout(self, name: str, args: ImageArgs) -> None:
        self.tag = content_tag(args.context, args.platform, args.build_args)
        self.image_name = pulumi.Output.concat(args.repository_url, ":", self.tag)
        held = held_image_digest(args.repository_name, self.tag, pulumi.InvokeOptions(parent=self))
        self.built = held is None

        if held is not None:
            pulumi.log.info(f"ECR already holds tag {self.tag}: deploying {held}, nothing to build", resource=self)
            self.repo_digest = pulumi.Output.concat(args.repository_url, "@", held)
        else:
            token = aws.ecr.get_authorization_token_output(
                registry_id=args.registry_id, opts=pulumi.InvokeOutputOptions(parent=self)
            )
            image = docker.Image(
                f"{name}-image",
                image_name=self.image_name,
                build=docker.DockerBuildArgs(
                    context=args.context,
                    dockerfile=posixpath.join(Path(args.context).as_posix(), DOCKERFILE),
                    platform=args.platform,
                    args=dict(args.build_args) or None,
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
            self.repo_digest = image.repo_digest
