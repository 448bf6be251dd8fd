"""The inventories give the smoke role every input it declares, and run modules in the venv."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from ansible_helpers import REPO, RunAnsible

SPECS = yaml.safe_load((REPO / "roles" / "smoke" / "meta" / "argument_specs.yml").read_text())
OPTIONS = SPECS["argument_specs"]["main"]["options"]


def hostvars(run_ansible: RunAnsible, inventory: Path | str) -> dict:
    run = run_ansible("ansible-inventory", "-i", str(inventory), "--list")
    assert run.rc == 0, run.output
    return json.loads(run.stdout)["_meta"]["hostvars"]["localhost"]


def test_example_inventory_defines_every_required_role_input(run_ansible: RunAnsible) -> None:
    hv = hostvars(run_ansible, "inventories/example")
    required = {name for name, opt in OPTIONS.items() if opt.get("required")}
    assert required, "the smoke role declares no required inputs?"
    assert required <= set(hv), f"inventories/example lacks {sorted(required - set(hv))}"
    # Production-shaped: secrets are references, never literal values.
    for name, opt in OPTIONS.items():
        if opt.get("no_log"):
            assert "{{" in hv[name], f"{name} must come from a vault or lookup, not a literal"
    assert hv["dbshift_winrm_server_cert_validation"] == "validate"
    assert hv["dbshift_winrm_endpoint"].startswith("https://")


def test_localhost_runs_modules_with_the_playbook_python(run_ansible: RunAnsible) -> None:
    for inventory in ("inventories/local/hosts.yml", "inventories/example"):
        hv = hostvars(run_ansible, inventory)
        assert hv["ansible_connection"] == "local"
        assert hv["ansible_python_interpreter"] == "{{ ansible_playbook_python }}"
