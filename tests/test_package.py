"""The Lambda package: built for arm64 the way `sam build` builds it, and proven here by a second
build of the same tree for this machine, imported by an isolated Python of the runtime's version.

Both builds take their wheels from build/wheels (downloaded on the first run only).
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from grpc_transcoder_tools import package_build
from grpc_transcoder_tools.example_backend import RunningBackend
from grpc_transcoder_tools.package_build import Budget, Report
from grpc_transcoder_tools.package_contents import (
    check_extensions,
    copy_sources,
    elf_machine,
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

from tests.conftest import LIBRARY_SET, ROOT
from tests.event_builder import Source, build, response_json

MAKEFILE = ROOT / "Makefile"
VERSION = re.findall(r"^PYTHON_VERSION := (\S+)$", MAKEFILE.read_text(), re.MULTILINE)[0]
ABI = VERSION.replace(".", "")
ARM64 = Target(Architecture.ARM64, VERSION)
HOST = Target(Architecture("arm64" if platform.machine() == "aarch64" else "x86_64"), VERSION)
# The extension modules the function cannot run without, as named in an arm64 package.
ARM64_EXTENSIONS = {
    f"grpc/_cython/cygrpc.cpython-{ABI}-aarch64-linux-gnu.so",
    f"orjson/orjson.cpython-{ABI}-aarch64-linux-gnu.so",
    "google/_upb/_message.abi3.so",
}
HASH_BASED_UNCHECKED = 0b01  # PEP 552 flags: hash-based, source not checked


@dataclass(frozen=True)
class Built:
    directory: Path
    output: str


@pytest.fixture(scope="module")
def runtime_python() -> str:
    found = find_python(VERSION, required=False)
    assert found, (
        f"these tests need CPython {VERSION}, the runtime's version, to compile and import the "
        f"package: install it (uv python install {VERSION}, pyenv install {VERSION})"
    )
    return found


@pytest.fixture(scope="module")
def arm64_package(tmp_path_factory: pytest.TempPathFactory, runtime_python: str) -> Built:
    """Built by the Makefile from a scratch directory, as `sam build` runs it."""
    scratch = tmp_path_factory.mktemp("sam-scratch")
    artifacts = tmp_path_factory.mktemp("arm64") / "TranscoderFunction"
    result = subprocess.run(
        [
            *("make", "--makefile", str(MAKEFILE), "build-TranscoderFunction"),
            *(f"ARTIFACTS_DIR={artifacts}", f"PYTHON={sys.executable}"),
        ],
        cwd=scratch,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return Built(artifacts, result.stdout)


@pytest.fixture(scope="module")
def host_package(tmp_path_factory: pytest.TempPathFactory, runtime_python: str) -> Built:
    """The same tree built in this process for this machine, zipped, over an older build."""
    directory = tmp_path_factory.mktemp("host") / "package"
    (directory / "stale_module").mkdir(parents=True)
    (directory / "stale.py").write_text("left by a previous build\n")
    zip_path = directory.parent / "package.zip"
    arguments = ["--output", str(directory), "--clean", "--architecture", HOST.architecture.value]
    arguments += ["--python-version", VERSION, "--python", runtime_python, "--zip", str(zip_path)]
    assert package_build.main(arguments) == 0
    return Built(directory, str(zip_path))


def relative_files(directory: Path) -> set[str]:
    return {path.relative_to(directory).as_posix() for path in package_files(directory)}


def test_the_arm64_package_has_extension_modules_for_the_runtime(arm64_package: Built) -> None:
    modules = {name for name in relative_files(arm64_package.directory) if name.endswith(".so")}
    assert modules >= ARM64_EXTENSIONS
    machines = {name: elf_machine(arm64_package.directory / name) for name in modules}
    assert set(machines.values()) == {"aarch64"}, machines


def _pyc_header(path: Path) -> tuple[bytes, int]:
    header = path.read_bytes()[:8]
    return header[:4], int.from_bytes(header[4:8], "little")


def test_every_module_has_unchecked_hash_bytecode_of_the_runtime(
    arm64_package: Built, runtime_python: str
) -> None:
    magic = subprocess.run(
        [runtime_python, "-I", "-c", "import importlib.util as u; print(u.MAGIC_NUMBER.hex())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    sources = sorted(arm64_package.directory.rglob("*.py"))
    assert len(sources) > 100
    for source in sources:
        pyc = source.parent / "__pycache__" / f"{source.stem}.cpython-{ABI}.pyc"
        assert pyc.is_file(), f"no bytecode for {source}"
        assert _pyc_header(pyc) == (bytes.fromhex(magic), HASH_BASED_UNCHECKED), pyc
    stray = [p for p in arm64_package.directory.rglob("*.pyc") if f".cpython-{ABI}." not in p.name]
    assert stray == []


def test_the_package_holds_only_what_the_function_runs(arm64_package: Built) -> None:
    files = relative_files(arm64_package.directory)
    assert "grpc_transcoder/lambda_handler.py" in files
    assert "grpc_transcoder/loading/standard.binpb" in files
    parts = {part for name in files for part in name.split("/")}
    unwanted = {"tests", "grpc_transcoder_tools", "bin", "requirements.txt", ".pytest_cache"}
    assert parts.isdisjoint(unwanted), parts & unwanted
    models = {name.split("/")[2] for name in files if name.startswith("botocore/data/")}
    assert {m for m in models if "." not in m} == {"s3", "sts"}


@pytest.mark.parametrize("which", ["arm64", "host"])
def test_the_package_stays_within_its_size_budget(
    which: str, arm64_package: Built, host_package: Built
) -> None:
    built = arm64_package if which == "arm64" else host_package
    report = package_build.measure(built.directory, None, python="")
    Budget().check(report)
    assert report.unzipped_bytes > 10 * package_build.MIB, "suspiciously small: a step was skipped"
    print(f"{which} package: {report.summary()}")


def test_clean_replaces_an_older_build(host_package: Built) -> None:
    assert not (host_package.directory / "stale.py").exists()
    assert not (host_package.directory / "stale_module").exists()


def test_the_makefile_reports_the_sizes(arm64_package: Built) -> None:
    assert re.search(
        r"built .*: \d+ files, [\d.]+ MiB unzipped, [\d.]+ MiB zipped", arm64_package.output
    )


def _unzip_as_lambda(zip_path: str, directory: Path) -> None:
    """Unpack with the zip's 1980 timestamps, as Lambda does: stale for timestamp-based .pyc."""
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(directory)
    for path in directory.rglob("*"):
        os.utime(path, (315532800, 315532800))


