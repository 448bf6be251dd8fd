"""The fall-forward modules' documentation is the manual: ansible-doc renders it with the shared fragment,
and it says what the argument specs say. (ansible-lint, production profile, over the whole tree including
these modules, roles and playbooks: tests/ansible/test_lint.py.)"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from ansible_helpers import REPO, RunAnsible

from dbshift.ansible_support import CONNECTION_ARGUMENT_SPEC

MODULES = (
    "rds_tde_certificate",
    "rds_native_backup",
    "mssql_restore_database",
    "rds_tlog_copy",
    "rds_tlog_fetch",
    "mssql_restore_log",
    "mssql_fall_forward_status",
    "mssql_cutover",
)
ROLES = ("fall_forward_setup", "fall_forward_sync", "fall_forward_cutover")


def load_module(name: str) -> ModuleType:
    """Import library/<name>.py as Ansible would run it, with our module_utils under ansible.module_utils."""
    if "ansible.module_utils.dbshift_import" not in sys.modules:
        utils = importlib.util.spec_from_file_location(
            "ansible.module_utils.dbshift_import", REPO / "module_utils" / "dbshift_import.py"
        )
        assert utils and utils.loader
        sys.modules[utils.name] = importlib.util.module_from_spec(utils)
        utils.loader.exec_module(sys.modules[utils.name])
    spec = importlib.util.spec_from_file_location(f"{name}_under_test", REPO / "library" / f"{name}.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("name", MODULES)
def test_ansible_doc_renders_with_the_fragment(run_ansible: RunAnsible, name: str) -> None:
    run = run_ansible("ansible-doc", name)
    assert run.rc == 0, run.output
    assert f"MODULE {name}" in run.stdout
    for section in ("OPTIONS", "EXAMPLES:", "RETURN VALUES:", "ATTRIBUTES:"):
        assert section in run.stdout, section
    for option in load_module(name).ARGUMENT_SPEC:
        assert option in run.stdout, f"{option} missing from ansible-doc {name}"


@pytest.mark.parametrize("name", MODULES)
def test_documented_options_match_argument_spec(run_ansible: RunAnsible, name: str) -> None:
    run = run_ansible("ansible-doc", "--json", name)
    assert run.rc == 0, run.output
    doc = json.loads(run.stdout)[name]["doc"]
    spec = load_module(name).ARGUMENT_SPEC
    assert set(doc["options"]) == set(spec)
    for option, arg in spec.items():
        documented = doc["options"][option]
        assert documented["type"] == arg["type"], option
        assert bool(documented.get("required", False)) == bool(arg.get("required", False)), option
        assert documented.get("default") == arg.get("default"), option
        assert documented.get("choices") == arg.get("choices"), option
        if arg.get("no_log"):
            assert "Never logged" in " ".join(documented["description"]), f"{option} is no_log; say so"
    assert doc["attributes"]["check_mode"]["support"] == "full"


@pytest.mark.parametrize("name", MODULES)
def test_examples_use_documented_options(name: str) -> None:
    mod = load_module(name)
    required = {k for k, v in mod.ARGUMENT_SPEC.items() if v.get("required")}
    for task in yaml.safe_load(mod.EXAMPLES):
        args = task[name]
        assert set(args) <= set(mod.ARGUMENT_SPEC), f"{task['name']}: {set(args) - set(mod.ARGUMENT_SPEC)}"
        assert required <= set(args), f"{task['name']}: missing {required - set(args)}"
    assert yaml.safe_load(mod.RETURN)


def test_fragment_documents_exactly_the_shared_spec() -> None:
    from importlib.machinery import SourceFileLoader

    fragment = SourceFileLoader(
        "dbshift_fragment", str(REPO / "plugins" / "doc_fragments" / "dbshift.py")
    ).load_module()
    options = yaml.safe_load(fragment.ModuleDocFragment.DOCUMENTATION)["options"]
    assert set(options) == set(CONNECTION_ARGUMENT_SPEC)
    for name, arg in CONNECTION_ARGUMENT_SPEC.items():
        assert options[name]["type"] == arg["type"], name
        assert bool(options[name].get("required")) == bool(arg.get("required")), name
        assert options[name].get("default") == arg.get("default"), name


@pytest.mark.parametrize("role", ROLES)
def test_role_defaults_match_argument_specs(run_ansible: RunAnsible, role: str) -> None:
    specs = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())
    options = specs["argument_specs"]["main"]["options"]
    defaults = yaml.safe_load((REPO / "roles" / role / "defaults" / "main.yml").read_text())
    for name, value in defaults.items():
        assert name in options, f"{role}: {name} has a default but no argument spec"
        assert options[name].get("default") == value, name
    run = run_ansible("ansible-doc", "-t", "role", "-r", "roles", role)
    assert run.rc == 0, run.output
    assert "fall_forward_databases" in run.stdout


def test_playbooks_pass_syntax_check(run_ansible: RunAnsible) -> None:
    for stage in ("setup", "sync", "cutover"):
        run = run_ansible(
            "ansible-playbook",
            "--syntax-check",
            "-i",
            "inventories/local/hosts.yml",
            f"playbooks/fall_forward_{stage}.yml",
        )
        assert run.rc == 0, run.output


@pytest.mark.parametrize("name", MODULES)
def test_without_dbshift_the_task_says_how_to_fix_it_and_hides_the_secrets(
    run_ansible: RunAnsible, tmp_path: Path, name: str
) -> None:
    """Run by an interpreter that lacks dbshift, every module fails through module_utils/dbshift_import.py
    with the fix (the interpreter to use), and nothing shows a value passed to it, even at -vvv."""
    bare = tmp_path / "bare-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    secret = "Sekr1t-" + name
    play = tmp_path / "play.yml"
    play.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "A dbshift module on an interpreter without dbshift",
                    "hosts": "localhost",
                    "gather_facts": False,
                    "vars": {"ansible_python_interpreter": str(bare / "bin" / "python")},
                    "tasks": [
                        {
                            "name": f"Run {name}",
                            name: {
                                "winrm_password": "{{ the_secret }}",
                                "source_password": "{{ the_secret }}",
                                "target_database": "x",
                            },
                        }
                    ],
                }
            ]
        )
    )
    secrets_file = tmp_path / "secret.json"
    secrets_file.write_text(json.dumps({"the_secret": secret}))
    run = run_ansible(
        "ansible-playbook", "-vvv", "-i", "localhost,", "-c", "local", "-e", f"@{secrets_file}", str(play)
    )
    assert run.rc != 0
    assert "Failed to import the required Python library (dbshift)" in run.output
    assert "ansible_playbook_python" in run.output
    assert secret not in run.output
