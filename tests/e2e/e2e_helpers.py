"""Helpers the playbook tests share: unique names, the status of one task in ansible-playbook's output, a KMS key
in the target Region. (The `clients` and `inventory` fixtures are in conftest.py.)"""

from __future__ import annotations

import re
import uuid

from ansible_helpers import Run

from dbshift.dr import Clients


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


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
