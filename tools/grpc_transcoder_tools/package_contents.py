"""Package contents: what goes into the package, checked, and zipped as SAM would.

Input: the source tree and a directory of installed wheels. Output: the pruned package directory
and a reproducible zip of it.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from collections.abc import Sequence
from pathlib import Path

from grpc_transcoder_tools.package_target import BuildError, Target

# SAM zips with this timestamp too, which is why timestamp-based .pyc files never validate.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
# botocore ships every AWS service model (about 28 MiB); the function only talks to S3. sts stays
# for credential providers that assume roles.
BOTOCORE_SERVICES = frozenset({"s3", "sts"})
EXCLUDED_NAMES = frozenset({"__pycache__", "tests", "requirements.txt"})
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".egg-info")
ELF_MACHINES = {183: "aarch64", 62: "x86_64"}


def copy_sources(source: Path, output: Path) -> None:
    """Copy the function's code, without tests, caches, bytecode or requirements.txt."""
    for path in sorted(source.iterdir()):
        if _excluded(path.name):
            continue
        destination = output / path.name
        if destination.exists():
            raise BuildError(f"{path} collides with {destination} installed by a dependency")
        if path.is_dir():
            shutil.copytree(path, destination, ignore=_ignored)
        else:
            shutil.copyfile(path, destination)


def _excluded(name: str) -> bool:
    return name in EXCLUDED_NAMES or name.startswith(".") or name.endswith(EXCLUDED_SUFFIXES)


def _ignored(_directory: str, names: list[str]) -> set[str]:
    return {name for name in names if _excluded(name)}


def prune(output: Path, *, botocore_services: frozenset[str] | None) -> None:
    """Drop console scripts and caches, and AWS service models the function never loads."""
    shutil.rmtree(output / "bin", ignore_errors=True)
    for cache in sorted(output.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache)
    if botocore_services is None:
        return
    for models in (output / "botocore" / "data", output / "boto3" / "data"):  # boto3: if added
        if not models.is_dir():
            continue
        services = {path.name for path in models.iterdir() if path.is_dir()}
        if models.parent.name == "botocore" and (missing := botocore_services - services):
            raise BuildError(f"botocore has no service model named {', '.join(sorted(missing))}")
        for name in sorted(services - botocore_services):
            shutil.rmtree(models / name)
    prune_endpoints(output / "botocore" / "data" / "endpoints.json", botocore_services)


def prune_endpoints(path: Path, services: frozenset[str]) -> None:
    """Keep only the kept services' entries in botocore's endpoints.json.

    botocore parses the whole file (1.25 MB, every service in every partition) into ordered
    dicts for each client it creates: about 14 ms and 7 MB of the cold start for entries of
    services the function never calls. Partitions, regions and defaults stay as they are.
    """
    if not path.is_file():
        return
    data = json.loads(path.read_bytes())
    for partition in data.get("partitions", []):
        entries = partition.get("services", {})
        partition["services"] = {
            name: entries[name] for name in sorted(entries) if name in services
        }
    path.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")


def check_extensions(output: Path, target: Target) -> None:
    """Every extension module must be an ELF file for the target's machine and Python."""
    problems: list[str] = []
    for module in sorted(output.rglob("*.so")):
        name = module.relative_to(output).as_posix()
        machine = elf_machine(module)
        if machine != target.architecture.machine:
            problems.append(f"{name} is for {machine or 'no known machine'}")
        elif ".cpython-" in module.name and not module.name.endswith(target.extension_suffix):
            problems.append(f"{name} is for another Python than {target.python_version}")
    if problems:
        wanted = f"{target.architecture.machine}, Python {target.python_version}"
        raise BuildError(f"extension modules not built for {wanted}: {'; '.join(problems)}")


def elf_machine(path: Path) -> str:
    """The machine of an ELF file ("aarch64", "x86_64"), or "" for anything else."""
    with path.open("rb") as file:
        header = file.read(20)
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return ""
    return ELF_MACHINES.get(int.from_bytes(header[18:20], "little"), "")


def package_files(output: Path) -> list[Path]:
    """Every file of the package, in a stable order."""
    return sorted(
        (path for path in output.rglob("*") if path.is_file()),
        key=lambda path: path.relative_to(output).as_posix(),
    )


def write_zip(output: Path, files: Sequence[Path], zip_path: Path) -> None:
    """A reproducible zip: sorted entries, fixed timestamps and permissions, as SAM writes."""
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            entry = zipfile.ZipInfo(path.relative_to(output).as_posix(), ZIP_EPOCH)
            entry.compress_type = zipfile.ZIP_DEFLATED
            mode = 0o755 if os.access(path, os.X_OK) else 0o644
            entry.external_attr = (0o100000 | mode) << 16
            with path.open("rb") as source, archive.open(entry, "w") as destination:
                shutil.copyfileobj(source, destination, 1024 * 1024)
