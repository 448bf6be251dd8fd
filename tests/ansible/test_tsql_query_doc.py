"""tsql_query's documentation says what the code does: its return keys and choices. (That it renders and
matches ARGUMENT_SPEC: tests/ansible/test_module_and_role_docs.py.)"""

from __future__ import annotations

import yaml
from ansible_helpers import load_module


def test_return_documents_every_result_key() -> None:
    returned = yaml.safe_load(load_module("tsql_query").RETURN)
    assert {"result_sets", "rows", "row_count", "messages", "error_number", "error_numbers"} <= set(returned)


def test_choices_are_the_ones_dbshift_accepts() -> None:
    from dbshift.tsql.winrm import CERT_VALIDATION, TRANSPORTS

    spec = load_module("tsql_query").ARGUMENT_SPEC
    assert set(spec["winrm_transport"]["choices"]) == set(TRANSPORTS)
    assert set(spec["winrm_server_cert_validation"]["choices"]) == set(CERT_VALIDATION)
