"""Shared by dbshift's Ansible modules. It lives in module_utils, not in dbshift, because it runs exactly
when dbshift cannot be imported; Ansible ships it inside each module's payload."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule, _load_params, missing_required_lib


def fail_without_dbshift(import_error: str) -> None:
    """Fail the task with how to fix a missing dbshift, hiding every value passed (some are secrets)."""
    # Without dbshift there is no shared argument spec: accept what was passed, hide every value.
    spec = {k: {"type": "raw", "no_log": True} for k in _load_params() if not k.startswith("_ansible")}
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True, no_log=True)
    module.fail_json(
        msg=missing_required_lib("dbshift") + " Run the module with the Python environment that has dbshift installed"
        " (ansible_python_interpreter: '{{ ansible_playbook_python }}').",
        exception=import_error,
    )
