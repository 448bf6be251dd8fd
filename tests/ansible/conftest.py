"""Fixtures for tests of the Ansible side: CLIs run on the repo's ansible.cfg, library and roles."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from ansible_helpers import BIN, REPO, Run, RunAnsible, ansible_env, write_estate_inventory


@pytest.fixture
def run_ansible(tmp_path: Path) -> RunAnsible:
    """Run an ansible CLI from the venv (e.g. "ansible-playbook") from the repository root."""

    def run(tool: str, *args: str, env: dict[str, str] | None = None, timeout: float = 300) -> Run:
        exe = shutil.which(tool, path=str(BIN)) or tool
        proc = subprocess.run(
            [exe, *args],
            cwd=REPO,
            env=ansible_env(tmp_path, env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Run(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture(scope="session")
def estate_inventory(estate, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An inventory for the estate fixture, written as `dbshift estate up` writes inventories/local."""
    return write_estate_inventory(estate, tmp_path_factory.mktemp("inventory"))
