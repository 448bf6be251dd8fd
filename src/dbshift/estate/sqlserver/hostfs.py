"""Windows paths of an emulated SQL Server host mapped onto a local directory.

D:\\SQLData\\Sales.mdf -> <root>/D/SQLData/Sales.mdf. Windows file names are case-insensitive, so an
existing file or directory whose name differs only in case is reused.
"""

from __future__ import annotations

import re
from pathlib import Path

_DRIVE = re.compile(r"^([A-Za-z]):[\\/]?(.*)$")


class HostFs:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def local_path(self, windows_path: str) -> Path:
        """The local file behind an absolute Windows path such as D:\\rdsdbdata\\DATA\\x.mdf."""
        m = _DRIVE.match(windows_path.strip())
        if not m:
            raise ValueError(
                f"path {windows_path!r} is not an absolute Windows path; use a drive letter, e.g. D:\\SQLData\\x.mdf"
            )
        parts = [p for p in re.split(r"[\\/]+", m.group(2)) if p and p != "."]
        if ".." in parts:
            raise ValueError(f"path {windows_path!r} must not contain '..'")
        cur = self.root / m.group(1).upper()
        for part in parts:
            cur = _existing_case(cur, part)
        return cur

    def windows_path(self, local: Path) -> str:
        """The Windows path for a local file under this HostFs."""
        rel = Path(local).resolve().relative_to(self.root.resolve())
        drive, *rest = rel.parts
        return f"{drive}:\\" + "\\".join(rest)


def _existing_case(parent: Path, name: str) -> Path:
    exact = parent / name
    if exact.exists() or not parent.is_dir():
        return exact
    low = name.lower()
    for child in parent.iterdir():
        if child.name.lower() == low:
            return child
    return exact


def same_windows_path(a: str, b: str) -> bool:
    norm = lambda p: re.sub(r"[\\/]+", "\\\\", p.strip()).lower()  # noqa: E731
    return norm(a) == norm(b)
