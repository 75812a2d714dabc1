"""`python -m benchmarks` (or `./tasks bench`): run every benchmark and print one table.

./tasks bench                 the full run (several minutes)
./tasks bench --quick         a tiny run that only proves every benchmark works
./tasks bench --write         also record the table in benchmarks/README.md
./tasks bench --only warm,cold
"""

from __future__ import annotations

import argparse
import datetime
import sys
from collections.abc import Callable
from pathlib import Path

from benchmarks import report
from benchmarks.harness import machine, versions

README = Path(__file__).with_name("README.md")
SECTIONS = ("warm", "cold", "codec", "routing", "hostile", "compression", "package")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    only = [s.strip() for s in args.only.split(",")] if args.only else list(SECTIONS)
    unknown = set(only) - set(SECTIONS)
    if unknown:
        print(f"unknown sections: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    runners: dict[str, Callable[[bool], str]] = {
        "warm": report.warm,
        "cold": report.cold,
        "codec": report.codec,
        "routing": report.routing,
        "hostile": report.hostile,
        "compression": report.compression,
        "package": report.package,
    }
    parts = [_header(args)]
    for section in only:
        print(f"running {section} ...", file=sys.stderr, flush=True)
        parts.append(runners[section](args.quick))
    table = "\n\n".join(parts) + "\n"
    print(table)
    if args.write:
        _record(table)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny iteration counts (used by the test suite)"
    )
    parser.add_argument(
        "--write", action="store_true", help="record the table in benchmarks/README.md"
    )
    parser.add_argument(
        "--only", default="", help=f"comma-separated sections of {', '.join(SECTIONS)}"
    )
    return parser


def _header(args: argparse.Namespace) -> str:
    command = (
        "./tasks bench"
        + (" --quick" if args.quick else "")
        + (f" --only {args.only}" if args.only else "")
    )
    today = datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%d")
    return f"Measured {today} with `{command}`\n\n- Machine: {machine()}\n- Versions: {versions()}"


BEGIN = "<!-- results -->"
END = "<!-- end results -->"


def _record(table: str) -> None:
    text = README.read_text()
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    README.write_text(f"{head}{BEGIN}\n{table}{END}{tail}")


if __name__ == "__main__":
    sys.exit(main())
