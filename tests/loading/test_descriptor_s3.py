"""descriptor_s3: keys, prefixes, versions and revalidation against moto's S3 server over HTTP."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grpc_transcoder.errors import DescriptorError
from grpc_transcoder.loading import s3 as descriptor_s3
from grpc_transcoder.loading import s3_signed
from grpc_transcoder.loading import sources as descriptor_source
from grpc_transcoder.loading.s3 import S3Location

BUCKET = "descriptor-sets"


def problems(excinfo: pytest.ExceptionInfo[DescriptorError]) -> tuple[str, ...]:
    return excinfo.value.problems


# -- S3 locations ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "location"),
    [
        pytest.param("s3://b/k.binpb", S3Location("b", "k.binpb"), id="key"),
        pytest.param("s3://b/dir/k?versionId=v1", S3Location("b", "dir/k", "v1"), id="version"),
        pytest.param("s3://b/sets/", S3Location("b", "sets/"), id="prefix"),
        pytest.param("s3://b", S3Location("b", ""), id="whole-bucket"),
    ],
)
def test_s3_locations_parse(uri: str, location: S3Location) -> None:
    assert descriptor_s3.parse_s3(uri) == location


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        pytest.param("s3:///key", "not a valid S3 location (no bucket)", id="no-bucket"),
        pytest.param("s3://b/k?version=1", "unknown parameter 'version'", id="unknown-parameter"),
        pytest.param("s3://b/dir/?versionId=1", "versionId needs an object key", id="prefix-pin"),
    ],
)
def test_invalid_s3_locations_are_named(uri: str, problem: str) -> None:
    with pytest.raises(DescriptorError) as caught:
        descriptor_s3.parse_s3(uri)
    (found,) = problems(caught)
    assert found.startswith(f"{uri}: ")
    assert problem in found


@given(st.text(max_size=40))
def test_any_s3_uri_parses_or_raises_the_documented_error(text: str) -> None:
    uri = "s3://" + text
    problem = ""
    try:
        location = descriptor_s3.parse_s3(uri)
    except DescriptorError as exc:
        problem = exc.problems[0]
    if problem:
        assert problem.startswith(f"{uri}: ")
        return
    assert location.bucket
    assert not (location.version_id and location.is_prefix)


@dataclass
class Calls:
    """The S3 requests the shared client made: (operation, HTTP status, If-None-Match)."""

    seen: list[tuple[str, int, str]] = field(default_factory=list)


class Recording:
    """An ObjectReader that records the requests of the one it wraps."""

    def __init__(self, reader: descriptor_s3.ObjectReader, calls: Calls) -> None:
        self.reader, self.calls = reader, calls

    def get_object(
        self, bucket: str, key: str, *, version_id: str = "", if_none_match: str = ""
    ) -> tuple[bytes, str] | None:
        found = self.reader.get_object(
            bucket, key, version_id=version_id, if_none_match=if_none_match
        )
        self.calls.seen.append(("GetObject", 304 if found is None else 200, if_none_match))
        return found

    def list_keys(self, bucket: str, prefix: str) -> dict[str, str]:
        listed = self.reader.list_keys(bucket, prefix)
        self.calls.seen.append(("ListObjectsV2", 200, ""))
        return listed


def reader_of(kind: str, monkeypatch: pytest.MonkeyPatch) -> descriptor_s3.ObjectReader:
    """A fresh client of the kind the tests run with, for the moto server of the environment."""
    if kind == "botocore":
        return descriptor_s3.BotocoreReader(descriptor_s3.botocore_client())
    for name in s3_signed.BOTOCORE_ONLY:  # e.g. a proxy this machine reaches PyPI through
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(descriptor_s3, "_client", None)
    reader = descriptor_s3.s3_client()
    assert isinstance(reader, s3_signed.SignedClient)  # what Lambda's environment gets
    return reader


@pytest.fixture(params=["signed", "botocore"])
def s3_calls(s3: Any, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Calls:
    """A fresh shared client of each kind for this test's moto server, recording its calls."""
    calls = Calls()
    reader = reader_of(request.param, monkeypatch)
    monkeypatch.setattr(descriptor_s3, "_client", Recording(reader, calls))
    s3.create_bucket(Bucket=BUCKET)
    return calls


