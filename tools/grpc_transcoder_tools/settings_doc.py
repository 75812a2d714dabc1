"""The settings table of the README, generated from `grpc_transcoder.settings` (`./tasks docs`)."""

from __future__ import annotations

import re
from pathlib import Path

from grpc_transcoder.settings import describe

README = Path(__file__).resolve().parents[2] / "README.md"
BEGIN = "<!-- settings-table: generated from grpc_transcoder.settings; a test keeps it current -->"
END = "<!-- end settings-table -->"


def table() -> str:
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    rows += [f"| `{name}` | `{default}` | {doc} |" for name, default, doc in describe()]
    return "\n".join(rows)


def render(readme: str) -> str:
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.DOTALL)
    return pattern.sub(lambda _: f"{BEGIN}\n{table()}\n{END}", readme)


def main() -> None:
    README.write_text(render(README.read_text()))
    print(f"updated the settings table in {README}")


if __name__ == "__main__":
    main()
