"""playbooks/dr_aurora.yml (dr_aurora → dr_cutover → dr_verify) against the emulated AWS (moto server; source
us-east-1, target us-west-2): snapshot_restore in four steps (check, run, check, run), global failover chosen by
auto with the Route 53 cutover to the promoted cluster, a wrong-Region key, and the security-parity check. Plus the
module's documentation and the role's spec. Stubbed cases (states moto cannot show) are tested at library level."""

from __future__ import annotations

import re
import uuid
from functools import partial
from typing import Any

import pytest
import yaml
from ansible_helpers import REPO, load_module
from e2e_helpers import dr_runbook, target_key, task_status, unique

from dbshift.dr import Clients, aurora, aurora_runbook, parity

SOURCE, TARGET = "us-east-1", "us-west-2"
TASK = "TASK [dr_aurora : Recover"


def make_cluster(rds: Any, cluster_id: str, instances: int = 1, **extra: Any) -> dict[str, Any]:
    args = {
        "DBClusterIdentifier": cluster_id,
        "Engine": "aurora-postgresql",
        "BackupRetentionPeriod": 7,
        "DeletionProtection": True,
        **extra,
    }
    if "GlobalClusterIdentifier" not in args:
        args.update(MasterUsername="dbadmin", MasterUserPassword="not-a-secret-1")
    cluster = rds.create_db_cluster(**args)["DBCluster"]
    for n in range(1, instances + 1):
        rds.create_db_instance(
            DBInstanceIdentifier=f"{cluster_id}-{n}",
            DBClusterIdentifier=cluster_id,
            Engine="aurora-postgresql",
            DBInstanceClass="db.r6g.large",
            PubliclyAccessible=False,
        )
    return cluster


# No alarm or event subscription in the emulated account: the verify step reports it, accepted here.
playbook = partial(dr_runbook, "dr_aurora", source=SOURCE, target=TARGET, verify_waive=["monitoring"])


def copies_in_target(clients: Clients, source_cluster: str) -> list[str]:
    snaps = clients.rds(TARGET).describe_db_cluster_snapshots(DBClusterIdentifier=source_cluster)
    return [s["DBClusterSnapshotIdentifier"] for s in snaps["DBClusterSnapshots"]]


# ------------------------------------------------------------------------------------------ the runbook


def test_snapshot_restore_four_steps(run_ansible, inventory, tmp_path, aws_endpoint_url, clients) -> None:
    src, new = unique("src"), unique("dr")
    make_cluster(clients.rds(SOURCE), src)  # unencrypted
    key = target_key(clients)
    run = playbook(
        run_ansible,
        inventory,
        tmp_path,
        aws_endpoint_url,
        dr_aurora_option="snapshot_restore",
        dr_aurora_source_cluster_id=src,
        dr_aurora_target_cluster_id=new,
        dr_aurora_kms_key_arn=key,
        dr_aurora_instance_class="db.r6g.xlarge",
        dr_aurora_reader_count=2,
        dr_aurora_backup_retention_days=7,
    )
    west = clients.rds(TARGET)

    # 1. Check mode: would create; nothing copied or restored.
    check = run("--check")
    assert check.rc == 0, check.output[-6000:]
    assert task_status(check, TASK) == "changed" and "would_create" in check.stdout
    assert aurora.describe_cluster(west, new) is None and copies_in_target(clients, src) == []

    # 2. Real run: the cluster is in us-west-2, encrypted with the target Region's key, with its three instances.
    real = run()
    assert real.rc == 0, real.output[-6000:]
    assert task_status(real, TASK) == "changed"
    cluster = west.describe_db_clusters(DBClusterIdentifier=new)["DBClusters"][0]
    assert cluster["DBClusterArn"].split(":")[3] == TARGET and cluster["Status"] == "available"
    assert cluster["StorageEncrypted"] is True and cluster["KmsKeyId"] == key
    assert sorted(m["DBInstanceIdentifier"] for m in cluster["DBClusterMembers"]) == [f"{new}-{n}" for n in (1, 2, 3)]
    for member in cluster["DBClusterMembers"]:
        inst = west.describe_db_instances(DBInstanceIdentifier=member["DBInstanceIdentifier"])["DBInstances"][0]
        assert inst["DBInstanceClass"] == "db.r6g.xlarge" and inst["PubliclyAccessible"] is False
    assert copies_in_target(clients, src) == [aurora.copy_id_for(new)]
    assert f"snapshot_restore: {new} in {TARGET} is available" in real.stdout and key in real.stdout
    # dr_recovered reached the shared steps: the cutover prints the cluster's writer endpoint, verify checked backups.
    assert cluster["Endpoint"] in real.stdout.split("TASK [dr_cutover", 1)[1]
    assert "backups ok" in real.stdout.split("TASK [dr_verify", 1)[1]

    # 3 and 4. Check mode again and a real run again: nothing changes, no second copy, cluster or instance.
    for args in (("--check",), ()):
        again = run(*args)
        assert again.rc == 0, again.output[-6000:]
        assert again.recap()["changed"] == 0, again.stdout[-6000:]
    assert copies_in_target(clients, src) == [aurora.copy_id_for(new)]
    cluster = west.describe_db_clusters(DBClusterIdentifier=new)["DBClusters"][0]
    assert len(cluster["DBClusterMembers"]) == 3