def put(s3: Any, key: str, data: bytes) -> str:
    response = s3.put_object(Bucket=BUCKET, Key=key, Body=data)
    return str(response.get("VersionId", ""))


def test_an_s3_key_is_read_with_its_etag(s3: Any, s3_calls: Calls) -> None:
    put(s3, "api.binpb", b"set")
    (blob,) = descriptor_source.read_all([f"s3://{BUCKET}/api.binpb"])
    assert (blob.uri, blob.data) == (f"s3://{BUCKET}/api.binpb", b"set")
    assert blob.etag.startswith('"')


def test_a_prefix_yields_its_objects_in_key_order(s3: Any, s3_calls: Calls) -> None:
    for key in ("sets/b.binpb", "sets/a.binpb", "sets/sub/c.binpb", "sets/", "other/x.binpb"):
        put(s3, key, key.encode())
    blobs = descriptor_source.read_all([f"s3://{BUCKET}/sets/"])
    assert [b.uri for b in blobs] == [
        f"s3://{BUCKET}/sets/a.binpb",
        f"s3://{BUCKET}/sets/b.binpb",
        f"s3://{BUCKET}/sets/sub/c.binpb",
    ]
    assert blobs[2].data == b"sets/sub/c.binpb"


def test_an_empty_prefix_is_an_error(s3: Any, s3_calls: Calls) -> None:
    with pytest.raises(DescriptorError) as caught:
        descriptor_source.read_all([f"s3://{BUCKET}/nothing/"])
    assert problems(caught) == (f"s3://{BUCKET}/nothing/: no objects under this prefix",)


def test_a_version_id_pins_an_older_object(s3: Any, s3_calls: Calls) -> None:
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    first = put(s3, "api.binpb", b"version one")
    put(s3, "api.binpb", b"version two")
    uri = f"s3://{BUCKET}/api.binpb?versionId={first}"
    (blob,) = descriptor_source.read_all([uri])
    assert (blob.uri, blob.data) == (uri, b"version one")


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        pytest.param(
            "s3://no-such-bucket/api.binpb",
            "s3://no-such-bucket/api.binpb: cannot read (NoSuchBucket: "
            "The specified bucket does not exist; check the bucket name and the region",
            id="missing-bucket",
        ),
        pytest.param(
            f"s3://{BUCKET}/missing.binpb",
            f"s3://{BUCKET}/missing.binpb: cannot read (NoSuchKey: "
            "The specified key does not exist.; check the key; upload the set first)",
            id="missing-key",
        ),
        pytest.param(
            "s3://no-such-bucket/sets/",
            "s3://no-such-bucket/sets/: cannot list objects (NoSuchBucket: ",
            id="missing-bucket-prefix",
        ),
        pytest.param(
            f"s3://{BUCKET}/api.binpb?versionId=nope",
            f"s3://{BUCKET}/api.binpb?versionId=nope: cannot read (NoSuchVersion: ",
            id="missing-version",
        ),
    ],
)
def test_missing_objects_name_the_uri_and_the_cause(
    s3: Any, s3_calls: Calls, uri: str, expected: str
) -> None:
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    put(s3, "api.binpb", b"set")
    with pytest.raises(DescriptorError) as caught:
        descriptor_source.read_all([uri])
    (found,) = problems(caught)
    assert found.startswith(expected)


