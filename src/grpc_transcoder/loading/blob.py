"""Blob: the bytes of one serialized FileDescriptorSet and where they were read from.

Shared by every descriptor source (files, directories, S3) and by the merge that parses them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Blob:
    """One serialized FileDescriptorSet, the URI it was read from and its S3 ETag (if any)."""

    uri: str
    data: bytes
    etag: str = ""