@pytest.mark.parametrize("option", ["auto", "global_switchover"])
def test_global_database_failover_or_switchover_and_dns_cutover(
    option, run_ansible, inventory, tmp_path, aws_endpoint_url, clients
) -> None:
    """auto fails over (unplanned, AllowDataLoss); a switchover (planned) runs only when asked for by name."""
    key = target_key(clients)
    gid, primary, secondary = unique("glob"), unique("prim"), unique("sec")
    arn = make_cluster(clients.rds(SOURCE), primary)["DBClusterArn"]
    clients.rds(SOURCE).create_global_cluster(GlobalClusterIdentifier=gid, SourceDBClusterIdentifier=arn)
    made = make_cluster(
        clients.rds(TARGET), secondary, GlobalClusterIdentifier=gid, StorageEncrypted=True, KmsKeyId=key
    )
    route53 = clients.get("route53", SOURCE)
    zone = route53.create_hosted_zone(Name="example.internal", CallerReference=unique("ref"))["HostedZone"]["Id"]
    record = f"db-{uuid.uuid4().hex[:6]}.example.internal"
    run = playbook(
        run_ansible,
        inventory,
        tmp_path,
        aws_endpoint_url,
        dr_aurora_option=option,
        dr_aurora_global_cluster_id=gid,
        dr_aurora_backup_retention_days=7,
        dr_cutover_zone_id=zone.split("/")[-1],
        dr_cutover_record_name=record,
    )

    check = run("--check")
    assert check.rc == 0, check.output[-6000:]
    verb = "switchover" if option == "global_switchover" else "failover"
    assert task_status(check, TASK) == "changed" and f"would_{verb}" in check.stdout
    assert aurora.describe_global(clients.rds(TARGET), gid)["GlobalClusterMembers"][0]["IsWriter"] is True  # primary

    real = run()
    assert real.rc == 0, real.output[-6000:]
    assert task_status(real, TASK) == "changed"
    if option == "auto":
        assert "dr_option auto chose global_failover" in real.stdout
        assert f"global_failover chosen: global cluster {gid} has {secondary} in {TARGET}" in real.stdout
    members = aurora.describe_global(clients.rds(TARGET), gid)["GlobalClusterMembers"]
    assert [m["DBClusterArn"] for m in members if m["IsWriter"]] == [made["DBClusterArn"]] and len(members) == 2
    sets = route53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    cname = [s for s in sets if s["Name"].rstrip(".") == record]
    assert cname and cname[0]["Type"] == "CNAME" and cname[0]["TTL"] == 60
    assert cname[0]["ResourceRecords"] == [{"Value": made["Endpoint"]}]

    for args in (("--check",), ()):
        again = run(*args)
        assert again.rc == 0, again.output[-6000:]
        assert again.recap()["changed"] == 0, again.stdout[-6000:]


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_key_of_another_region_is_refused_before_anything_is_created(
    run_ansible, inventory, tmp_path, aws_endpoint_url, clients, check_mode
) -> None:
    src, new = unique("src"), unique("dr")
    make_cluster(clients.rds(SOURCE), src)
    wrong = target_key(clients, SOURCE)
    run = playbook(
        run_ansible,
        inventory,
        tmp_path,
        aws_endpoint_url,
        dr_aurora_option="snapshot_restore",
        dr_aurora_source_cluster_id=src,
        dr_aurora_target_cluster_id=new,
        dr_aurora_kms_key_arn=wrong,
        dr_aurora_instance_class="db.r6g.large",
    )
    failed = run(*(["--check"] if check_mode else []))
    assert failed.rc != 0 and task_status(failed, TASK) == "fatal"
    assert wrong in failed.stdout and f"is a key in {SOURCE}" in failed.stdout
    assert f"Create (or replicate a multi-Region key) in {TARGET}" in failed.stdout  # the fix
    assert aurora.describe_cluster(clients.rds(TARGET), new) is None
    assert aurora.describe_cluster_snapshot(clients.rds(TARGET), aurora.copy_id_for(new)) is None


