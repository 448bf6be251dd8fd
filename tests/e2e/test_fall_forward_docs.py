"""The fall-forward modules' shared doc fragment documents exactly the shared connection spec, and every module
fails helpfully without dbshift. (That each module's doc renders with the fragment and matches its spec, the
roles' specs and the playbooks' syntax: tests/ansible/test_module_and_role_docs.py; ansible-lint, production
profile, over the whole tree: tests/ansible/test_lint.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
