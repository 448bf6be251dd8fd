"""playbooks/dr_redshift.yml (dr_redshift → dr_cutover → dr_verify) against the emulated AWS (moto server with
dbshift's patches; source us-east-1, target us-west-2): enable copy + pre-cutover snapshot + restore in four steps
(check, run, check, run), a wrong-Region key, the security-parity check, AZ relocation, and the module's
documentation and the role's argument spec."""

from __future__ import annotations

import re
import secrets
from functools import partial

import pytest
import yaml
from ansible_helpers import REPO, load_module
from e2e_helpers import dr_runbook, target_key, task_status, unique

from dbshift.dr import Clients, parity, redshift, redshift_runbook

SOURCE, TARGET = "us-east-1", "us-west-2"
TASK = "TASK [dr_redshift : Run the Redshift DR actions"


def make_cluster(clients: Clients, node_type: str = "ra3.xlplus") -> str:
    """A KMS-encrypted, private cluster in the source Region keeping automated snapshots 7 days; its id."""
    cluster_id = unique("rs")
    key = clients.kms(SOURCE).create_key(Description="redshift source")["KeyMetadata"]["Arn"]
    clients.get("redshift", SOURCE).create_cluster(
        ClusterIdentifier=cluster_id,
        NodeType=node_type,
        ClusterType="single-node",
        MasterUsername="admin",
        MasterUserPassword="A1" + secrets.token_hex(8),
        Encrypted=True,
        KmsKeyId=key,
        AutomatedSnapshotRetentionPeriod=7,
        PubliclyAccessible=False,
    )
    return cluster_id


def alarm_on(clients: Clients, cluster_id: str, region: str = TARGET) -> None:
    """The monitoring dr_verify looks for: a CloudWatch alarm with an action on the cluster."""
    clients.get("cloudwatch", region).put_metric_alarm(
        AlarmName=f"{cluster_id}-cpu",
        Namespace="AWS/Redshift",
        MetricName="CPUUtilization",
        Dimensions=[{"Name": "ClusterIdentifier", "Value": cluster_id}],
        Statistic="Average",
        Period=300,
        EvaluationPeriods=1,
        Threshold=90.0,
        ComparisonOperator="GreaterThanThreshold",
        AlarmActions=[f"arn:aws:sns:{region}:123456789012:dr-alerts"],
    )


playbook = partial(dr_runbook, "dr_redshift", source=SOURCE, target=TARGET, wait_timeout=60)


def copies_in_target(clients: Clients, cluster_id: str) -> list[str]:
    return [
        s["SnapshotIdentifier"] for s in redshift.copied_snapshots(clients.get("redshift", TARGET), SOURCE, cluster_id)
    ]


# ------------------------------------------------------------------------------------------ the runbook


