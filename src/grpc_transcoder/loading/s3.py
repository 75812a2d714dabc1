"""Descriptor sets on S3: objects, prefixes and pinned versions, read and revalidated by ETag.

Input: `s3://` locations. Output: `Blob`s, or None when a conditional request
finds nothing changed.

Two clients read S3. In Lambda's environment (the role's keys and the region in environment
variables) it is `s3_signed`: signed HTTPS requests made with the standard library, which keep
botocore out of the cold start. Anywhere else (profiles, SSO, proxies, FIPS...) it is botocore,
imported when the first S3 location is read. Both answer to the same `ObjectReader` methods.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast
from urllib.parse import parse_qs, urlsplit

from grpc_transcoder.errors import DescriptorError
from grpc_transcoder.loading import s3_signed
from grpc_transcoder.loading.blob import Blob

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


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


class ObjectReader(Protocol):
    """What a client of S3 does for the descriptor sources."""

    def get_object(
        self, bucket: str, key: str, *, version_id: str = "", if_none_match: str = ""
    ) -> tuple[bytes, str] | None:
        """The object's bytes and ETag; None when `if_none_match` still matches (304)."""
        ...

    def list_keys(self, bucket: str, prefix: str) -> dict[str, str]:
        """Key -> ETag of every object under `prefix`."""
        ...


def read(location: S3Location, *, uri: str) -> list[Blob]:
    """The object at `location`, or every object under its prefix in key order."""
    client = s3_client()
    if not location.is_prefix:
        return [get_object(client, location, uri=uri)]
    return [
        get_object(client, S3Location(location.bucket, key), uri=f"s3://{location.bucket}/{key}")
        for key in list_keys(client, location, uri=uri)
    ]


def list_keys(client: ObjectReader, location: S3Location, *, uri: str) -> dict[str, str]:
    """Key -> ETag of every object under a prefix, sorted by key; "directory" keys skipped."""
    try:
        listed = client.list_keys(location.bucket, location.key)
    except Exception as exc:
        raise DescriptorError([f"{uri}: cannot list objects ({describe(exc)})"]) from exc
    keys = {key: etag for key, etag in listed.items() if key and not key.endswith("/")}
    if not keys:
        raise DescriptorError([f"{uri}: no objects under this prefix"])
    return dict(sorted(keys.items()))


def get_object(
    client: ObjectReader, location: S3Location, *, uri: str, if_none_match: str = ""
) -> Blob:
    """The object's bytes and ETag. With `if_none_match`, raises _NotModified on a 304."""
    try:
        found = client.get_object(
            location.bucket,
            location.key,
            version_id=location.version_id,
            if_none_match=if_none_match,
        )
    except Exception as exc:
        raise DescriptorError([f"{uri}: cannot read ({describe(exc)})"]) from exc
    if found is None:
        raise _NotModified
    data, etag = found
    return Blob(uri, data, etag=etag)


class _NotModified(Exception):
    """The object still has the ETag sent in If-None-Match."""


def revalidate(location: S3Location, *, uri: str, blobs: Sequence[Blob]) -> list[Blob] | None:
    """What `location` holds now, or None when it still holds `blobs` (same keys and ETags).

    A key is asked with If-None-Match; a prefix is listed, and only new or changed objects
    are downloaded.
    """
    client = s3_client()
    if not location.is_prefix:
        (blob,) = blobs
        try:
            return [get_object(client, location, uri=uri, if_none_match=blob.etag)]
        except _NotModified:
            return None
    listed = list_keys(client, location, uri=uri)
    if [(b.uri, b.etag) for b in blobs] == [(_uri(location, k), e) for k, e in listed.items()]:
        return None
    known = {blob.uri: blob for blob in blobs}
    return [_reuse_or_get(client, location, key, etag, known) for key, etag in listed.items()]


def _uri(location: S3Location, key: str) -> str:
    return f"s3://{location.bucket}/{key}"


def _reuse_or_get(
    client: ObjectReader, location: S3Location, key: str, etag: str, known: dict[str, Blob]
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


_client: ObjectReader | None = None


# botocore waits 60 s to connect and retries 5 times by default ("legacy" mode): a function
# with no route to S3 (a VPC without an S3 endpoint) would overrun Lambda's 10 s init phase
# instead of answering 503 and saying why. 3 attempts of at most 3 s stay inside it.
CONNECT_TIMEOUT_SECONDS = 3.0
READ_TIMEOUT_SECONDS = 10.0
DEFAULT_RETRY_MODE = "standard"


def s3_client() -> ObjectReader:
    """One S3 client per container: signed requests in Lambda's environment, else botocore."""
    global _client  # noqa: PLW0603 - a per-container cache of an expensive object
    if _client is None:
        _client = s3_signed.from_environment(
            os.environ,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=READ_TIMEOUT_SECONDS,
        ) or BotocoreReader(botocore_client())
    return _client


class BotocoreReader:
    """An `ObjectReader` over a botocore S3 client."""

    def __init__(self, client: S3Client) -> None:
        self.client = client

    def get_object(
        self, bucket: str, key: str, *, version_id: str = "", if_none_match: str = ""
    ) -> tuple[bytes, str] | None:
        args: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id:
            args["VersionId"] = version_id
        if if_none_match:
            args["IfNoneMatch"] = if_none_match
        try:
            response = self.client.get_object(**args)
        except Exception as exc:
            # botocore reports a 304 as an error.
            if if_none_match and _status(exc) == s3_signed.NOT_MODIFIED:
                return None
            raise
        return response["Body"].read(), str(response.get("ETag", ""))

    def list_keys(self, bucket: str, prefix: str) -> dict[str, str]:
        keys: dict[str, str] = {}
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                keys[item["Key"]] = str(item.get("ETag", ""))
        return keys


def botocore_client() -> S3Client:
    """A botocore S3 client; botocore reads region, endpoint and credentials itself.

    botocore directly, not boto3: boto3's session adds about 30 ms to the cold start and
    nothing this function uses.

    The socket timeouts are set here (see above); AWS_MAX_ATTEMPTS applies, and
    AWS_RETRY_MODE replaces the "standard" retry mode used by default.
    """
    # Imported here: only botocore's reads pay for importing botocore.
    import botocore.session  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415

    config = Config(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        retries={"mode": os.environ.get("AWS_RETRY_MODE") or DEFAULT_RETRY_MODE},
    )
    session = botocore.session.get_session()
    return cast("S3Client", session.create_client("s3", config=config))
