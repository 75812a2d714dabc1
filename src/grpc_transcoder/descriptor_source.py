"""Descriptor sources: read serialized FileDescriptorSets from local files, directories and S3.

Input: the locations of `TRANSCODER_DESCRIPTORS`. Output: `Blob`s (the bytes and where they came
from), in a deterministic order. boto3 is imported only when an `s3://` location is used.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from grpc_transcoder.errors import DescriptorError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger(__name__)

DIRECTORY_SUFFIXES = (".binpb", ".pb", ".desc")


@dataclass(frozen=True, slots=True)
class Blob:
    """One serialized FileDescriptorSet and the URI it was read from."""

    uri: str
    data: bytes
    etag: str = ""


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
    parts = urlsplit(uri)
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
    if not locations:
        raise DescriptorError(["TRANSCODER_DESCRIPTORS is empty: name at least one descriptor set"])
    blobs: list[Blob] = []
    problems: list[str] = []
    for location in locations:
        try:
            blobs.extend(read(location))
        except DescriptorError as exc:
            problems.extend(exc.problems)
    if problems:
        raise DescriptorError(problems)
    return blobs


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
    if location.is_prefix:
        keys = list_keys(client, location, uri=uri)
        return [
            get_object(
                client, S3Location(location.bucket, key), uri=f"s3://{location.bucket}/{key}"
            )
            for key in keys
        ]
    return [get_object(client, location, uri=uri)]


def list_keys(client: S3Client, location: S3Location, *, uri: str) -> list[str]:
    """Every object key under a prefix, sorted, skipping "directory" placeholder keys."""
    keys: list[str] = []
    try:
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=location.bucket, Prefix=location.key):
            keys.extend(
                item["Key"] for item in page.get("Contents", []) if not item["Key"].endswith("/")
            )
    except Exception as exc:
        raise DescriptorError([f"{uri}: cannot list objects ({_describe(exc)})"]) from exc
    if not keys:
        raise DescriptorError([f"{uri}: no objects under this prefix"])
    return sorted(keys)


def get_object(client: S3Client, location: S3Location, *, uri: str) -> Blob:
    args: dict[str, Any] = {"Bucket": location.bucket, "Key": location.key}
    if location.version_id:
        args["VersionId"] = location.version_id
    try:
        response = client.get_object(**args)
        data = response["Body"].read()
    except Exception as exc:
        raise DescriptorError([f"{uri}: cannot read ({_describe(exc)})"]) from exc
    return Blob(uri, data, etag=str(response.get("ETag", "")))


def _describe(exc: Exception) -> str:
    """A botocore error as `Code: message`, anything else as its text."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        return f"{error.get('Code', 'Error')}: {error.get('Message', '')}".rstrip(": ")
    return f"{type(exc).__name__}: {exc}"


_client: S3Client | None = None


def s3_client() -> S3Client:
    """One S3 client per container; boto3 reads region, endpoint and credentials itself."""
    global _client  # noqa: PLW0603 - a per-container cache of an expensive object
    if _client is None:
        import boto3  # noqa: PLC0415 - only S3 sources pay for importing boto3

        _client = boto3.client("s3")
    return _client
