"""Descriptor sources: read serialized FileDescriptorSets from local files, directories and S3.

Input: the locations of `TRANSCODER_DESCRIPTORS`. Output: a `Snapshot` (the bytes of every set and
where they came from, in a deterministic order), and later a revalidated Snapshot or None.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from grpc_transcoder.errors import DescriptorError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger(__name__)

DIRECTORY_SUFFIXES = (".binpb", ".pb", ".desc")
NOT_MODIFIED = 304

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Blob:
    """One serialized FileDescriptorSet, the URI it was read from and its S3 ETag (if any)."""

    uri: str
    data: bytes
    etag: str = ""


@dataclass(frozen=True, slots=True)
class Source:
    """One configured location and the sets it held when read."""

    location: str
    blobs: tuple[Blob, ...]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every location, in configuration order, with what it held; immutable."""

    sources: tuple[Source, ...]

    @property
    def blobs(self) -> tuple[Blob, ...]:
        return tuple(blob for source in self.sources for blob in source.blobs)

    @property
    def revalidates(self) -> bool:
        """Whether any source can change: an S3 location without a pinned version."""
        return any(_can_change(source.location) for source in self.sources)


@dataclass(frozen=True, slots=True)
class S3Location:
    bucket: str
    key: str
    version_id: str = ""

    @property
    def is_prefix(self) -> bool:
        return self.key == "" or self.key.endswith("/")


def parse_s3(uri: str) -> S3Location:
    """`s3://bucket/key`, `s3://bucket/key?versionId=...` or `s3://bucket/prefix/`."""
    try:
        parts = urlsplit(uri)
    except ValueError as exc:  # e.g. an unbalanced "[" taken for an IPv6 address
        raise DescriptorError([f"{uri}: not a valid S3 location ({exc})"]) from None
    query = parse_qs(parts.query)
    unknown = set(query) - {"versionId"}
    if not parts.netloc or unknown:
        reason = f"unknown parameter {sorted(unknown)[0]!r}" if unknown else "no bucket"
        raise DescriptorError([f"{uri}: not a valid S3 location ({reason})"])
    location = S3Location(parts.netloc, parts.path.lstrip("/"), query.get("versionId", [""])[0])
    if location.version_id and location.is_prefix:
        raise DescriptorError([f"{uri}: versionId needs an object key, not a prefix"])
    return location


def read_all(locations: Sequence[str]) -> list[Blob]:
    """Every set named by `locations`, in order; all unreadable locations reported together."""
    return list(snapshot(locations).blobs)


def snapshot(locations: Sequence[str]) -> Snapshot:
    """Read every location; raises DescriptorError naming each one that cannot be read."""
    read_ok, problems = read_each(locations)
    if problems:
        raise DescriptorError(problems)
    return read_ok


def read_each(locations: Sequence[str]) -> tuple[Snapshot, tuple[str, ...]]:
    """What could be read, and a problem for each location that could not.

    Lets a caller check the sets that were read in the same pass, so that one report holds
    every problem.
    """
    if not locations:
        return Snapshot(()), ("TRANSCODER_DESCRIPTORS is empty: name at least one descriptor set",)
    sources, problems = _each(locations, lambda location: Source(location, tuple(read(location))))
    return Snapshot(sources), problems


def revalidate(previous: Snapshot) -> Snapshot | None:
    """None when no source changed since `previous`, else a new Snapshot.

    Only S3 locations without a pinned version are asked, with conditional requests: a key
    with If-None-Match on its ETag, a prefix by listing it and comparing keys and ETags (only
    new or changed objects are downloaded). Local files are part of the deployment and are
    not read again. Raises DescriptorError naming each location that cannot be read.
    """
    sources, problems = _each(previous.sources, _refresh)
    if problems:
        raise DescriptorError(problems)
    if all(new is old for new, old in zip(sources, previous.sources, strict=True)):
        return None
    return Snapshot(sources)


def _refresh(source: Source) -> Source:
    """`source` itself when unchanged, else what the location holds now."""
    if not _can_change(source.location):
        return source
    return _revalidate_s3(source) or source


def _each(
    items: Sequence[T], read_one: Callable[[T], Source]
) -> tuple[tuple[Source, ...], tuple[str, ...]]:
    """`read_one` applied to each item: the sources read and the problems of the others."""
    sources: list[Source] = []
    problems: list[str] = []
    for item in items:
        try:
            sources.append(read_one(item))
        except DescriptorError as exc:
            problems.extend(exc.problems)
    return tuple(sources), tuple(problems)


def _can_change(location: str) -> bool:
    return location.startswith("s3://") and not parse_s3(location).version_id


def read(location: str) -> list[Blob]:
    """The sets at one location (several for a directory or an S3 prefix)."""
    if location.startswith("s3://"):
        return read_s3(parse_s3(location), uri=location)
    return read_local(Path(location))


def read_local(path: Path) -> list[Blob]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in DIRECTORY_SUFFIXES and p.is_file())
        if not files:
            suffixes = ", ".join("*" + s for s in DIRECTORY_SUFFIXES)
            raise DescriptorError([f"{path}: directory holds no descriptor sets ({suffixes})"])
        return [Blob(str(p), _read_file(p)) for p in files]
    return [Blob(str(path), _read_file(path))]


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DescriptorError([f"{path}: cannot read ({exc.strerror or exc})"]) from exc


