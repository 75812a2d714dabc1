"""Descriptor sources: read serialized FileDescriptorSets from local files, directories, S3
and servers (gRPC server reflection).

Input: the locations of `TRANSCODER_DESCRIPTORS` (and the documents of
TRANSCODER_SERVICE_CONFIG). Output: a `Snapshot` (the bytes of every set and where they came
from, in a deterministic order), and later a revalidated Snapshot or None. S3 locations are
handled by `loading.s3`, reflection locations by `loading.reflection`, each imported only when
one is configured.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from grpc_transcoder.errors import DescriptorError
from grpc_transcoder.loading.blob import Blob
from grpc_transcoder.settings import Settings

if TYPE_CHECKING:
    from grpc_transcoder.loading.s3 import S3Location

REFLECTION_SCHEMES = ("grpc://", "grpcs://")

DIRECTORY_SUFFIXES = (".binpb", ".pb", ".desc")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Source:
    """One configured location and the sets it held when read."""

    location: str
    blobs: tuple[Blob, ...]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every location, in configuration order, with what it held; immutable.

    `configs` are the TRANSCODER_SERVICE_CONFIG documents: read, revalidated and swapped
    together with the descriptor sets, so a request never sees rules of another version.
    """

    sources: tuple[Source, ...]
    configs: tuple[Source, ...] = ()

    @property
    def blobs(self) -> tuple[Blob, ...]:
        return tuple(blob for source in self.sources for blob in source.blobs)

    @property
    def config_blobs(self) -> tuple[Blob, ...]:
        return tuple(blob for source in self.configs for blob in source.blobs)

    @property
    def revalidates(self) -> bool:
        """Whether any source can change: an S3 location without a pinned version, a server."""
        return any(_can_change(source.location) for source in (*self.sources, *self.configs))


def read_all(locations: Sequence[str], settings: Settings | None = None) -> list[Blob]:
    """Every set named by `locations`, in order; all unreadable locations reported together."""
    return list(snapshot(locations, settings).blobs)


def snapshot(locations: Sequence[str], settings: Settings | None = None) -> Snapshot:
    """Read every location; raises DescriptorError naming each one that cannot be read."""
    read_ok, problems = read_each(locations, settings=settings)
    if problems:
        raise DescriptorError(problems)
    return read_ok


def read_each(
    locations: Sequence[str], configs: Sequence[str] = (), *, settings: Settings | None = None
) -> tuple[Snapshot, tuple[str, ...]]:
    """What could be read, and a problem for each location that could not.

    `configs` are service-config documents (one file or S3 object each); `settings` give a
    reflection location its channel settings and time budget (default: the defaults). Lets a
    caller check the sets that were read in the same pass, so that one report holds every
    problem.
    """
    if not locations:
        return Snapshot(()), ("TRANSCODER_DESCRIPTORS is empty: name at least one descriptor set",)
    sources, problems = _each(
        locations, lambda location: Source(location, tuple(read(location, settings)))
    )
    documents, config_problems = _each(configs, _read_document)
    return Snapshot(sources, documents), (*problems, *config_problems)


def revalidate(previous: Snapshot, settings: Settings | None = None) -> Snapshot | None:
    """None when no source changed since `previous`, else a new Snapshot.

    Only S3 locations without a pinned version and servers are asked. S3 with conditional
    requests: a key with If-None-Match on its ETag, a prefix by listing it and comparing keys
    and ETags (only new or changed objects are downloaded). A server by reflection again,
    compared byte for byte. Local files are part of the deployment and are not read again.
    Raises DescriptorError naming each location that cannot be read.
    """
    refresh = lambda source: _refresh(source, settings)  # noqa: E731
    sources, problems = _each(previous.sources, refresh)
    documents, config_problems = _each(previous.configs, refresh)
    if problems or config_problems:
        raise DescriptorError([*problems, *config_problems])
    old = (*previous.sources, *previous.configs)
    if all(new is was for new, was in zip((*sources, *documents), old, strict=True)):
        return None
    return Snapshot(sources, documents)


def _refresh(source: Source, settings: Settings | None) -> Source:
    """`source` itself when unchanged, else what the location holds now."""
    if not _can_change(source.location):
        return source
    if source.location.startswith(REFLECTION_SCHEMES):
        fresh_blobs = read(source.location, settings)
        same = [blob.data for blob in fresh_blobs] == [blob.data for blob in source.blobs]
        return source if same else Source(source.location, tuple(fresh_blobs))
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
    if location.startswith(REFLECTION_SCHEMES):
        return True
    return location.startswith("s3://") and not parse_s3(location).version_id


def read(location: str, settings: Settings | None = None) -> list[Blob]:
    """The sets at one location (several for a directory or an S3 prefix)."""
    if location.startswith(REFLECTION_SCHEMES):
        from grpc_transcoder.loading import reflection  # noqa: PLC0415 - see the module docstring

        return [reflection.read(location, settings or Settings())]
    if location.startswith("s3://"):
        from grpc_transcoder.loading import s3 as descriptor_s3  # noqa: PLC0415 - see the module docstring

        return descriptor_s3.read(descriptor_s3.parse_s3(location), uri=location)
    return read_local(Path(location))


def _read_document(location: str) -> Source:
    """One service-config document: a file, or an S3 object (a prefix reads each object)."""
    if location.startswith("s3://"):
        return Source(location, tuple(read(location)))
    return Source(location, (Blob(location, _read_file(Path(location))),))


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