def test_the_host_build_serves_a_request_in_an_isolated_python(
    host_package: Built,
    runtime_python: str,
    backend: RunningBackend,
    s3: Any,
    s3_endpoint: str,
    tmp_path: Path,
) -> None:
    s3.create_bucket(Bucket="descriptors")
    s3.put_object(Bucket="descriptors", Key="library.binpb", Body=LIBRARY_SET.read_bytes())
    package = tmp_path / "task"
    _unzip_as_lambda(host_package.output, package)
    event = tmp_path / "event.json"
    event.write_text(json.dumps(build(Source.HTTP_API, "GET", "/v1/shelves/fiction/books/dune")))
    result = tmp_path / "result.json"
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "TRANSCODER_DESCRIPTORS": str(LIBRARY_SET),
        "TRANSCODER_BACKENDS": backend.target,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_S3": s3_endpoint,
    }
    probe = ROOT / "tests" / "package_probe.py"
    arguments = [str(package), str(event), "s3://descriptors/library.binpb", str(result)]
    completed = subprocess.run(
        [runtime_python, "-I", "-S", str(probe), *arguments],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    seen = json.loads(result.read_text())
    assert seen["response"]["statusCode"] == 200, seen["response"]
    assert response_json(seen["response"])["title"] == "Dune"
    assert seen["compiled"] == [], "modules compiled at import: their bytecode was not used"
    assert seen["elsewhere"] == [], "imported from outside the package and the standard library"
    assert seen["s3_bytes"] == len(LIBRARY_SET.read_bytes())


def test_the_makefile_needs_sam_s_artifacts_dir(tmp_path: Path) -> None:
    result = subprocess.run(
        ["make", "--makefile", str(MAKEFILE), "build-TranscoderFunction"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "ARTIFACTS_DIR is not set" in result.stderr


# -- the steps on their own ------------------------------------------------------------------------


def test_a_missing_python_is_reported_with_the_ways_to_get_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", f"{ROOT / '.tools' / 'bin'}{os.pathsep}{os.environ['PATH']}")
    assert find_python("2.9", required=False) is None
    with pytest.raises(BuildError, match=r"no CPython 2\.9 found .*--no-bytecode"):
        find_python("2.9")


@pytest.mark.parametrize(
    "python",
    [
        pytest.param(sys.executable, id="another-version"),
        pytest.param("/nonexistent/python3.13", id="no-such-file"),
    ],
)
def test_a_named_python_of_another_version_is_refused(python: str) -> None:
    with pytest.raises(BuildError, match=f"is not a CPython {re.escape(VERSION)} interpreter"):
        find_python(VERSION, explicit=python)


def _local_index(directory: Path, wheel: Path) -> str:
    """A one-package PEP 503 index on disk, so the download needs no network."""
    project = directory / "simple" / "six"
    project.mkdir(parents=True)
    (project / wheel.name).write_bytes(wheel.read_bytes())
    (project / "index.html").write_text(f'<a href="{wheel.name}">{wheel.name}</a>\n')
    return (directory / "simple").as_uri()


def test_wheels_missing_from_the_cache_are_downloaded_once(
    host_package: Built, runtime_python: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (wheel,) = (ROOT / "build" / "wheels" / HOST.tag).glob("six-*.whl")  # cached by the build
    monkeypatch.setenv("PIP_INDEX_URL", _local_index(tmp_path / "index", wheel))
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"six=={wheel.name.split('-')[1]}\n")
    cache = tmp_path / "cache"
    install(requirements, tmp_path / "out", target=HOST, cache=cache, python=runtime_python)
    assert [p.name for p in (cache / HOST.tag).iterdir()] == [wheel.name]
    assert (tmp_path / "out" / "six.py").is_file()
    requirements.write_text("no-such-package-anywhere==1.0\n")
    with pytest.raises(BuildError, match="download wheels failed"):
        install(requirements, tmp_path / "out2", target=HOST, cache=cache, python=runtime_python)


def test_pip_must_be_available(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python"))
    with pytest.raises(BuildError, match="pip is not available"):
        install(tmp_path / "r.txt", tmp_path, target=HOST, cache=tmp_path, python=None)


def _fake_elf(path: Path, machine: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x7fELF" + bytes(14) + machine.to_bytes(2, "little") + bytes(40))


@pytest.mark.parametrize(
    ("name", "machine", "problem"),
    [
        pytest.param(f"m/x.cpython-{ABI}-aarch64-linux-gnu.so", 62, "is for x86_64", id="x86"),
        pytest.param("m/x.abi3.so", 0, "is for no known machine", id="unknown-machine"),
        pytest.param(
            "m/x.cpython-311-aarch64-linux-gnu.so", 183, "is for another Python", id="python"
        ),
    ],
)
def test_extension_modules_for_another_platform_are_refused(
    tmp_path: Path, name: str, machine: int, problem: str
) -> None:
    _fake_elf(tmp_path / name, machine)
    with pytest.raises(BuildError, match=f"{re.escape(name)} {problem}"):
        check_extensions(tmp_path, ARM64)


def test_an_extension_module_that_is_not_elf_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.so").write_bytes(b"MZ not an ELF file")
    assert elf_machine(tmp_path / "x.so") == ""
    with pytest.raises(BuildError, match=r"x\.so is for no known machine"):
        check_extensions(tmp_path, ARM64)


def test_sources_are_copied_without_tests_caches_or_bytecode(tmp_path: Path) -> None:
    source = tmp_path / "src"
    names = ("app/__init__.py", "app/data.binpb", "app/__pycache__/x.pyc", "app/tests/t.py")
    for name in (*names, "hooks.py", "requirements.txt", ".ruff_cache/x"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text("")
    copy_sources(source, tmp_path / "out")
    assert relative_files(tmp_path / "out") == {"app/__init__.py", "app/data.binpb", "hooks.py"}
    with pytest.raises(BuildError, match="collides with"):
        copy_sources(source, tmp_path / "out")


def test_prune_keeps_the_named_models_and_refuses_unknown_ones(tmp_path: Path) -> None:
    for name in ("botocore/data/s3/x.json", "botocore/data/ec2/x.json", "botocore/data/e.json"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}")
    (tmp_path / "bin").mkdir()
    (tmp_path / "botocore" / "__pycache__").mkdir()
    prune(tmp_path, botocore_services=None)
    assert len(relative_files(tmp_path)) == 3
    assert not (tmp_path / "bin").exists()
    assert not (tmp_path / "botocore" / "__pycache__").exists()
    with pytest.raises(BuildError, match="no service model named dynamo"):
        prune(tmp_path, botocore_services=frozenset({"s3", "dynamo"}))
    prune(tmp_path, botocore_services=frozenset({"s3"}))
    assert relative_files(tmp_path) == {"botocore/data/s3/x.json", "botocore/data/e.json"}


def test_prune_keeps_the_endpoints_of_the_named_services_only(tmp_path: Path) -> None:
    endpoints = tmp_path / "botocore" / "data" / "endpoints.json"
    for service in ("s3", "sts"):
        (endpoints.parent / service).mkdir(parents=True)
    partition = {"partition": "aws", "regions": {"us-east-1": {}}, "defaults": {"x": 1}}
    endpoints.write_text(
        json.dumps(
            {
                "version": 3,
                "partitions": [
                    {**partition, "services": {"s3": {"a": 1}, "ec2": {}, "sts": {"b": 2}}},
                    {**partition, "partition": "aws-cn", "services": {"ec2": {}}},
                ],
            }
        )
    )
    prune(tmp_path, botocore_services=frozenset({"s3", "sts"}))
    assert json.loads(endpoints.read_text()) == {
        "version": 3,
        "partitions": [
            {**partition, "services": {"s3": {"a": 1}, "sts": {"b": 2}}},
            {**partition, "partition": "aws-cn", "services": {}},
        ],
    }


def test_bytecode_that_does_not_compile_fails_the_build(
    tmp_path: Path, runtime_python: str
) -> None:
    (tmp_path / "broken.py").write_text("def broken(:\n")
    with pytest.raises(BuildError, match=r"(?s)compile bytecode failed .*broken\.py"):
        compile_bytecode(tmp_path, runtime_python)


def test_the_zip_is_reproducible_with_sam_s_timestamps(tmp_path: Path) -> None:
    (tmp_path / "p" / "pkg").mkdir(parents=True)
    (tmp_path / "p" / "pkg" / "b.py").write_text("B = 1\n")
    (tmp_path / "p" / "a.txt").write_text("a\n")
    files = package_files(tmp_path / "p")
    write_zip(tmp_path / "p", files, tmp_path / "one.zip")
    write_zip(tmp_path / "p", files, tmp_path / "two.zip")
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "one.zip") as archive:
        assert [e.filename for e in archive.infolist()] == ["a.txt", "pkg/b.py"]
        assert {e.date_time for e in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_the_budget_names_the_size_over_it() -> None:
    report = Report(files=1, unzipped_bytes=50 * package_build.MIB, zipped_bytes=1, python="")
    with pytest.raises(BuildError, match=r"unzipped 50\.0 MiB > 40\.0 MiB"):
        Budget(max_unzipped_mib=40.0).check(report)


@pytest.fixture
def occupied(tmp_path: Path) -> Path:
    directory = tmp_path / "out"
    directory.mkdir()
    (directory / "old.txt").write_text("from a previous build")
    return directory


def test_a_non_empty_output_needs_clean(occupied: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert package_build.main(["--output", str(occupied), "--no-bytecode"]) == 2
    assert "is not empty; pass --clean" in capsys.readouterr().err


@pytest.mark.parametrize(
    "marker",
    [pytest.param(".git", id="a-repository"), pytest.param("src", id="holding-the-source")],
)
def test_clean_refuses_to_empty_a_directory_that_is_not_a_package(
    occupied: Path, marker: str
) -> None:
    (occupied / marker).mkdir()
    source = occupied / "src" if marker == "src" else ROOT / "src"
    with pytest.raises(BuildError, match="refusing to empty"):
        package_build.build(occupied, target=HOST, source=source, clean=True, bytecode=False)
    assert (occupied / "old.txt").exists()
