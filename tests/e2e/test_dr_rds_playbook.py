"""playbooks/dr_rds.yml against the emulated AWS (moto server; source us-east-1, target us-west-2):
snapshot_copy in four steps (check, run, check, run), a wrong-Region key, auto choosing snapshot_copy,
and the security-parity check on a target made public. Plus the module's documentation and the role's spec.
Options A and B (where moto lacks behaviour, covered with Stubber) are tested at library level."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

import pytest
import yaml
from ansible_helpers import REPO, load_module
from e2e_helpers import dr_runbook, target_key, task_status, unique

from dbshift.dr import Clients, parity, rds, runbook

SOURCE, TARGET = "us-east-1", "us-west-2"
TASK = "TASK [dr_rds : Recover"


def make_source(clients: Clients, **extra: Any) -> str:
    """An unencrypted PostgreSQL instance in the source Region with a manual snapshot; its id."""
    src = unique("src")
    east = clients.rds(SOURCE)
    east.create_db_instance(
        DBInstanceIdentifier=src,
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        MasterUsername="dbadmin",
        MasterUserPassword="not-a-secret-1",
        AllocatedStorage=20,
        BackupRetentionPeriod=7,
        PubliclyAccessible=False,
        **extra,
    )
    east.create_db_snapshot(DBInstanceIdentifier=src, DBSnapshotIdentifier=f"{src}-manual")
    return src


# The playbook ends with dr_verify; these instances have no CloudWatch alarm (tested there).
playbook = partial(dr_runbook, "dr_rds", source=SOURCE, target=TARGET, verify_waive=["monitoring"])


def copies_in_target(clients: Clients, src: str) -> list[str]:
    snaps = clients.rds(TARGET).describe_db_snapshots(DBInstanceIdentifier=src)["DBSnapshots"]
    return [s["DBSnapshotIdentifier"] for s in snaps if s["DBSnapshotArn"].split(":")[3] == TARGET]


# ------------------------------------------------------------------------------------------ the runbook


def test_snapshot_copy_four_steps(run_ansible, inventory, tmp_path, aws_endpoint_url, clients) -> None:
    src, new = make_source(clients), unique("dr")
    key = target_key(clients)
    run = playbook(
        run_ansible,
        inventory,
        tmp_path,
        aws_endpoint_url,
        dr_rds_option="snapshot_copy",
        dr_rds_source_instance_id=src,
        dr_rds_target_instance_id=new,
        dr_rds_kms_key_arn=key,
        dr_rds_instance_class="db.t3.small",
        dr_rds_backup_retention_days=7,
    )
    west = clients.rds(TARGET)

    # 1. Check mode: would create; nothing copied or restored.
    check = run("--check")
    assert check.rc == 0, check.output[-6000:]
    assert task_status(check, TASK) == "changed" and "would_create" in check.stdout
    assert rds.describe_instance(west, new) is None and copies_in_target(clients, src) == []

    # 2. Real run: the instance is in us-west-2, encrypted with the target Region's key, private.
    real = run()
    assert real.rc == 0, real.output[-6000:]
    assert task_status(real, TASK) == "changed"
    inst = west.describe_db_instances(DBInstanceIdentifier=new)["DBInstances"][0]
    assert inst["DBInstanceArn"].split(":")[3] == TARGET and inst["DBInstanceStatus"] == "available"
    assert inst["StorageEncrypted"] is True and inst["KmsKeyId"] == key
    assert inst["PubliclyAccessible"] is False and inst["DBInstanceClass"] == "db.t3.small"
    assert copies_in_target(clients, src) == [rds.copy_id_for(new)]
    assert f"snapshot_copy: {new} in {TARGET} is available" in real.stdout and key in real.stdout

    # 3 and 4. Check mode again and a real run again: nothing changes, no second copy or instance.
    for args in (("--check",), ()):
        again = run(*args)
        assert again.rc == 0, again.output[-6000:]
        assert again.recap()["changed"] == 0, again.stdout[-6000:]
    assert copies_in_target(clients, src) == [rds.copy_id_for(new)]
    assert [i for i in west.describe_db_instances()["DBInstances"] if i["DBInstanceIdentifier"] == new]


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_key_of_another_region_is_refused_before_anything_is_created(
    run_ansible, inventory, tmp_path, aws_endpoint_url, clients, check_mode
) -> None:
    src, new = make_source(clients), unique("dr")
    wrong = target_key(clients, SOURCE)
    run = playbook(
        run_ansible,
        inventory,
        tmp_path,
        aws_endpoint_url,
        dr_rds_option="snapshot_copy",
        dr_rds_source_instance_id=src,
        dr_rds_target_instance_id=new,
        dr_rds_kms_key_arn=wrong,
    )
    failed = run(*(["--check"] if check_mode else []))
    assert failed.rc != 0 and task_status(failed, TASK) == "fatal"
    text = failed.stdout
    assert wrong in text and f"is a key in {SOURCE}" in text
    assert f"Create (or replicate a multi-Region key) in {TARGET}" in text  # the fix
    assert rds.describe_instance(clients.rds(TARGET), new) is None
    assert rds.describe_snapshot(clients.rds(TARGET), rds.copy_id_for(new)) is None


def test_auto_chooses_snapshot_copy_and_says_why(run_ansible, inventory, tmp_path, aws_endpoint_url, clients) -> None:
    # Prepared: no replica in us-west-2, no replicated backups, a snapshot taken just now, no database DSN.
    src, new = make_source(clients), unique("dr")
    key = target_key(clients)
    run = playbook(
        run_ansible,
        inventory,
        tmp_path,
        aws_endpoint_url,
        dr_rds_option="auto",
        dr_rds_source_instance_id=src,
        dr_rds_target_instance_id=new,
        dr_rds_kms_key_arn=key,
        dr_rds_backup_retention_days=7,
    )
    first = run()
    assert first.rc == 0, first.output[-6000:]
    assert task_status(first, TASK) == "changed"
    assert "dr_option auto chose snapshot_copy" in first.stdout
    assert f"A promote_replica skipped: no read replica of {src} in {TARGET}" in first.stdout
    assert "B pitr_replicated_backup skipped: no replicated automated backups" in first.stdout
    assert re.search(rf"C snapshot_copy chosen: snapshot \S*{src}\S* is \d+ min old", first.stdout), first.stdout
    inst = clients.rds(TARGET).describe_db_instances(DBInstanceIdentifier=new)["DBInstances"][0]
    assert inst["KmsKeyId"] == key and inst["StorageEncrypted"] is True

    again = run()
    assert again.rc == 0, again.output[-6000:]
    assert again.recap()["changed"] == 0, again.stdout[-6000:]
    assert f"{new} in {TARGET} was made by an earlier run" in again.stdout
    assert copies_in_target(clients, src) == [rds.copy_id_for(new)]


def test_parity_fails_a_public_target_unless_waived(run_ansible, inventory, tmp_path, aws_endpoint_url, clients):
    src, new = make_source(clients), unique("dr")
    variables = {
        "dr_rds_option": "snapshot_copy",
        "dr_rds_source_instance_id": src,
        "dr_rds_target_instance_id": new,
        "dr_rds_kms_key_arn": target_key(clients),
        "dr_rds_backup_retention_days": 7,
    }
    made = playbook(run_ansible, inventory, tmp_path, aws_endpoint_url, **variables)()
    assert made.rc == 0, made.output[-6000:]
    # Someone opened the recovered instance to the internet: the runbook must not call that a success.
    clients.rds(TARGET).modify_db_instance(DBInstanceIdentifier=new, PubliclyAccessible=True, ApplyImmediately=True)

    for args in ((), ("--check",)):
        refused = playbook(run_ansible, inventory, tmp_path, aws_endpoint_url, **variables)(*args)
        assert refused.rc != 0 and task_status(refused, TASK) == "fatal", refused.stdout[-4000:]
        assert "security parity" in refused.stdout and f"publicly_accessible: {new} PubliclyAccessible is True" in (
            refused.stdout
        )
        assert "parity_waive: [publicly_accessible]" in refused.stdout

    waived = playbook(
        run_ansible, inventory, tmp_path, aws_endpoint_url, dr_rds_parity_waive=["publicly_accessible"], **variables
    )()
    assert waived.rc == 0, waived.output[-6000:]
    assert waived.recap()["changed"] == 0
    assert "parity waived: publicly_accessible" in waived.stdout


# ------------------------------------------------------------------------------------------ module and role
# (That the doc renders and matches ARGUMENT_SPEC, the role's defaults and variables, the playbook's syntax:
# tests/ansible/test_module_and_role_docs.py.)


def test_module_spec_names_and_return_match_the_library() -> None:
    mod = load_module("dr_rds")
    # Every name the module offers is one parity knows (transit_encryption is ElastiCache's, not RDS's).
    assert set(mod.PARITY_NAMES) <= set(parity.CHECKS)
    assert set(parity.CHECKS) - set(mod.PARITY_NAMES) == {"transit_encryption"}
    returned = yaml.safe_load(mod.RETURN)
    assert set(runbook.EMPTY_RESULT) <= set(returned)
    assert set(rds.DrResult.__dataclass_fields__) <= set(returned)


def test_role_uses_every_option() -> None:
    role = REPO / "roles" / "dr_rds"
    options = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    used = set(re.findall(r"\bdr_rds_[a-z_]+\b", (role / "tasks" / "main.yml").read_text()))
    assert set(options) - {"dbshift_aws_endpoint_url"} <= used, sorted(set(options) - used)