def test_access_denied_names_the_uri_and_the_permission(s3: Any, s3_calls: Calls) -> None:
    # moto has no IAM here, but it enforces an explicit Deny in a bucket policy.
    put(s3, "api.binpb", b"set")
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{BUCKET}/*",
            }
        ],
    }
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(deny))
    with pytest.raises(DescriptorError) as caught:
        descriptor_source.read_all([f"s3://{BUCKET}/api.binpb"])
    (found,) = problems(caught)
    assert found.startswith(f"s3://{BUCKET}/api.binpb: cannot read (403: Forbidden; ")
    assert "needs s3:GetObject" in found


def test_errors_without_an_s3_response_are_described_by_type() -> None:
    assert descriptor_s3.describe(TimeoutError("read timed out")) == (
        "TimeoutError: read timed out"
    )


# -- revalidation ---------------------------------------------------------------------------


def test_an_unchanged_key_answers_304_and_nothing_is_read(s3: Any, s3_calls: Calls) -> None:
    put(s3, "api.binpb", b"set")
    snapshot = descriptor_source.snapshot([f"s3://{BUCKET}/api.binpb"])
    etag = snapshot.blobs[0].etag
    s3_calls.seen.clear()
    assert descriptor_source.revalidate(snapshot) is None
    assert s3_calls.seen == [("GetObject", 304, etag)]


def test_a_changed_key_is_read_again(s3: Any, s3_calls: Calls) -> None:
    put(s3, "api.binpb", b"old")
    snapshot = descriptor_source.snapshot([f"s3://{BUCKET}/api.binpb"])
    put(s3, "api.binpb", b"new")
    fresh = descriptor_source.revalidate(snapshot)
    assert fresh is not None
    assert [b.data for b in fresh.blobs] == [b"new"]
    assert fresh.blobs[0].etag != snapshot.blobs[0].etag


def test_an_unchanged_prefix_costs_one_listing(s3: Any, s3_calls: Calls) -> None:
    put(s3, "sets/a.binpb", b"a")
    put(s3, "sets/b.binpb", b"b")
    snapshot = descriptor_source.snapshot([f"s3://{BUCKET}/sets/"])
    s3_calls.seen.clear()
    assert descriptor_source.revalidate(snapshot) is None
    assert s3_calls.seen == [("ListObjectsV2", 200, "")]


def test_a_changed_prefix_downloads_only_what_changed(s3: Any, s3_calls: Calls) -> None:
    put(s3, "sets/a.binpb", b"a")
    put(s3, "sets/b.binpb", b"b")
    snapshot = descriptor_source.snapshot([f"s3://{BUCKET}/sets/"])
    put(s3, "sets/b.binpb", b"b2")
    put(s3, "sets/c.binpb", b"c")
    s3_calls.seen.clear()
    fresh = descriptor_source.revalidate(snapshot)
    assert fresh is not None
    assert [b.data for b in fresh.blobs] == [b"a", b"b2", b"c"]
    assert fresh.blobs[0] is snapshot.blobs[0]
    assert [call[0] for call in s3_calls.seen] == ["ListObjectsV2", "GetObject", "GetObject"]


def test_pinned_versions_and_local_files_are_never_asked_again(
    s3: Any, s3_calls: Calls, tmp_path: Path
) -> None:
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    version = put(s3, "api.binpb", b"pinned")
    local = tmp_path / "local.binpb"
    local.write_bytes(b"local")
    snapshot = descriptor_source.snapshot(
        [f"s3://{BUCKET}/api.binpb?versionId={version}", str(local)]
    )
    assert not snapshot.revalidates
    local.unlink()
    s3_calls.seen.clear()
    assert descriptor_source.revalidate(snapshot) is None
    assert s3_calls.seen == []


def test_a_deleted_source_is_reported_on_revalidation(s3: Any, s3_calls: Calls) -> None:
    put(s3, "api.binpb", b"set")
    put(s3, "sets/a.binpb", b"a")
    snapshot = descriptor_source.snapshot([f"s3://{BUCKET}/api.binpb", f"s3://{BUCKET}/sets/"])
    assert snapshot.revalidates
    s3.delete_object(Bucket=BUCKET, Key="api.binpb")
    s3.delete_object(Bucket=BUCKET, Key="sets/a.binpb")
    with pytest.raises(DescriptorError) as caught:
        descriptor_source.revalidate(snapshot)
    assert [p.split(" (")[0] for p in problems(caught)] == [
        f"s3://{BUCKET}/api.binpb: cannot read",
        f"s3://{BUCKET}/sets/: no objects under this prefix",
    ]


@pytest.mark.parametrize(
    ("environ", "mode"),
    [
        pytest.param({}, "standard", id="default"),
        pytest.param({"AWS_RETRY_MODE": "adaptive"}, "adaptive", id="sdk-setting"),
    ],
)
def test_the_botocore_client_fails_fast_enough_for_the_init_phase(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], mode: str
) -> None:
    monkeypatch.delenv("AWS_RETRY_MODE", raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    config = descriptor_s3.botocore_client().meta.config
    assert (config.connect_timeout, config.read_timeout) == (3.0, 10.0)
    assert config.retries["mode"] == mode
