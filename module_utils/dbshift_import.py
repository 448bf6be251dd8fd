"""Shared by dbshift's Ansible modules. It lives in module_utils, not in dbshift, because it runs exactly
when dbshift cannot be imported; Ansible ships it inside each module's payload. So this file imports
nothing from dbshift at its top: only inside the functions that run once dbshift is known to import."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any, NoReturn, TypeVar

from ansible.module_utils.basic import AnsibleModule, _load_params, missing_required_lib

T = TypeVar("T")


def fail_without_dbshift(import_error: str) -> NoReturn:
    """Fail the task with how to fix a missing dbshift, hiding every value passed (some are secrets)."""
    # Without dbshift there is no shared argument spec: accept what was passed, hide every value.
    spec = {k: {"type": "raw", "no_log": True} for k in _load_params() if not k.startswith("_ansible")}
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True, no_log=True)
    module.fail_json(
        msg=missing_required_lib("dbshift") + " Run the module with the Python environment that has dbshift installed"
        " (ansible_python_interpreter: '{{ ansible_playbook_python }}').",
        exception=import_error,
    )


class DbshiftImport:
    """`with DBSHIFT:` around a module's dbshift imports keeps an ImportError (as its traceback) instead of
    raising it, so the module still loads and main() can fail the task with the fix (module())."""

    def __init__(self) -> None:
        self.error: str | None = None

    def __enter__(self) -> DbshiftImport:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        if exc_type is None or not issubclass(exc_type, ImportError):
            return False
        self.error = "".join(traceback.format_exception(exc_type, exc, tb))
        return True

    def module(self, argument_spec: dict[str, Any] | Callable[[], dict[str, Any]], **kwargs: Any) -> AnsibleModule:
        """AnsibleModule(argument_spec, **kwargs), or fail_without_dbshift() when the imports failed.
        `argument_spec` may be a callable because some modules build their spec from dbshift, so without
        dbshift the name does not exist."""
        if self.error is not None:
            fail_without_dbshift(self.error)
        spec = argument_spec() if callable(argument_spec) else argument_spec
        return AnsibleModule(argument_spec=spec, **kwargs)


def run_or_fail(module: AnsibleModule, call: Callable[[], T], what: str, **fail_extra: Any) -> T:
    """call()'s value; when it raises, fail_json with msg "<what>: <error>" and `fail_extra` as return values."""
    from dbshift.errors import DbshiftError  # here, not at the top: this file must import without dbshift

    try:
        return call()
    except DbshiftError as err:
        # dbshift's messages name the input, the resource and the fix, and never carry a secret.
        module.fail_json(msg=f"{what}: {err}", **fail_extra)
    except Exception as err:
        # Transport failures (PostgreSQL, TDS, AWS credentials) carry their cause in the type name.
        module.fail_json(msg=f"{what}: {type(err).__name__}: {err}", exception=traceback.format_exc(), **fail_extra)


def run_and_exit(module: AnsibleModule, call: Callable[[], dict[str, Any]], what: str, **fail_extra: Any) -> NoReturn:
    """exit_json with the dict call() returns, or fail_json as run_or_fail() does."""
    module.exit_json(**run_or_fail(module, call, what, **fail_extra))
