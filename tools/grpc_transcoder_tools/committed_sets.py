"""The descriptor sets committed to the repository, and how each is rebuilt (`./tasks descriptors`).

A test rebuilds each one and fails when the committed bytes differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grpc_transcoder_tools.descriptor_build import STANDARD_FILES, build

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class CommittedSet:
    output: str
    protos: tuple[str, ...]
    include: tuple[str, ...] = ()
    source_info: bool = True

    def fresh(self) -> bytes:
        protos = [str(ROOT / p) if self.include else p for p in self.protos]
        return build(
            protos, include=[str(ROOT / d) for d in self.include], source_info=self.source_info
        )


SETS = (
    # The example API (with comments, for OpenAPI descriptions).
    CommittedSet(
        "descriptors/library.binpb", ("descriptors/library/v1/library.proto",), ("descriptors",)
    ),
    # Bundled with the Lambda package so sets without the standard files still resolve.
    CommittedSet("src/grpc_transcoder/loading/standard.binpb", STANDARD_FILES, source_info=False),
)


def main() -> None:
    for committed in SETS:
        (ROOT / committed.output).write_bytes(committed.fresh())
        print(f"wrote {committed.output}")


if __name__ == "__main__":
    main()
