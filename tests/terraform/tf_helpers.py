"""Constants shared by the Terraform tests and their conftest (imported as `tf_helpers`)."""

from __future__ import annotations

import json
import os
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


def terraform_cli_config(tmp_dir: Path) -> str | None:
    """The TF_CLI_CONFIG_FILE to use: the environment's if the file exists, else one for the mirror."""
    configured = os.environ.get("TF_CLI_CONFIG_FILE")
    if configured and Path(configured).is_file():
        return configured
    mirror = os.environ.get("TF_PLUGIN_MIRROR") or DEFAULT_MIRROR
    if not Path(mirror).is_dir():
        return None  # no mirror: Terraform installs providers from the registry as usual
    path = tmp_dir / "terraformrc"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {json.dumps(mirror)}\n"
        '    include = ["registry.terraform.io/hashicorp/*"]\n'
        "  }\n"
        "  direct {\n"
        '    exclude = ["registry.terraform.io/hashicorp/*"]\n'
        "  }\n"
        "}\n"
    )
    os.replace(tmp, path)
    return str(path)
