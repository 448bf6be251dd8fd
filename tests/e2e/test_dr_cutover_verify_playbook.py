"""roles/dr_cutover and roles/dr_verify through ansible-playbook against the emulated AWS (moto server) and a
PostgreSQL server of the test's own, using tests/e2e/dr_cutover_verify.yml (it sets dr_recovered as a dr role's
last task does): four steps (check, run, check, run) with the record changed once and then unchanged, TTL 60;
verify failing on missing backups until waived; a bad zone refused; the endpoint printed without a zone; DSNs
never shown. Plus the modules' documentation and the roles' specs."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_helpers import REPO, Run, RunAnsible, load_module
from e2e_helpers import playbook_runner, task_status, unique

from dbshift.dr import Clients, cutover, verify

REGION = "us-west-2"
PLAYBOOK = "tests/e2e/dr_cutover_verify.yml"
CUTOVER = "TASK [dr_cutover : Cut over"
VERIFY = "TASK [dr_verify : Verify"


def make_instance(clients: Clients, backup_days: int, with_alarm: bool = True) -> dict[str, Any]:
    """A recovered PostgreSQL instance in the target Region (and an alarm with actions on it): dr_recovered."""
    rid = unique("dr")
    inst = clients.rds(REGION).create_db_instance(
        DBInstanceIdentifier=rid,
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        MasterUsername="dbadmin",
        MasterUserPassword="not-a-secret-1",
        AllocatedStorage=20,
        BackupRetentionPeriod=backup_days,
    )["DBInstance"]
    if with_alarm:
        clients.get("cloudwatch", REGION).put_metric_alarm(
            AlarmName=f"{rid}-cpu",
            Namespace="AWS/RDS",
            MetricName="CPUUtilization",
            Dimensions=[{"Name": "DBInstanceIdentifier", "Value": rid}],
            Statistic="Average",
            Period=300,
            EvaluationPeriods=3,
            Threshold=80.0,
            ComparisonOperator="GreaterThanThreshold",
            AlarmActions=[f"arn:aws:sns:{REGION}:123456789012:dr-alerts"],
        )
    endpoint = inst.get("Endpoint") or {}
    return {
        "service": "rds",
        "region": REGION,
        "resource_id": rid,
        "endpoint": endpoint.get("Address", f"{rid}.example.{REGION}.rds.amazonaws.com"),
        "port": 5432,
        "engine": "postgres",
    }


def make_zone(clients: Clients) -> tuple[str, str]:
    name = f"{unique('app')}.example.test"
    zone = clients.get("route53", REGION).create_hosted_zone(Name=name, CallerReference=uuid.uuid4().hex)
    return zone["HostedZone"]["Id"].removeprefix("/hostedzone/"), name


def cnames(clients: Clients, zone_id: str, name: str) -> list[dict[str, Any]]:
    sets = clients.get("route53", REGION).list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    return [r for r in sets if r["Name"] == name + "." and r["Type"] == "CNAME"]


def playbook(
    run_ansible: RunAnsible, inventory: Path, tmp_path: Path, endpoint: str, **variables: Any
) -> Callable[..., Run]:
    variables = {"dbshift_aws_endpoint_url": endpoint, "dr_cutover_poll_interval": 0.2, **variables}
    return playbook_runner(run_ansible, inventory, tmp_path, PLAYBOOK, variables)


def flat(run: Run) -> str:
    """stdout as one line: the YAML callback folds long messages and doubles single quotes."""
    return re.sub(r"\s+", " ", run.stdout).replace("''", "'")


# ------------------------------------------------------------------------------------------ the steps


def test_four_steps_change_the_record_once_with_ttl_60(run_ansible, inventory, tmp_path, aws_endpoint_url, clients):
    recovered = make_instance(clients, backup_days=7)
    zone_id, zone_name = make_zone(clients)
    record = f"db.{zone_name}"
    run = playbook(
        run_ansible,
        inventory,
        tmp_path,
        aws_endpoint_url,
        dr_test_recovered=recovered,
        dr_cutover_zone_id=zone_id,
        dr_cutover_record_name=record,
    )

    check = run("--check")
    assert check.rc == 0, check.output[-6000:]
    assert task_status(check, CUTOVER) == "changed" and f"would point {record}." in flat(check)
    assert cnames(clients, zone_id, record) == []  # check mode changed nothing

    real = run()
    assert real.rc == 0, real.output[-6000:]
    assert task_status(real, CUTOVER) == "changed" and "INSYNC" in flat(real)
    assert real.recap()["changed"] == 1
    [rec] = cnames(clients, zone_id, record)
    assert rec["TTL"] == 60 and rec["ResourceRecords"] == [{"Value": recovered["endpoint"]}]
    assert task_status(real, VERIFY) == "ok"
    assert "backups ok: " in flat(real) and "BackupRetentionPeriod is 7 days" in flat(real)
    assert f"monitoring ok: {recovered['resource_id']}: CloudWatch alarms {recovered['resource_id']}-cpu" in flat(real)
    assert "connectivity not_checked: not checked: nothing to connect to" in flat(real)

    for args in (("--check",), ()):
        again = run(*args)
        assert again.rc == 0, again.output[-6000:]
        assert again.recap()["changed"] == 0, again.stdout[-6000:]
        assert task_status(again, CUTOVER) == "ok" and "already points at" in flat(again)
    assert cnames(clients, zone_id, record) == [rec]


def test_verify_fails_on_missing_backups_until_waived(run_ansible, inventory, tmp_path, aws_endpoint_url, clients):
    recovered = make_instance(clients, backup_days=0)
    rid = recovered["resource_id"]
    for args in ((), ("--check",)):
        failed = playbook(run_ansible, inventory, tmp_path, aws_endpoint_url, dr_test_recovered=recovered)(*args)
        assert failed.rc != 0 and task_status(failed, VERIFY) == "fatal", failed.stdout[-4000:]
        text = flat(failed)
        assert f"backups failed: rds {rid} in {REGION} has no automated backups" in text
        assert f"--db-instance-identifier {rid} --backup-retention-period 7" in text  # the fix
        assert "dr_verify_waive: [backups]" in text
        assert "monitoring ok" in text  # every finding is reported, not just the failure

    waived = playbook(
        run_ansible, inventory, tmp_path, aws_endpoint_url, dr_test_recovered=recovered, dr_verify_waive=["backups"]
    )()
    assert waived.rc == 0, waived.output[-6000:]
    assert task_status(waived, VERIFY) == "ok" and "backups waived: " in flat(waived)
    assert waived.recap()["changed"] == 0


def test_a_zone_that_does_not_exist_or_a_name_outside_it_is_refused(
    run_ansible, inventory, tmp_path, aws_endpoint_url, clients
):
    recovered = make_instance(clients, backup_days=7)
    zone_id, zone_name = make_zone(clients)
    missing = playbook(
        run_ansible,
        inventory,
        tmp_path,
        aws_endpoint_url,
        dr_test_recovered=recovered,
        dr_cutover_zone_id="Z0000000000NOSUCHZONE",
        dr_cutover_record_name=f"db.{zone_name}",
    )()
    assert missing.rc != 0 and task_status(missing, CUTOVER) == "fatal"
    assert "hosted zone 'Z0000000000NOSUCHZONE' does not exist" in flat(missing)
    assert "set dr_cutover_zone_id to the Id of an existing zone" in flat(missing)

    outside = playbook(
        run_ansible,
        inventory,
        tmp_path,
        aws_endpoint_url,
        dr_test_recovered=recovered,
        dr_cutover_zone_id=zone_id,
        dr_cutover_record_name="db.elsewhere.example.org",
    )("--check")
    assert outside.rc != 0 and task_status(outside, CUTOVER) == "fatal"
    assert f"'db.elsewhere.example.org' is outside hosted zone {zone_name}." in flat(outside)
    assert VERIFY not in outside.stdout  # the play stopped at the cutover
    assert cnames(clients, zone_id, "db.elsewhere.example.org") == []


def test_without_a_zone_the_endpoint_is_printed_and_dsns_are_never_shown(
    run_ansible, inventory, tmp_path, aws_endpoint_url, postgres_dsn
):
    # A native dump restored into a server given by DSN: no AWS resource, a libpq target and source.
    recovered = {"service": "rds", "region": REGION, "resource_id": "", "endpoint": "127.0.0.1", "port": 5432}
    password = postgres_dsn.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    run = playbook(
        run_ansible,
        inventory,
        tmp_path,
        aws_endpoint_url,
        dr_test_recovered={**recovered, "engine": "postgres"},
        dr_verify_target_dsn=f"{postgres_dsn}/postgres",
        dr_verify_source_dsn=f"{postgres_dsn}/postgres",
        dr_verify_newest_record_query="SELECT timestamptz '2026-11-20 10:00:00+00'",
    )()
    assert run.rc == 0, run.output[-6000:]
    assert task_status(run, CUTOVER) == "ok"
    assert "point the application's configuration at 127.0.0.1:5432" in flat(run)
    assert "connectivity ok: connected to" in flat(run) and "SELECT 1 returned 1" in flat(run)
    assert "newest record: source 2026-11-20T10:00:00+00:00, target 2026-11-20T10:00:00+00:00" in flat(run)
    assert "backups not_checked: not checked: dr_recovered names no AWS resource" in flat(run)
    assert run.recap()["changed"] == 0
    assert password not in run.output and postgres_dsn not in run.output


def test_dr_rds_playbook_cuts_over_and_verifies_the_restored_instance(
    run_ansible, inventory, tmp_path, aws_endpoint_url, clients
):
    """playbooks/dr_rds.yml end to end: snapshot_copy, then the CNAME to the new instance, then its checks."""
    src, new = unique("src"), unique("dr")
    east = clients.rds("us-east-1")
    east.create_db_instance(
        DBInstanceIdentifier=src,
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        MasterUsername="dbadmin",
        MasterUserPassword="not-a-secret-1",
        AllocatedStorage=20,
        BackupRetentionPeriod=7,
        PubliclyAccessible=False,
    )
    east.create_db_snapshot(DBInstanceIdentifier=src, DBSnapshotIdentifier=f"{src}-manual")
    key = clients.kms(REGION).create_key(Description="dr cutover e2e")["KeyMetadata"]["Arn"]
    # The alarm exists before the instance, as the dr_target Terraform stack would make it.
    clients.get("cloudwatch", REGION).put_metric_alarm(
        AlarmName=f"{new}-cpu",
        Namespace="AWS/RDS",
        MetricName="CPUUtilization",
        Dimensions=[{"Name": "DBInstanceIdentifier", "Value": new}],
        Statistic="Average",
        Period=300,
        EvaluationPeriods=3,
        Threshold=80.0,
        ComparisonOperator="GreaterThanThreshold",
        AlarmActions=[f"arn:aws:sns:{REGION}:123456789012:dr-alerts"],
    )
    zone_id, zone_name = make_zone(clients)
    record = f"db.{zone_name}"
    variables = {
        "dbshift_aws_endpoint_url": aws_endpoint_url,
        "dr_rds_option": "snapshot_copy",
        "dr_rds_source_region": "us-east-1",
        "dr_rds_source_instance_id": src,
        "dr_rds_target_region": REGION,
        "dr_rds_target_instance_id": new,
        "dr_rds_kms_key_arn": key,
        "dr_rds_backup_retention_days": 7,
        "dr_rds_poll_interval": 0.2,
        "dr_rds_wait_timeout": 120,
        "dr_cutover_zone_id": zone_id,
        "dr_cutover_record_name": record,
        "dr_cutover_poll_interval": 0.2,
    }
    run = playbook_runner(run_ansible, inventory, tmp_path, "playbooks/dr_rds.yml", variables)

    check = run("--check")
    assert check.rc == 0, check.output[-6000:]
    assert task_status(check, CUTOVER) == "changed" and f"would point {record}. (CNAME, TTL 60) at rds {new}" in flat(
        check
    )
    assert f"backups not_checked (check mode): not checked: rds {new} in {REGION} does not exist yet" in flat(check)
    assert cnames(clients, zone_id, record) == []

    real = run()
    assert real.rc == 0, real.output[-6000:]
    inst = clients.rds(REGION).describe_db_instances(DBInstanceIdentifier=new)["DBInstances"][0]
    [rec] = cnames(clients, zone_id, record)
    assert rec["TTL"] == 60 and rec["ResourceRecords"] == [{"Value": inst["Endpoint"]["Address"]}]
    assert task_status(real, CUTOVER) == "changed" and task_status(real, VERIFY) == "ok"
    assert f"backups ok: {new} BackupRetentionPeriod is 7 days" in flat(real)
    assert f"monitoring ok: {new}: CloudWatch alarms {new}-cpu" in flat(real)

    for args in (("--check",), ()):
        again = run(*args)
        assert again.rc == 0, again.output[-6000:]
        assert again.recap()["changed"] == 0, again.stdout[-6000:]
    assert cnames(clients, zone_id, record) == [rec]


# ------------------------------------------------------------------------------------------ modules and roles
# (That the docs render and match ARGUMENT_SPEC, the roles' defaults and variables, playbooks/*.yml's syntax:
# tests/ansible/test_module_and_role_docs.py.)


@pytest.mark.parametrize("name", ["dr_cutover", "dr_verify"])
def test_module_spec_names_and_return_match_the_library(name: str) -> None:
    mod = load_module(name)
    returned = set(yaml.safe_load(mod.RETURN))
    if name == "dr_cutover":
        assert set(cutover.CutoverResult.__dataclass_fields__) <= returned
    else:
        assert list(verify.CHECKS) == mod.CHECK_NAMES
        report = verify.VerifyReport(cutover.Recovered("rds", REGION, "x"), [], verify.NewestRecord())
        assert set(report.to_dict()) <= returned
        assert set(verify.NewestRecord.__dataclass_fields__) <= set(
            yaml.safe_load(mod.RETURN)["newest_record"]["sample"]
        )
    assert mod.RECOVERED_SPEC["service"]["choices"] == list(cutover.SERVICES)


@pytest.mark.parametrize("role", ["dr_cutover", "dr_verify"])
def test_role_uses_every_option_and_takes_what_the_module_does(run_ansible: RunAnsible, role: str) -> None:
    path = REPO / "roles" / role
    options = yaml.safe_load((path / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    used = set(re.findall(rf"\b{role}_[a-z_]+\b", (path / "tasks" / "main.yml").read_text()))
    assert set(options) - {"dbshift_aws_endpoint_url", "dr_recovered"} <= used, sorted(set(options) - used)
    # dr_recovered's keys are the modules' `recovered` suboptions.
    mod = load_module(role)
    assert set(options["dr_recovered"]["options"]) == set(mod.RECOVERED_SPEC)
    # The test playbook is not under playbooks/ (whose syntax the generic test checks).
    syntax = run_ansible("ansible-playbook", "--syntax-check", "-i", "inventories/local/hosts.yml", PLAYBOOK)
    assert syntax.rc == 0, syntax.output
