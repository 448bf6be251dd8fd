#!/usr/bin/python
"""Ansible module data_migration_parameters: a thin adapter over dbshift.datamove.launch.put_parameter."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: data_migration_parameters
short_description: Write the data migration's two SSM parameters (migration settings and server mappings)
description:
  - Writes the two Parameter Store entries the data migration reads (the shape of the procedure's
    parameters) as JSON. C(dbshift migrate), the ECS orchestrator task and the Glue jobs read them.
  - The migration parameter holds O(migration) (job_mode, log_level, input_partition,
    partition_col_date, C(source_filter_<source table>)); the server mappings parameter holds
    O(server_mappings) (server_mappings, databases, categories).
  - A parameter is written only when its JSON differs from the stored one (key order and spacing do not
    count), or its type or KMS key differs; otherwise nothing is written and C(changed=false).
  - The documents are not validated here; M(data_migration) validates them before any data moves.
  - The work is done by the dbshift library (C(dbshift.datamove.launch.put_parameter)).
author:
  - dbshift contributors
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Reads both parameters and reports C(changed=true) when either would be written; writes nothing.
  diff_mode:
    support: full
    details:
      - Shows each changed document as JSON; the values of a SecureString parameter are masked (keys shown).
  platform:
    platforms: posix
options:
  name:
    description:
      - Name of the migration, for example C(netperf). The parameters are C(/dbshift/<name>/migration) and
        C(/dbshift/<name>/server-mappings), as C(terraform/modules/migration_config) names them.
      - Required unless both O(migration_parameter) and O(server_mappings_parameter) are given.
    type: str
  migration_parameter:
    description:
      - Name of the migration parameter, instead of the one derived from O(name).
    type: str
  server_mappings_parameter:
    description:
      - Name of the server mappings parameter, instead of the one derived from O(name).
    type: str
  migration:
    description:
      - "The migration parameter's document: C(job_mode) (fresh or resume), C(log_level), C(input_partition)
        (C(YYYY-MM-DD) or C(YYYY-MM-DD..YYYY-MM-DD)), C(partition_col_date) and C(source_filter_<source table>)
        (a T-SQL boolean expression) per source table."
    type: dict
    required: true
  server_mappings:
    description:
      - "The server mappings parameter's document: C(server_mappings) (server name to C(host:port)),
        C(databases) (a list, or server name to a list) and C(categories) (target table to its source tables)."
    type: dict
    required: true
  parameter_type:
    description:
      - Type of both parameters. V(SecureString) is encrypted with O(kms_key_id) (or the account's
        C(aws/ssm) key when omitted).
    type: str
    default: SecureString
    choices: [SecureString, String]
  kms_key_id:
    description:
      - KMS key (ID, ARN or alias) that encrypts a V(SecureString) parameter.
    type: str
  tier:
    description:
      - Parameter tier; V(Standard) holds up to 4 KB.
    type: str
    default: Standard
    choices: [Standard, Advanced, Intelligent-Tiering]
  endpoint_url:
    description:
      - AWS endpoint URL. Omit it for real AWS; the emulated estate sets it to its AWS emulator.
        When omitted, E(AWS_ENDPOINT_URL) is honoured.
    type: str
  region:
    description:
      - AWS region of the parameters. When omitted, E(AWS_REGION) or E(AWS_DEFAULT_REGION).
    type: str
notes:
  - Runs on the controller with the Python environment that has dbshift installed.
seealso:
  - module: data_migration
  - name: AWS Systems Manager Parameter Store
    description: PutParameter, String and SecureString parameters.
    link: https://docs.aws.amazon.com/systems-manager/latest/userguide/systems-manager-parameter-store.html
requirements:
  - python >= 3.11 on the controller, with the dbshift package installed
"""

EXAMPLES = r"""
- name: Write the netperf migration's parameters
  data_migration_parameters:
    name: netperf
    migration:
      job_mode: resume
      log_level: INFO
      input_partition: 2026-11-01..2026-11-02
      partition_col_date: measured_at
      source_filter_cell_performance_data: cell_id >= 0
    server_mappings:
      server_mappings:
        src1: sql1.corp.example.com:1433
        src2: sql2.corp.example.com:1433
      databases: [NetPerf01, NetPerf02]
      categories:
        cell_perf_stats: [cell_performance_data, ue_statistics_data]
    kms_key_id: alias/dbshift-netperf
    region: us-east-1
"""

RETURN = r"""
migration_parameter:
  description: Name of the migration parameter.
  returned: always
  type: str
  sample: /dbshift/netperf/migration
server_mappings_parameter:
  description: Name of the server mappings parameter.
  returned: always
  type: str
  sample: /dbshift/netperf/server-mappings
parameters:
  description: Per parameter, its name, type and whether it was (or in check mode would be) created or changed.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "/dbshift/netperf/migration", "type": "SecureString", "changed": true, "created": false}]
"""

from ansible.module_utils.dbshift_import import DbshiftImport, run_or_fail  # noqa: E402

ARGUMENT_SPEC = {
    "name": {"type": "str"},
    "migration_parameter": {"type": "str"},
    "server_mappings_parameter": {"type": "str"},
    "migration": {"type": "dict", "required": True},
    "server_mappings": {"type": "dict", "required": True},
    "parameter_type": {"type": "str", "default": "SecureString", "choices": ["SecureString", "String"]},
    "kms_key_id": {"type": "str"},
    "tier": {"type": "str", "default": "Standard", "choices": ["Standard", "Advanced", "Intelligent-Tiering"]},
    "endpoint_url": {"type": "str"},
    "region": {"type": "str"},
}

DBSHIFT = DbshiftImport()
with DBSHIFT:
    from dbshift.aws import AwsConfig
    from dbshift.datamove.launch import parameter_names, put_parameters


def main() -> None:
    module = DBSHIFT.module(ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    if p["name"]:
        default_migration, default_mappings = parameter_names(p["name"])
    elif p["migration_parameter"] and p["server_mappings_parameter"]:
        default_migration, default_mappings = p["migration_parameter"], p["server_mappings_parameter"]
    else:
        module.fail_json(msg="give name, or both migration_parameter and server_mappings_parameter")
    migration_name = p["migration_parameter"] or default_migration
    mappings_name = p["server_mappings_parameter"] or default_mappings
    aws = AwsConfig(region=p["region"], endpoint_url=p["endpoint_url"])
    changes = run_or_fail(
        module,
        lambda: put_parameters(
            aws,
            {migration_name: p["migration"], mappings_name: p["server_mappings"]},
            parameter_type=p["parameter_type"],
            kms_key_id=p["kms_key_id"],
            tier=p["tier"],
            check_mode=module.check_mode,
        ),
        "data migration parameters",
    )
    result = {
        "changed": any(c.changed for c in changes),
        "migration_parameter": migration_name,
        "server_mappings_parameter": mappings_name,
        "parameters": [
            {"name": c.name, "type": c.parameter_type, "changed": c.changed, "created": c.created} for c in changes
        ],
    }
    if module._diff and result["changed"]:
        result["diff"] = [c.diff() for c in changes if c.changed]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
