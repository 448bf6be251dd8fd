"""Helpers the playbook tests share: unique names, an ansible-playbook run with extra variables (and the DR
runbooks' usual ones), the status of one task in ansible-playbook's output, a KMS key in the target Region.
(The `clients` and `inventory` fixtures are in conftest.py.)"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ansible_helpers import Run, RunAnsible

from dbshift.dr import Clients


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def playbook_runner(
    run_ansible: RunAnsible, inventory: Path, tmp_path: Path, playbook: str, variables: dict[str, Any]
) -> Callable[..., Run]:
    """run(*args): `ansible-playbook -v -i inventory -e @extra *args playbook` (a path from the repository root),
    with `variables` as the extra vars, written to a JSON file in tmp_path so that numbers and lists keep their types.
    """
    extra = tmp_path / f"extra-{uuid.uuid4().hex[:6]}.json"
    extra.write_text(json.dumps(variables))

    def run(*args: str) -> Run:
        return run_ansible("ansible-playbook", "-v", "-i", str(inventory), "-e", f"@{extra}", *args, playbook)

    return run


def dr_runbook(
    runbook: str,
    run_ansible: RunAnsible,
    inventory: Path,
    tmp_path: Path,
    endpoint: str,
    *,
    source: str = "us-east-1",
    target: str = "us-west-2",
    wait_timeout: float = 120,
    verify_waive: Iterable[str] = (),
    **variables: Any,
) -> Callable[..., Run]:
    """playbook_runner for playbooks/<runbook>.yml (e.g. dr_rds → dr_cutover → dr_verify) on the emulated AWS at
    `endpoint`: <runbook>_source_region/_target_region, polling every 0.2 s, waits up to `wait_timeout` s, API
    calls 3 s, and `verify_waive` (when given) as dr_verify_waive; `variables` add to and win over these."""
    defaults: dict[str, Any] = {
        "dbshift_aws_endpoint_url": endpoint,
        f"{runbook}_source_region": source,
        f"{runbook}_target_region": target,
        f"{runbook}_poll_interval": 0.2,
        f"{runbook}_wait_timeout": wait_timeout,
        f"{runbook}_api_timeout": 3,
    }
    if verify_waive:
        defaults["dr_verify_waive"] = list(verify_waive)
    return playbook_runner(run_ansible, inventory, tmp_path, f"playbooks/{runbook}.yml", {**defaults, **variables})


def task_status(run: Run, task: str) -> str:
    """changed / ok / fatal / skipping of the first task whose banner starts with `task`."""
    after = run.stdout.split(task, 1)
    assert len(after) == 2, f"no {task} in:\n{run.output[-4000:]}"
    m = re.search(r"^(changed|ok|fatal|skipping):", after[1], re.MULTILINE)
    assert m, after[1][:2000]
    return m.group(1)


def target_key(clients: Clients, region: str = "us-west-2") -> str:
    """A new KMS key in `region` (the DR tests' target Region by default); its ARN."""
    return clients.kms(region).create_key(Description="dbshift dr e2e")["KeyMetadata"]["Arn"]