def test_copy_snapshot_restore_four_steps(run_ansible, inventory, tmp_path, aws_endpoint_url, clients) -> None:
    cluster_id = make_cluster(clients)
    new, key, grant = f"{cluster_id}-dr", target_key(clients), f"{cluster_id}-grant"
    alarm_on(clients, new)
    run = playbook(
        run_ansible,
        inventory,
        tmp_path,
        aws_endpoint_url,
        dr_redshift_source_cluster_id=cluster_id,
        dr_redshift_target_cluster_id=new,
        dr_redshift_snapshot_copy_grant_name=grant,
        dr_redshift_kms_key_arn=key,
        dr_redshift_retention_days=5,
        dr_redshift_manual_retention_days=30,
        dr_redshift_node_type="ra3.xlplus",
        dr_redshift_automated_snapshot_retention_days=7,
    )
    west = clients.get("redshift", TARGET)

    # 1. Check mode: would change; no grant, no copy settings, no snapshot, no cluster.
    check = run("--check")
    assert check.rc == 0, check.output[-6000:]
    assert task_status(check, TASK) == "changed" and "would_restore" in check.stdout
    assert redshift.describe_grant(west, grant) is None and redshift.describe_cluster(west, new) is None
    assert (
        redshift.describe_cluster(clients.get("redshift", SOURCE), cluster_id).get("ClusterSnapshotCopyStatus") is None
    )
    assert copies_in_target(clients, cluster_id) == []

    # 2. Real run: copy on with the grant, the snapshot copied, the cluster in us-west-2 with the target key, private.
    real = run()
    assert real.rc == 0, real.output[-6000:]
    assert task_status(real, TASK) == "changed"
    status = redshift.describe_cluster(clients.get("redshift", SOURCE), cluster_id)["ClusterSnapshotCopyStatus"]
    assert status == {
        "DestinationRegion": TARGET,
        "RetentionPeriod": 5,
        "ManualSnapshotRetentionPeriod": 30,
        "SnapshotCopyGrantName": grant,
    }
    assert copies_in_target(clients, cluster_id) == [redshift.default_snapshot_id(cluster_id)]
    cluster = west.describe_clusters(ClusterIdentifier=new)["Clusters"][0]
    assert cluster["ClusterStatus"] == "available" and cluster["AvailabilityZone"].startswith(TARGET)
    assert cluster["Encrypted"] is True and cluster["KmsKeyId"] == key
    assert cluster["PubliclyAccessible"] is False and cluster["AutomatedSnapshotRetentionPeriod"] == 7
    assert f"{new} in {TARGET} is available" in real.stdout and key in real.stdout
    assert cluster["Endpoint"]["Address"] in real.stdout  # dr_cutover prints where the application should point

    # 3 and 4. Check mode again and a real run again: nothing changes, no second snapshot, copy or cluster.
    for args in (("--check",), ()):
        again = run(*args)
        assert again.rc == 0, again.output[-6000:]
        assert again.recap()["changed"] == 0, again.stdout[-6000:]
    assert copies_in_target(clients, cluster_id) == [redshift.default_snapshot_id(cluster_id)]
    assert [c["ClusterIdentifier"] for c in west.describe_clusters()["Clusters"]].count(new) == 1


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_key_of_another_region_is_refused_before_anything_is_created(
    run_ansible, inventory, tmp_path, aws_endpoint_url, clients, check_mode
) -> None:
    cluster_id = make_cluster(clients)
    wrong, grant = target_key(clients, SOURCE), f"{cluster_id}-grant"
    run = playbook(
        run_ansible,
        inventory,
        tmp_path,
        aws_endpoint_url,
        dr_redshift_source_cluster_id=cluster_id,
        dr_redshift_target_cluster_id=f"{cluster_id}-dr",
        dr_redshift_snapshot_copy_grant_name=grant,
        dr_redshift_kms_key_arn=wrong,
    )
    failed = run(*(["--check"] if check_mode else []))
    assert failed.rc != 0 and task_status(failed, TASK) == "fatal"
    assert wrong in failed.stdout and f"is a key in {SOURCE}" in failed.stdout
    assert f"Create (or replicate a multi-Region key) in {TARGET}" in failed.stdout  # the fix
    assert redshift.describe_grant(clients.get("redshift", TARGET), grant) is None
    assert (
        redshift.describe_cluster(clients.get("redshift", SOURCE), cluster_id).get("ClusterSnapshotCopyStatus") is None
    )
    assert redshift.describe_snapshot(clients.get("redshift", SOURCE), redshift.default_snapshot_id(cluster_id)) is None


