"""Helpers for running the real ansible CLIs on this repository's ansible.cfg, library and roles.

No __init__.py in tests/ansible on purpose: as a regular package it would shadow the `ansible`
package itself once tests/ is on sys.path. Hence this uniquely named module instead of imports
from conftest.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RECAP = re.compile(
    r"^(?P<host>\S+)\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
    r"\s+failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)",
    re.MULTILINE,
)


@dataclass
class Run:
    rc: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def recap(self, host: str = "localhost") -> dict[str, int]:
        """The PLAY RECAP counters for `host`, e.g. {"ok": 12, "changed": 0, ...}."""
        for m in RECAP.finditer(self.stdout):
            if m.group("host") == host:
                return {k: int(v) for k, v in m.groupdict().items() if k != "host"}
        raise AssertionError(f"no PLAY RECAP line for {host} in:\n{self.output[-4000:]}")


def ansible_env(tmp: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment the CLIs run in: the repo's ansible.cfg, no colour, state under `tmp`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_HOME=str(tmp / "ansible_home"),
        ANSIBLE_LOCAL_TEMP=str(tmp / "ansible_tmp"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    env.update(extra or {})
    return env


RunAnsible = Callable[..., Run]


def write_estate_inventory(info, directory: Path) -> Path:  # info: EstateInfo
    """An inventory for `info`: the repo's local hosts.yml plus the vars `dbshift estate up` writes."""
    from dbshift.estate.manager import write_ansible_vars

    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "inventories" / "local" / "hosts.yml", directory / "hosts.yml")
    write_ansible_vars(info, directory / "group_vars" / "all" / "estate.yml", Path(info.root) / "secrets")
    return directory


def load_module(name: str) -> ModuleType:
    """Import library/<name>.py as Ansible would run it, with our module_utils under ansible.module_utils."""
    for path in sorted((REPO / "module_utils").glob("*.py")):
        if f"ansible.module_utils.{path.stem}" not in sys.modules:
            utils = importlib.util.spec_from_file_location(f"ansible.module_utils.{path.stem}", path)
            assert utils and utils.loader
            sys.modules[utils.name] = importlib.util.module_from_spec(utils)
            utils.loader.exec_module(sys.modules[utils.name])
    spec = importlib.util.spec_from_file_location(f"{name}_under_test", REPO / "library" / f"{name}.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
