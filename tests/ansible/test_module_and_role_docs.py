"""Every module's documentation and every role's argument spec is the manual, and says what the code does.

Modules are every library/*.py and roles every roles/*/, found in the tree, so a new one is checked without
being listed here. Service-specific facts (which names a module offers, which keys it returns) stay with the
service's own tests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from itertools import pairwise
from typing import Any

import pytest
import yaml
from ansible_helpers import REPO, RunAnsible, load_module

MODULES = sorted(p.stem for p in (REPO / "library").glob("*.py") if not p.name.startswith("_"))
ROLES = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "meta" / "argument_specs.yml").is_file())
PLAYBOOKS = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "playbooks").glob("*.yml"))
# The spec keys an option's documentation must repeat (`required` compared as a bool: absent means false).
SPEC_KEYS = ("type", "default", "choices", "elements")


def flat(text: str) -> str:
    """ansible-doc's text as one line: it wraps long lines wherever the terminal width says."""
    return re.sub(r"\s+", " ", text)


def same_spec(documented: dict[str, Any], spec: dict[str, Any], where: str) -> None:
    """The documented options are the spec's, with the same type/default/choices/elements/required, down
    through suboptions; a no_log option tells the reader it is never logged."""
    assert set(documented) == set(spec), f"{where}: documented {sorted(documented)} != spec {sorted(spec)}"
    for option, arg in spec.items():
        doc = documented[option]
        for key in SPEC_KEYS:
            assert doc.get(key) == arg.get(key), f"{where}.{option}: {key} {doc.get(key)!r} != {arg.get(key)!r}"
        assert bool(doc.get("required", False)) == bool(arg.get("required", False)), f"{where}.{option}: required"
        if arg.get("no_log"):
            assert "Never logged" in " ".join(doc["description"]), f"{where}.{option} is no_log; say so in its doc"
        if "options" in arg:
            same_spec(doc.get("suboptions", {}), arg["options"], f"{where}.{option}")


# ------------------------------------------------------------------------------------------ modules


@pytest.mark.parametrize("name", MODULES)
def test_module_doc_renders_every_section_and_option(run_ansible: RunAnsible, name: str) -> None:
    run = run_ansible("ansible-doc", name)
    assert run.rc == 0, run.output
    text = flat(run.stdout)
    assert f"MODULE {name}" in text
    for section in ("OPTIONS", "EXAMPLES:", "RETURN VALUES:", "ATTRIBUTES:"):
        assert section in text, f"{section} missing from ansible-doc {name}"
    for option in load_module(name).ARGUMENT_SPEC:
        assert option in text, f"{option} missing from ansible-doc {name}"


@pytest.mark.parametrize("name", MODULES)
def test_module_doc_matches_argument_spec_and_check_mode(run_ansible: RunAnsible, name: str) -> None:
    """ARGUMENT_SPEC is what AnsibleModule enforces; for the fall-forward modules it already holds
    CONNECTION_ARGUMENT_SPEC (ansible_support.argument_spec), which ansible-doc gets from the doc fragment."""
    run = run_ansible("ansible-doc", "--json", name)
    assert run.rc == 0, run.output
    doc = json.loads(run.stdout)[name]["doc"]
    same_spec(doc["options"], load_module(name).ARGUMENT_SPEC, name)
    source = (REPO / "library" / f"{name}.py").read_text()
    supports = re.search(r"supports_check_mode\s*=\s*True\b", source) is not None
    documented = doc.get("attributes", {}).get("check_mode", {}).get("support")
    assert (documented == "full") == supports, (
        f"{name}: DOCUMENTATION says check_mode support {documented!r} but the module "
        f"{'passes' if supports else 'does not pass'} supports_check_mode=True"
    )


@pytest.mark.parametrize("name", MODULES)
def test_module_examples_use_only_spec_options_and_every_required_one(name: str) -> None:
    mod = load_module(name)
    spec = mod.ARGUMENT_SPEC
    required = {k for k, v in spec.items() if v.get("required")}
    examples = yaml.safe_load(mod.EXAMPLES)
    assert examples, f"{name}: EXAMPLES is empty"
    for task in examples:
        assert name in task, f"{name}: example {task.get('name')!r} does not call {name}"
        args = set(task[name])
        assert args <= set(spec), f"{name}: example {task.get('name')!r} uses undocumented {sorted(args - set(spec))}"
        assert required <= args, f"{name}: example {task.get('name')!r} lacks required {sorted(required - args)}"
    assert yaml.safe_load(mod.RETURN), f"{name}: RETURN is empty"


