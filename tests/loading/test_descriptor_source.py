"""descriptor_source: local files and directories, snapshots and where S3 locations go."""

from __future__ import annotations

from pathlib import Path

import pytest

from grpc_transcoder.errors import DescriptorError
from grpc_transcoder.loading import sources as descriptor_source
from grpc_transcoder.loading.blob import Blob
from grpc_transcoder.loading.sources import Snapshot, Source


def problems(excinfo: pytest.ExceptionInfo[DescriptorError]) -> tuple[str, ...]:
    return excinfo.value.problems


# -- local files ----------------------------------------------------------------------------


def test_a_local_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "api.binpb"
    path.write_bytes(b"set")
    assert descriptor_source.read_all([str(path)]) == [Blob(str(path), b"set")]


def test_a_directory_yields_its_sets_in_name_order(tmp_path: Path) -> None:
    for name in ("b.pb", "a.binpb", "c.desc", "README.md"):
        (tmp_path / name).write_bytes(name.encode())
    (tmp_path / "nested.binpb").mkdir()
    blobs = descriptor_source.read_all([str(tmp_path)])
    assert [Path(b.uri).name for b in blobs] == ["a.binpb", "b.pb", "c.desc"]
    assert blobs[0].data == b"a.binpb"


def test_a_directory_without_sets_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no sets here")
    with pytest.raises(DescriptorError) as caught:
        descriptor_source.read_all([str(tmp_path)])
    assert problems(caught) == (
        f"{tmp_path}: directory holds no descriptor sets (*.binpb, *.pb, *.desc)",
    )


def test_every_unreadable_location_is_reported_together(tmp_path: Path) -> None:
    with pytest.raises(DescriptorError) as caught:
        descriptor_source.read_all([str(tmp_path / "a.binpb"), "s3://", str(tmp_path / "b.pb")])
    assert problems(caught) == (
        f"{tmp_path / 'a.binpb'}: cannot read (No such file or directory)",
        "s3://: not a valid S3 location (no bucket)",
        f"{tmp_path / 'b.pb'}: cannot read (No such file or directory)",
    )


def test_no_location_at_all_is_an_error() -> None:
    with pytest.raises(DescriptorError, match="TRANSCODER_DESCRIPTORS is empty"):
        descriptor_source.snapshot([])


def test_snapshot_blobs_keep_configuration_order() -> None:
    first = Source("one", (Blob("one/a", b"a"), Blob("one/b", b"b")))
    second = Source("two", (Blob("two", b"c"),))
    assert [b.uri for b in Snapshot((second, first)).blobs] == ["two", "one/a", "one/b"]


def test_s3_locations_are_parsed_by_the_s3_module() -> None:
    location = descriptor_source.parse_s3("s3://bucket/sets/api.binpb?versionId=v2")
    assert (location.bucket, location.key, location.version_id) == (
        "bucket",
        "sets/api.binpb",
        "v2",
    )
