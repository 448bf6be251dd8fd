"""tsql_query's documentation is the manual: it renders, and it says what the code does."""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType

import yaml
from ansible_helpers import REPO, RunAnsible


def load_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tsql_query_under_test", REPO / "library" / "tsql_query.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_ansible_doc_renders_every_option(run_ansible: RunAnsible) -> None:
    run = run_ansible("ansible-doc", "-M", "library", "tsql_query")
    assert run.rc == 0, run.output
    assert "MODULE tsql_query" in run.stdout
    for option in load_module().ARGUMENT_SPEC:
        assert option in run.stdout, f"{option} missing from ansible-doc output"
    for section in ("EXAMPLES:", "RETURN VALUES:", "ATTRIBUTES:"):
        assert section in run.stdout


def test_documented_options_match_argument_spec(run_ansible: RunAnsible) -> None:
    run = run_ansible("ansible-doc", "-M", "library", "--json", "tsql_query")
    assert run.rc == 0, run.output
    documented = json.loads(run.stdout)["tsql_query"]["doc"]["options"]
    spec = load_module().ARGUMENT_SPEC
    assert set(documented) == set(spec)
    for name, arg in spec.items():
        doc = documented[name]
        assert doc["type"] == arg["type"], name
        assert bool(doc.get("required", False)) == bool(arg.get("required", False)), name
        assert doc.get("default") == arg.get("default"), name
        assert doc.get("choices") == arg.get("choices"), name
        if arg.get("no_log"):
            assert "Never logged" in " ".join(doc["description"]), f"{name} is no_log; say so in its doc"


def test_examples_use_only_documented_options_and_return_is_complete() -> None:
    mod = load_module()
    options = set(mod.ARGUMENT_SPEC)
    examples = yaml.safe_load(mod.EXAMPLES)
    assert examples, "EXAMPLES is empty"
    for task in examples:
        args = task["tsql_query"]
        assert set(args) <= options, f"{task['name']}: undocumented options {set(args) - options}"
        required = {k for k, v in mod.ARGUMENT_SPEC.items() if v.get("required")}
        assert required <= set(args), f"{task['name']}: missing {required - set(args)}"
    returned = yaml.safe_load(mod.RETURN)
    assert {"result_sets", "rows", "row_count", "messages", "error_number", "error_numbers"} <= set(returned)


def test_choices_are_the_ones_dbshift_accepts() -> None:
    from dbshift.tsql.winrm import CERT_VALIDATION, TRANSPORTS

    spec = load_module().ARGUMENT_SPEC
    assert set(spec["winrm_transport"]["choices"]) == set(TRANSPORTS)
    assert set(spec["winrm_server_cert_validation"]["choices"]) == set(CERT_VALIDATION)
