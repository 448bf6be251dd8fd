"""Terraform checks that need no AWS: fmt, validate, the modules' tftest files, checkov, README tables."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from tf_helpers import CONFIG_DIRS, MODULES, REPO, TERRAFORM_SRC, TerraformRun
from tfdocs import current_section, documented_dirs, render


def test_fmt_check(terraform: TerraformRun) -> None:
    proc = terraform(REPO, "fmt", "-check", "-recursive", "-diff", "terraform", check=False)
    assert proc.returncode == 0, f"run `terraform fmt -recursive terraform`; it would change:\n{proc.stdout}"


@pytest.mark.parametrize("rel", CONFIG_DIRS)
def test_validate(rel: str, terraform: TerraformRun, initialised) -> None:
    proc = terraform(initialised(rel), "validate", "-json", check=False)
    result = json.loads(proc.stdout)
    assert result["valid"], f"{rel}: {json.dumps(result['diagnostics'], indent=2)}"
    assert result["error_count"] == 0


@pytest.mark.parametrize("module", MODULES)
def test_module_tftest(module: str, terraform: TerraformRun, initialised) -> None:
    tests = sorted((TERRAFORM_SRC / "modules" / module / "tests").glob("*.tftest.hcl"))
    assert tests, f"modules/{module} has no tests/*.tftest.hcl"
    proc = terraform(initialised(f"modules/{module}"), "test", check=False, timeout=600)
    assert proc.returncode == 0, f"terraform test failed in modules/{module}:\n{proc.stdout}\n{proc.stderr}"
    # Guard against a vacuous pass: every run block must have been executed and passed.
    runs = sum(Path(t).read_text().count('\nrun "') for t in tests)
    assert f"Success! {runs} passed, 0 failed." in proc.stdout, proc.stdout


def test_checkov(checkov_bin: str) -> None:
    proc = subprocess.run(
        [checkov_bin, "-d", "terraform", "--config-file", ".checkov.yaml", "--quiet", "--compact", "-o", "json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    terraform_reports = [r for r in reports if r.get("check_type") == "terraform"]
    assert terraform_reports, f"checkov scanned no Terraform:\n{proc.stdout[:2000]}\n{proc.stderr[-2000:]}"
    for report in terraform_reports:
        summary = report["summary"]
        failed = [
            f"{c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range']})"
            for c in report.get("results", {}).get("failed_checks", [])
        ]
        assert summary["failed"] == 0, "checkov failures:\n" + "\n".join(failed)
        assert summary["parsing_errors"] == 0
        assert summary["passed"] > 0 and summary["resource_count"] > 0


def test_checkov_skips_are_explained() -> None:
    lines = (REPO / ".checkov.yaml").read_text().splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith("- CKV"):
            assert lines[i - 1].strip().startswith("#"), f".checkov.yaml: {line.strip()} has no comment saying why"


@pytest.mark.parametrize("module_dir", documented_dirs(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_readme_tables_match_code(module_dir: Path) -> None:
    readme = module_dir / "README.md"
    assert readme.is_file(), f"{module_dir} has no README.md"
    assert current_section(readme) == render(module_dir), (
        f"{readme}: inputs/outputs tables differ from variables.tf/outputs.tf; "
        "run `python tests/terraform/tfdocs.py --write`"
    )


@pytest.mark.parametrize("module", MODULES)
def test_module_layout(module: str) -> None:
    root = TERRAFORM_SRC / "modules" / module
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
        assert (root / name).is_file(), f"modules/{module}/{name} missing"
    examples = [p for p in (root / "examples").iterdir() if p.is_dir()]
    assert examples and all((p / "README.md").is_file() for p in examples), f"modules/{module}: examples need a README"
    versions = (root / "versions.tf").read_text()
    assert 'required_version = ">= 1.7"' in versions and 'version = ">= 5.0"' in versions, "lower bounds only"
