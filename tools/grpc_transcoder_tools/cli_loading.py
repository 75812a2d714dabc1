"""What the `routes` and `openapi` commands share: descriptor sets and service configs read
and indexed as the function reads them, with the `--service-config` option."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from grpc_transcoder.loading import registry as descriptors
from grpc_transcoder.loading import sources as descriptor_source
from grpc_transcoder.loading.blob import Blob
from grpc_transcoder.loading.registry import Registry
from grpc_transcoder.settings import Settings


def add_service_config_option(parser: Any) -> None:
    parser.add_argument(
        "--service-config",
        action="append",
        metavar="LOCATION",
        help="a gRPC API Configuration YAML (file or s3://); repeatable"
        " (default: TRANSCODER_SERVICE_CONFIG)",
    )


def read_registry(
    sources: Sequence[str], service_config: Sequence[str] | None, configured: Settings
) -> tuple[Registry, list[Blob]]:
    """The registry of `sources` with the rules of `service_config` (None: the setting's), and
    the sets read. Raises ConfigurationError (DescriptorError) naming each problem."""
    configs = configured.service_config if service_config is None else service_config
    snapshot, read_problems = descriptor_source.read_each(sources, configs, settings=configured)
    registry = descriptors.build(
        snapshot.blobs, read_problems=read_problems, service_configs=snapshot.config_blobs
    )
    return registry, list(snapshot.blobs)
