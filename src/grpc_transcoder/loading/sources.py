"""Descriptor sources: read serialized FileDescriptorSets from local files, directories and S3.

Input: the locations of `TRANSCODER_DESCRIPTORS`. Output: a `Snapshot` (the bytes of every set and
where they came from, in a deterministic order), and later a revalidated Snapshot or None.
S3 locations are handled by `loading.s3`, imported only when one is configured.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from grpc_transcoder.errors import DescriptorError
from grpc_transcoder.loading.blob import Blob

if TYPE_CHECKING:
    from grpc_transcoder.loading.s3 import S3Location

DIRECTORY_SUFFIXES = (".binpb", ".pb", ".desc")

T = TypeVar("T")


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
    from grpc_transcoder.loading import s3 as descriptor_s3  # noqa: PLC0415 - see the module docstring

    location = descriptor_s3.parse_s3(source.location)
    fresh = descriptor_s3.revalidate(location, uri=source.location, blobs=source.blobs)
    return source if fresh is None else Source(source.location, tuple(fresh))


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
        from grpc_transcoder.loading import s3 as descriptor_s3  # noqa: PLC0415 - see the module docstring

        return descriptor_s3.read(descriptor_s3.parse_s3(location), uri=location)
    return read_local(Path(location))


def parse_s3(uri: str) -> S3Location:
    """`descriptor_s3.parse_s3`: raises DescriptorError for a location that is not valid."""
    from grpc_transcoder.loading import s3 as descriptor_s3  # noqa: PLC0415 - see the module docstring

    return descriptor_s3.parse_s3(uri)


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