def test_parity_fails_a_public_target_unless_waived(run_ansible, inventory, tmp_path, aws_endpoint_url, clients):
    cluster_id = make_cluster(clients)
    new = f"{cluster_id}-dr"
    alarm_on(clients, new)
    variables = {
        "dr_redshift_source_cluster_id": cluster_id,
        "dr_redshift_target_cluster_id": new,
        "dr_redshift_snapshot_copy_grant_name": f"{cluster_id}-grant",
        "dr_redshift_kms_key_arn": target_key(clients),
        "dr_redshift_automated_snapshot_retention_days": 7,
    }
    made = playbook(run_ansible, inventory, tmp_path, aws_endpoint_url, **variables)()
    assert made.rc == 0, made.output[-6000:]
    # Someone opened the recovered cluster to the internet: the runbook must not call that a success.
    clients.get("redshift", TARGET).modify_cluster(ClusterIdentifier=new, PubliclyAccessible=True)

    for args in ((), ("--check",)):
        refused = playbook(run_ansible, inventory, tmp_path, aws_endpoint_url, **variables)(*args)
        assert refused.rc != 0 and task_status(refused, TASK) == "fatal", refused.stdout[-4000:]
        assert "security parity" in refused.stdout
        assert f"publicly_accessible: {new} PubliclyAccessible is True" in refused.stdout
        assert "parity_waive: [publicly_accessible]" in refused.stdout

    waived = playbook(
        run_ansible,
        inventory,
        tmp_path,
        aws_endpoint_url,
        dr_redshift_parity_waive=["publicly_accessible"],
        **variables,
    )()
    assert waived.rc == 0, waived.output[-6000:]
    assert waived.recap()["changed"] == 0
    assert "parity waived: publicly_accessible" in waived.stdout


def test_relocate_within_the_region(run_ansible, inventory, tmp_path, aws_endpoint_url, clients) -> None:
    cluster_id = make_cluster(clients)
    alarm_on(clients, cluster_id, SOURCE)
    zone = f"{SOURCE}c"
    run = playbook(
        run_ansible,
        inventory,
        tmp_path,
        aws_endpoint_url,
        dr_redshift_actions=["relocate"],
        dr_redshift_source_cluster_id=cluster_id,
        dr_redshift_relocate_availability_zone=zone,
    )
    check = run("--check")
    assert check.rc == 0 and task_status(check, TASK) == "changed", check.output[-6000:]
    assert redshift.describe_cluster(clients.get("redshift", SOURCE), cluster_id)["AvailabilityZone"] != zone
    real = run()
    assert real.rc == 0 and task_status(real, TASK) == "changed", real.output[-6000:]
    assert redshift.describe_cluster(clients.get("redshift", SOURCE), cluster_id)["AvailabilityZone"] == zone
    assert f"zone {zone}" in real.stdout
    again = run()
    assert again.rc == 0 and again.recap()["changed"] == 0, again.stdout[-6000:]


# ------------------------------------------------------------------------------------------ module and role
# (That the doc renders and matches ARGUMENT_SPEC, the role's defaults and variables, the playbook's syntax:
# tests/ansible/test_module_and_role_docs.py.)


def test_module_spec_names_and_return_match_the_library() -> None:
    mod = load_module("dr_redshift")
    assert set(mod.PARITY_NAMES) <= set(parity.CHECKS)
    assert set(mod.ACTIONS) == set(redshift_runbook.ACTIONS)
    returned = yaml.safe_load(mod.RETURN)
    assert set(redshift_runbook.EMPTY_RESULT) <= set(returned)
    assert set(redshift.RedshiftResult.__dataclass_fields__) - {"action"} <= set(returned) | {"changed"}


def test_role_uses_every_option_and_hands_over_to_cutover_and_verify() -> None:
    role = REPO / "roles" / "dr_redshift"
    options = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    tasks = (role / "tasks" / "main.yml").read_text()
    used = set(re.findall(r"\bdr_redshift_[a-z_]+\b", tasks))
    assert set(options) - {"dbshift_aws_endpoint_url"} <= used, sorted(set(options) - used)
    # The contract with dr_cutover and dr_verify: the role ends by setting dr_recovered.
    assert yaml.safe_load(tasks)[-1]["ansible.builtin.set_fact"] == {
        "dr_recovered": "{{ dr_redshift_result.recovered }}"
    }
    play = yaml.safe_load((REPO / "playbooks" / "dr_redshift.yml").read_text())[0]
    assert [r["role"] for r in play["roles"]] == ["dr_redshift", "dr_cutover", "dr_verify"]
