"""Constants shared by the Terraform tests and their conftest (imported as `tf_helpers`)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TERRAFORM_SRC = REPO / "terraform"
DEFAULT_MIRROR = "/opt/tf-plugins"
DEFAULT_CHECKOV = REPO / ".tools" / "checkov" / "bin" / "checkov"

MODULES = sorted(p.name for p in (TERRAFORM_SRC / "modules").iterdir() if p.is_dir())
STACKS = sorted(p.name for p in (TERRAFORM_SRC / "stacks").iterdir() if p.is_dir())
# Every directory `terraform validate` must accept: modules, their examples, stacks.
CONFIG_DIRS = sorted(
    [f"modules/{m}" for m in MODULES]
    + [str(p.relative_to(TERRAFORM_SRC)) for p in TERRAFORM_SRC.glob("modules/*/examples/*") if p.is_dir()]
    + [f"stacks/{s}" for s in STACKS]
)

TerraformRun = Callable[..., subprocess.CompletedProcess[str]]