# ------------------------------------------------------------------------------------------ roles


def role_options(role: str) -> dict[str, Any]:
    specs = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())
    return specs["argument_specs"]["main"]["options"]


def defined_in_tasks(tasks: Iterable[Any]) -> set[str]:
    """Names the tasks themselves define: registered results, set_fact keys, task vars and loop variables."""
    names: set[str] = set()
    for task in tasks or ():
        if not isinstance(task, dict):
            continue
        if "register" in task:
            names.add(task["register"])
        names.update(task.get("vars") or {})
        names.add((task.get("loop_control") or {}).get("loop_var", "item"))
        for key in ("ansible.builtin.set_fact", "set_fact"):
            if isinstance(task.get(key), dict):
                names.update(task[key])
        for key in ("block", "rescue", "always"):
            names |= defined_in_tasks(task.get(key) or ())
    return names


def namespaces(role: str, options: Iterable[str]) -> set[str]:
    """The role's variable prefixes: `<role>_`, and each shorter prefix of the role's name that an option uses
    as its own (fall_forward_sync's fall_forward_databases; not dr_ for dr_aurora, whose options are all
    dr_aurora_*, so that prose such as "dr_option auto chose" is no variable)."""
    words = role.split("_")
    prefixes = ["_".join(words[:i]) + "_" for i in range(1, len(words) + 1)]
    found = {f"{role}_"}
    for shorter, longer in pairwise(prefixes):
        if any(o.startswith(shorter) and not o.startswith(longer) for o in options):
            found.add(shorter)
    return found


@pytest.mark.parametrize("role", ROLES)
def test_role_defaults_are_options_with_the_same_default(role: str) -> None:
    options = role_options(role)
    defaults = yaml.safe_load((REPO / "roles" / role / "defaults" / "main.yml").read_text()) or {}
    for name, value in defaults.items():
        assert name in options, f"{role}: {name} has a default but is not in meta/argument_specs.yml"
        assert options[name].get("default") == value, f"{role}: {name} defaults to {value!r} in defaults/main.yml"


@pytest.mark.parametrize("role", ROLES)
def test_role_tasks_use_only_declared_variables(role: str) -> None:
    options = role_options(role)
    files = sorted((REPO / "roles" / role / "tasks").glob("*.yml"))
    assert files, f"{role} has no tasks"
    # Module and role names are no variables (data_migration_parameters: ..., include_role fall_forward_sync).
    local = set(MODULES) | set(ROLES)
    used: set[str] = set()
    for path in files:
        text = path.read_text()
        local |= defined_in_tasks(yaml.safe_load(text))
        for prefix in namespaces(role, options):
            # Not after & or *: YAML anchors and aliases such as &fall_forward_setup_connection are no variables.
            used |= set(re.findall(rf"(?<![\w&*]){prefix}[a-z0-9_]*[a-z0-9]\b", text))
    undeclared = used - set(options) - local
    assert not undeclared, f"{role}: tasks use {sorted(undeclared)}, not declared in meta/argument_specs.yml"


@pytest.mark.parametrize("role", ROLES)
def test_role_doc_renders_every_option(run_ansible: RunAnsible, role: str) -> None:
    run = run_ansible("ansible-doc", "-t", "role", "-r", "roles", role)
    assert run.rc == 0, run.output
    text = flat(run.stdout)
    for option in role_options(role):
        assert option in text, f"{option} missing from ansible-doc -t role {role}"


# ------------------------------------------------------------------------------------------ playbooks


def test_every_playbook_passes_syntax_check(run_ansible: RunAnsible) -> None:
    assert PLAYBOOKS
    run = run_ansible("ansible-playbook", "--syntax-check", "-i", "inventories/local/hosts.yml", *PLAYBOOKS)
    assert run.rc == 0, run.output
    for playbook in PLAYBOOKS:
        assert f"playbook: {playbook}" in run.stdout, f"{playbook} was not checked:\n{run.output}"


def test_discovery_finds_the_tree() -> None:
    """Guards the globs above: an empty parametrization would pass silently."""
    assert {"tsql_query", "dr_rds"} <= set(MODULES)
    assert {"smoke", "dr_rds"} <= set(ROLES)
    assert "playbooks/smoke.yml" in PLAYBOOKS