def read_s3(location: S3Location, *, uri: str) -> list[Blob]:
    client = s3_client()
    if not location.is_prefix:
        return [get_object(client, location, uri=uri)]
    return [
        get_object(client, S3Location(location.bucket, key), uri=f"s3://{location.bucket}/{key}")
        for key in list_keys(client, location, uri=uri)
    ]


def list_keys(client: S3Client, location: S3Location, *, uri: str) -> dict[str, str]:
    """Key -> ETag of every object under a prefix, sorted by key; "directory" keys skipped."""
    keys: dict[str, str] = {}
    try:
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=location.bucket, Prefix=location.key):
            for item in page.get("Contents", []):
                if not item["Key"].endswith("/"):
                    keys[item["Key"]] = str(item.get("ETag", ""))
    except Exception as exc:
        raise DescriptorError([f"{uri}: cannot list objects ({describe(exc)})"]) from exc
    if not keys:
        raise DescriptorError([f"{uri}: no objects under this prefix"])
    return dict(sorted(keys.items()))


def get_object(
    client: S3Client, location: S3Location, *, uri: str, if_none_match: str = ""
) -> Blob:
    """The object's bytes and ETag. With `if_none_match`, raises _NotModified on a 304."""
    args: dict[str, Any] = {"Bucket": location.bucket, "Key": location.key}
    if location.version_id:
        args["VersionId"] = location.version_id
    if if_none_match:
        args["IfNoneMatch"] = if_none_match
    try:
        response = client.get_object(**args)
        data = response["Body"].read()
    except Exception as exc:
        if if_none_match and _status(exc) == NOT_MODIFIED:
            raise _NotModified from None
        raise DescriptorError([f"{uri}: cannot read ({describe(exc)})"]) from exc
    return Blob(uri, data, etag=str(response.get("ETag", "")))


class _NotModified(Exception):
    """The object still has the ETag sent in If-None-Match (boto3 reports 304 as an error)."""


def _revalidate_s3(source: Source) -> Source | None:
    """A fresh Source when the S3 location changed, else None."""
    location = parse_s3(source.location)
    client = s3_client()
    if not location.is_prefix:
        (blob,) = source.blobs
        try:
            fresh = get_object(client, location, uri=source.location, if_none_match=blob.etag)
        except _NotModified:
            return None
        return Source(source.location, (fresh,))
    listed = list_keys(client, location, uri=source.location)
    before = [(blob.uri, blob.etag) for blob in source.blobs]
    if before == [(_uri(location, key), etag) for key, etag in listed.items()]:
        return None
    known = {blob.uri: blob for blob in source.blobs}
    blobs = [_reuse_or_get(client, location, key, etag, known) for key, etag in listed.items()]
    return Source(source.location, tuple(blobs))


def _uri(location: S3Location, key: str) -> str:
    return f"s3://{location.bucket}/{key}"


def _reuse_or_get(
    client: S3Client, location: S3Location, key: str, etag: str, known: dict[str, Blob]
) -> Blob:
    uri = _uri(location, key)
    old = known.get(uri)
    if old is not None and old.etag == etag:
        return old
    return get_object(client, S3Location(location.bucket, key), uri=uri)


_ACCESS_HINT = (
    "the function's role needs s3:GetObject (s3:ListBucket for a prefix, "
    "s3:GetObjectVersion for a versionId) and the bucket policy must allow it"
)
# Hints for the errors people actually meet when pointing a function at a bucket. A GET whose
# error has no body (HEAD-like answers) reports the bare status code, hence "403".
_HINTS = {
    "AccessDenied": _ACCESS_HINT,
    "403": _ACCESS_HINT,
    "NoSuchBucket": "check the bucket name and the region (AWS_REGION)",
    "NoSuchKey": "check the key; upload the set first",
    "NoSuchVersion": "the pinned versionId does not exist for this key",
}


def describe(exc: Exception) -> str:
    """A botocore error as `Code: message (hint)`, anything else as its type and text."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict) or "Error" not in response:
        return f"{type(exc).__name__}: {exc}"
    error = response["Error"]
    code = str(error.get("Code", "Error"))
    text = f"{code}: {error.get('Message', '')}".rstrip(": ")
    hint = _HINTS.get(code)
    return f"{text}; {hint}" if hint else text


def _status(exc: Exception) -> int:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return 0
    return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


_client: S3Client | None = None


# botocore waits 60 s to connect and retries 5 times by default ("legacy" mode): a function
# with no route to S3 (a VPC without an S3 endpoint) would overrun Lambda's 10 s init phase
# instead of answering 503 and saying why. 3 attempts of at most 3 s stay inside it.
CONNECT_TIMEOUT_SECONDS = 3.0
READ_TIMEOUT_SECONDS = 10.0
DEFAULT_RETRY_MODE = "standard"


def s3_client() -> S3Client:
    """One S3 client per container; boto3 reads region, endpoint and credentials itself.

    The socket timeouts are set here (see above); AWS_MAX_ATTEMPTS applies, and
    AWS_RETRY_MODE replaces the "standard" retry mode used by default.
    """
    global _client  # noqa: PLW0603 - a per-container cache of an expensive object
    if _client is None:
        import boto3  # noqa: PLC0415 - only S3 sources pay for importing boto3
        from botocore.config import Config  # noqa: PLC0415

        config = Config(
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=READ_TIMEOUT_SECONDS,
            retries={"mode": os.environ.get("AWS_RETRY_MODE") or DEFAULT_RETRY_MODE},
        )
        _client = boto3.client("s3", config=config)
    return _client
