"""Package build: the Lambda package from `src/` and the pinned `src/requirements.txt`.

Input: the source tree and the function's architecture and Python version. Output: a directory
(SAM's ARTIFACTS_DIR) and its zip, with wheels for that platform and bytecode compiled by that
Python with hash-based invalidation. Standard library only: any python3 >= 3.11 can run it.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from grpc_transcoder_tools.package_contents import (
    BOTOCORE_SERVICES,
    check_extensions,
    copy_sources,
    package_files,
    prune,
    write_zip,
)
from grpc_transcoder_tools.package_target import (
    Architecture,
    BuildError,
    Target,
    compile_bytecode,
    find_python,
    install,
)

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024
# Lambda allows 250 MiB unzipped. The budget (measured: about 24 MiB and 10 MiB for arm64) leaves
# room for growth and fails the build when a dependency bloats the package.
MAX_UNZIPPED_MIB = 40.0
MAX_ZIPPED_MIB = 16.0


@dataclass(frozen=True, slots=True)
class Report:
    """What was built, and how big it is."""

    files: int
    unzipped_bytes: int
    zipped_bytes: int
    python: str

    def summary(self) -> str:
        return (
            f"{self.files} files, {self.unzipped_bytes / MIB:.1f} MiB unzipped, "
            f"{self.zipped_bytes / MIB:.1f} MiB zipped"
        )


@dataclass(frozen=True, slots=True)
class Budget:
    """The largest package accepted; exceeding either size fails the build."""

    max_unzipped_mib: float = MAX_UNZIPPED_MIB
    max_zipped_mib: float = MAX_ZIPPED_MIB

    def check(self, report: Report) -> None:
        over = [
            f"{label} {size / MIB:.1f} MiB > {limit} MiB"
            for label, size, limit in (
                ("unzipped", report.unzipped_bytes, self.max_unzipped_mib),
                ("zipped", report.zipped_bytes, self.max_zipped_mib),
            )
            if size > limit * MIB
        ]
        if over:
            raise BuildError(f"the package is over its size budget: {', '.join(over)}")


def build(
    output: Path,
    *,
    target: Target,
    source: Path = ROOT / "src",
    cache: Path = ROOT / "build" / "wheels",
    zip_path: Path | None = None,
    python: str = "",
    bytecode: bool = True,
    clean: bool = False,
    botocore_services: frozenset[str] | None = BOTOCORE_SERVICES,
    budget: Budget | None = None,
) -> Report:
    """Build the package into `output` (emptied first when `clean`) and measure it.

    `python` is an interpreter of the target's version (found when empty); it compiles the
    bytecode and runs pip. `botocore_services=None` keeps every AWS service model. The zip is
    written to `zip_path`, or to a temporary file only to measure it. Raises BuildError.
    """
    interpreter = find_python(target.python_version, explicit=python, required=bytecode)
    _prepare(output, clean=clean, source=source)
    with _timed("install wheels"):
        install(source / "requirements.txt", output, target=target, cache=cache, python=interpreter)
    with _timed("copy sources and prune"):
        copy_sources(source, output)
        prune(output, botocore_services=botocore_services)
    check_extensions(output, target)
    if bytecode and interpreter:
        with _timed("compile bytecode"):
            compile_bytecode(output, interpreter)
    with _timed("zip"):
        report = measure(output, zip_path, python=interpreter or "")
    (budget or Budget()).check(report)
    return report


@contextlib.contextmanager
def _timed(step: str) -> Iterator[None]:
    started = time.monotonic()
    yield
    logger.info("%s: %.1f s", step, time.monotonic() - started)


def measure(output: Path, zip_path: Path | None, *, python: str) -> Report:
    """Zip `output` (to a temporary file when `zip_path` is None) and report both sizes."""
    files = package_files(output)
    unzipped = sum(path.stat().st_size for path in files)
    if zip_path is not None:
        zip_path.parent.mkdir(parents=True, exist_ok=True)
        write_zip(output, files, zip_path)
        return Report(len(files), unzipped, zip_path.stat().st_size, python)
    with tempfile.TemporaryDirectory() as scratch:
        measured = Path(scratch) / "package.zip"
        write_zip(output, files, measured)
        return Report(len(files), unzipped, measured.stat().st_size, python)


def _prepare(output: Path, *, clean: bool, source: Path) -> None:
    output = output.resolve()
    if output.is_dir() and any(output.iterdir()):
        if not clean:
            raise BuildError(f"{output} is not empty; pass --clean to replace its contents")
        unsafe = output in (Path(output.anchor), Path.home()) or (output / ".git").exists()
        if unsafe or source.resolve().is_relative_to(output):
            raise BuildError(f"refusing to empty {output}: choose a directory for the package")
        for child in output.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()
    output.mkdir(parents=True, exist_ok=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    services = (
        None
        if args.botocore_services == "all"
        else frozenset(name.strip() for name in args.botocore_services.split(",") if name.strip())
    )
    try:
        report = build(
            args.output,
            target=Target(Architecture(args.architecture), args.python_version),
            source=args.source,
            cache=args.cache,
            zip_path=args.zip,
            python=args.python,
            bytecode=not args.no_bytecode,
            clean=args.clean,
            botocore_services=services,
            budget=Budget(args.max_unzipped_mib, args.max_zipped_mib),
        )
    except BuildError as exc:
        print(f"package_build: error: {exc}", file=sys.stderr)
        return 2
    logger.info("built %s: %s", args.output, report.summary())
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m grpc_transcoder_tools.package_build", description=__doc__
    )
    add = parser.add_argument
    add("--output", type=Path, required=True, help="the package directory (SAM's ARTIFACTS_DIR)")
    add("--source", type=Path, default=ROOT / "src", help="default: %(default)s")
    add("--architecture", choices=[a.value for a in Architecture], default="arm64")
    add("--python-version", default="3.13", help="the Runtime's Python (default: %(default)s)")
    add("--python", default="", help="an interpreter of that version (default: found)")
    add("--no-bytecode", action="store_true", help="ship sources only (slower cold starts)")
    add("--cache", type=Path, default=ROOT / "build" / "wheels", help="default: %(default)s")
    add("--zip", type=Path, help="also write the package zip here")
    add("--clean", action="store_true", help="empty --output first")
    add(
        "--botocore-services",
        default=",".join(sorted(BOTOCORE_SERVICES)),
        help="AWS service models kept, or 'all' (default: %(default)s)",
    )
    add("--max-unzipped-mib", type=float, default=MAX_UNZIPPED_MIB, help="default: %(default)s")
    add("--max-zipped-mib", type=float, default=MAX_ZIPPED_MIB, help="default: %(default)s")
    return parser


if __name__ == "__main__":
    # stdout: sam build shows what a Makefile writes to stderr only when the build fails.
    logging.basicConfig(level=logging.INFO, format="package_build: %(message)s", stream=sys.stdout)
    sys.exit(main())
