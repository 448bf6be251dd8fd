"""ansible-lint (profile production, see .ansible-lint) passes on playbooks, roles and library."""

from __future__ import annotations

import re

from ansible_helpers import RunAnsible


def test_ansible_lint_production_profile_passes(run_ansible: RunAnsible) -> None:
    run = run_ansible("ansible-lint", "--nocolor", timeout=600)
    assert run.rc == 0, run.output[-6000:]
    assert "Profile 'production' was required, and it passed" in run.output
    # It really linted our content (playbook, role files, inventories), not an empty selection.
    processed = re.search(r"in (\d+) files processed", run.output)
    assert processed and int(processed.group(1)) >= 5, run.output[-2000:]


def test_smoke_playbook_syntax(run_ansible: RunAnsible) -> None:
    run = run_ansible("ansible-playbook", "--syntax-check", "-i", "inventories/local/hosts.yml", "playbooks/smoke.yml")
    assert run.rc == 0, run.output
