"""Package target: the platform the package runs on, and a Python of the runtime's version.

Input: an architecture and a Python version. Output: that Python's interpreter on this machine,
pip installing wheels for the target platform, and compileall writing its bytecode.
"""

from __future__ import annotations

import enum
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

# The python3.12+ runtimes run on Amazon Linux 2023 (glibc 2.34); manylinux2014 is glibc 2.17.
LAMBDA_GLIBC_MINOR = 34
OLDEST_GLIBC_MINOR = 17
LAMBDA_TASK_ROOT = "/var/task"  # where Lambda unpacks the zip; tracebacks show these paths


class BuildError(Exception):
    """A build step failed; the message says which step, why, and how to fix it."""


class Architecture(enum.Enum):
    """Lambda's architectures."""

    ARM64 = "arm64"
    X86_64 = "x86_64"

    @property
    def machine(self) -> str:
        """The name in wheel tags and ELF headers."""
        return "aarch64" if self is Architecture.ARM64 else "x86_64"


@dataclass(frozen=True, slots=True)
class Target:
    """The platform the package runs on."""

    architecture: Architecture
    python_version: str  # "3.13", the Runtime's version

    @property
    def tag(self) -> str:
        return f"cp{self.python_version.replace('.', '')}-{self.architecture.machine}"

    @property
    def platforms(self) -> tuple[str, ...]:
        """pip `--platform` values: every manylinux glibc the runtime can load (pip does not
        widen a `manylinux_2_X` tag to older ones by itself)."""
        arch = self.architecture.machine
        minors = range(LAMBDA_GLIBC_MINOR, OLDEST_GLIBC_MINOR - 1, -1)
        return (*(f"manylinux_2_{minor}_{arch}" for minor in minors), f"manylinux2014_{arch}")

    @property
    def extension_suffix(self) -> str:
        version = self.python_version.replace(".", "")
        return f".cpython-{version}-{self.architecture.machine}-linux-gnu.so"


def find_python(version: str, *, explicit: str = "", required: bool = True) -> str | None:
    """A CPython `version` interpreter: `explicit`, else the first found on this machine."""
    if explicit:
        if _probe(explicit) != version:
            raise BuildError(f"{explicit} is not a CPython {version} interpreter")
        return explicit
    tried: list[str] = []
    for candidate in _candidates(version):
        tried.append(candidate)
        if _probe(candidate) == version:
            logger.info("Python %s: %s", version, candidate)
            return candidate
    if not required:
        return None
    raise BuildError(
        f"no CPython {version} found to precompile bytecode for the python{version} runtime "
        f"(tried {', '.join(tried) or 'nothing'}). Install one (uv python install {version}, "
        f"pyenv install {version} or your system's python{version}), name it with --python "
        f"(make: BYTECODE_PYTHON=/path/to/python{version}), or build with --no-bytecode "
        "(every cold start then compiles each module: about 160 ms of imports instead of 70 ms)"
    )


def _candidates(version: str) -> Iterator[str]:
    yield sys.executable
    on_path = shutil.which(f"python{version}")
    if on_path:
        yield on_path
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    found = pyenv.glob(f"versions/{version}.*/bin/python{version}")
    yield from sorted((str(p) for p in found), reverse=True)
    uv = shutil.which("uv")
    found_by_uv = uv and _attempt([uv, "python", "find", "--no-project", version])
    if found_by_uv and found_by_uv.returncode == 0 and found_by_uv.stdout.strip():
        yield found_by_uv.stdout.strip()


PROBE = (
    "import sys, sysconfig; gil = not sysconfig.get_config_var('Py_GIL_DISABLED'); "
    "print(sys.implementation.name == 'cpython' and gil and '%d.%d' % sys.version_info[:2])"
)


def _probe(python: str) -> str:
    """The interpreter's "X.Y" when it is a usable CPython (not free-threaded), else ""."""
    result = _attempt([python, "-I", "-c", PROBE])
    return result.stdout.strip() if result and result.returncode == 0 else ""


def _attempt(command: Sequence[str]) -> subprocess.CompletedProcess[str] | None:
    """Run `command`; None when it cannot even start (no such file, not executable)."""
    try:
        return _run(command, check=False)
    except OSError:
        return None


def install(
    requirements: Path, output: Path, *, target: Target, cache: Path, python: str | None
) -> None:
    """Install the pinned wheels for `target` into `output`, from `cache` when it has them."""
    pip = _pip(python)
    wheels = cache / target.tag
    selection = ["--only-binary=:all:", "--implementation", "cp"]
    selection += ["--python-version", target.python_version, "--no-deps", "-r", str(requirements)]
    for platform in target.platforms:
        selection += ["--platform", platform]
    offline = [*pip, "install", "--no-index", "--find-links", str(wheels), "--no-compile"]
    offline += ["--target", str(output), *selection]
    if _run(offline, check=False).returncode == 0:
        return
    logger.info("downloading wheels for %s into %s", target.tag, wheels)
    _run([*pip, "download", "--dest", str(wheels), *selection], step="download wheels")
    _run(offline, step="install wheels")


def _pip(python: str | None) -> list[str]:
    for candidate in filter(None, (python, sys.executable)):
        works = _attempt([candidate, "-m", "pip", "--version"])
        if works and works.returncode == 0:
            return [candidate, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    raise BuildError(f"pip is not available in {python or sys.executable}; run ensurepip")


def compile_bytecode(output: Path, python: str) -> None:
    """Compile every module with `python`; unchecked-hash .pyc files load whatever the mtime."""
    command = [python, "-I", "-m", "compileall", "-q", "-j", "0"]
    command += ["--invalidation-mode", "unchecked-hash", "-s", str(output), "-p", LAMBDA_TASK_ROOT]
    _run([*command, str(output)], step="compile bytecode")


def _run(
    command: Sequence[str], *, check: bool = True, step: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PIP_ROOT_USER_ACTION": "ignore", "PIP_NO_INPUT": "1"}
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()[-2000:]
        raise BuildError(f"{step} failed ({command[0]} exited {result.returncode}):\n{detail}")
    return result