def test_parity_fails_a_public_instance_unless_waived(run_ansible, inventory, tmp_path, aws_endpoint_url, clients):
    src, new = unique("src"), unique("dr")
    make_cluster(clients.rds(SOURCE), src)
    variables = {
        "dr_aurora_option": "snapshot_restore",
        "dr_aurora_source_cluster_id": src,
        "dr_aurora_target_cluster_id": new,
        "dr_aurora_kms_key_arn": target_key(clients),
        "dr_aurora_instance_class": "db.r6g.large",
        "dr_aurora_reader_count": 0,
        "dr_aurora_backup_retention_days": 7,
    }
    made = playbook(run_ansible, inventory, tmp_path, aws_endpoint_url, **variables)()
    assert made.rc == 0, made.output[-6000:]
    # Someone opened the writer to the internet: the runbook must not call that a success.
    clients.rds(TARGET).modify_db_instance(
        DBInstanceIdentifier=f"{new}-1", PubliclyAccessible=True, ApplyImmediately=True
    )
    for args in ((), ("--check",)):
        refused = playbook(run_ansible, inventory, tmp_path, aws_endpoint_url, **variables)(*args)
        assert refused.rc != 0 and task_status(refused, TASK) == "fatal", refused.stdout[-4000:]
        assert "security parity" in refused.stdout
        assert f"publicly_accessible: {new}-1 PubliclyAccessible is True" in refused.stdout
        assert "parity_waive: [publicly_accessible]" in refused.stdout

    waived = playbook(
        run_ansible, inventory, tmp_path, aws_endpoint_url, dr_aurora_parity_waive=["publicly_accessible"], **variables
    )()
    assert waived.rc == 0, waived.output[-6000:]
    assert waived.recap()["changed"] == 0
    assert "parity waived: publicly_accessible" in waived.stdout


# ------------------------------------------------------------------------------------------ module and role
# (That the doc renders and matches ARGUMENT_SPEC, the role's defaults and variables, the playbook's syntax:
# tests/ansible/test_module_and_role_docs.py.)


def test_module_spec_names_and_return_match_the_library() -> None:
    mod = load_module("dr_aurora")
    assert list(aurora_runbook.OPTIONS) == mod.OPTIONS
    # Every parity name the module offers is one parity knows and one aurora_shortfalls can report.
    assert set(mod.PARITY_NAMES) <= set(parity.CHECKS)
    worst = aurora.aurora_shortfalls(
        {"MultiAZ": True, "DeletionProtection": True, "BackupRetentionPeriod": 7}, {}, [{"PubliclyAccessible": True}]
    )
    assert {s.name for s in worst} == set(mod.PARITY_NAMES)
    returned = yaml.safe_load(mod.RETURN)
    assert set(aurora_runbook.EMPTY_RESULT) <= set(returned)
    assert set(aurora.AuroraResult.__dataclass_fields__) <= set(returned)


def test_role_uses_every_option_and_hands_over_to_cutover_and_verify() -> None:
    role = REPO / "roles" / "dr_aurora"
    options = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    tasks = (role / "tasks" / "main.yml").read_text()
    used = set(re.findall(r"\bdr_aurora_[a-z_]+\b", tasks))
    assert set(options) - {"dbshift_aws_endpoint_url"} <= used, sorted(set(options) - used)
    # The contract with dr_cutover and dr_verify: the last task sets dr_recovered with these keys.
    last = yaml.safe_load(tasks)[-1]
    assert set(last["ansible.builtin.set_fact"]["dr_recovered"]) == {
        "service",
        "region",
        "resource_id",
        "endpoint",
        "port",
        "engine",
    }
    plays = yaml.safe_load((REPO / "playbooks" / "dr_aurora.yml").read_text())
    assert [r["role"] for r in plays[0]["roles"]] == ["dr_aurora", "dr_cutover", "dr_verify"]
