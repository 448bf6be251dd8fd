"""Fixtures for the Terraform tests: the CLI, its provider mirror, and initialised working copies.

Terraform never runs inside the repository: the terraform/ tree is copied once per session to a
temporary directory and every directory there is initialised at most once, so no .terraform/,
lock file or state lands in the repo.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tf_helpers import DEFAULT_CHECKOV, TERRAFORM_SRC, TerraformRun, terraform_cli_config


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.terraform)


@pytest.fixture(scope="session")
def terraform_bin() -> str:
    path = shutil.which("terraform")
    if path is None:
        _missing("terraform CLI not on PATH (install Terraform >= 1.7)")
    return path


@pytest.fixture(scope="session")
def terraform_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("TF_CLI_CONFIG_FILE", None)
    cli_config = terraform_cli_config(tmp_path_factory.mktemp("tfrc"))
    if cli_config:
        env["TF_CLI_CONFIG_FILE"] = cli_config
    env.update({"TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1", "TF_INPUT": "0"})
    return env


@pytest.fixture(scope="session")
def terraform(terraform_bin: str, terraform_env: dict[str, str]) -> TerraformRun:
    """Run `terraform <args>` in a directory; raise with its output when it fails and check=True."""

    def run(cwd: Path, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            # Flags before positional arguments: Go's flag parsing stops at the first non-flag.
            [terraform_bin, args[0], "-no-color", *args[1:]],
            cwd=cwd,
            env=terraform_env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"terraform {' '.join(args)} in {cwd} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    return run


@pytest.fixture(scope="session")
def terraform_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session copy of terraform/ (relative module sources keep working)."""
    root = tmp_path_factory.mktemp("tf") / "terraform"
    shutil.copytree(
        TERRAFORM_SRC,
        root,
        ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "*.tfstate*", "estate.auto.tfvars.json"),
    )
    return root


@pytest.fixture(scope="session")
def initialised(terraform: TerraformRun, terraform_tree: Path) -> Iterator[Callable[[str], Path]]:
    """initialised("stacks/local") -> that directory in the session copy, `terraform init` done once."""
    done: dict[str, Path] = {}

    def get(rel: str) -> Path:
        if rel not in done:
            path = terraform_tree / rel
            terraform(path, "init", "-backend=false", "-input=false")
            done[rel] = path
        return done[rel]

    yield get


@pytest.fixture(scope="session")
def checkov_bin() -> str:
    path = os.environ.get("CHECKOV") or str(DEFAULT_CHECKOV)
    if not Path(path).is_file():
        _missing(
            f"checkov not found at {path}: python3.11 -m venv .tools/checkov && "
            ".tools/checkov/bin/pip install checkov (or set CHECKOV)"
        )
    return path


def _missing(reason: str) -> None:
    """A missing tool skips a developer's ad-hoc run, but fails CI and `make test` (which install it)."""
    if os.environ.get("CI") or os.environ.get("DBSHIFT_REQUIRE_TOOLS"):
        pytest.fail(reason)
    pytest.skip(reason)
