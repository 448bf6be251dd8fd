"""What the DR modules share in their argument specs: the `recovered` result of dr_rds / dr_aurora / dr_redshift /
dr_elasticache that dr_cutover and dr_verify take (documented once in plugins/doc_fragments/dr_recovered.py), and
the AWS options those four runbook modules take (plugins/doc_fragments/dr_runbook.py)."""

from __future__ import annotations

RECOVERED_SPEC = {
    "service": {"type": "str", "required": True, "choices": ["rds", "aurora", "redshift", "elasticache"]},
    "region": {"type": "str", "required": True},
    "resource_id": {"type": "str", "default": ""},
    "endpoint": {"type": "str", "default": ""},
    "port": {"type": "int", "default": 0},
    "engine": {"type": "str", "default": ""},
}

# The runbook modules' AWS options: the source Region's API timeout, each resource's wait and poll, the endpoint.
RUNBOOK_AWS_SPEC = {
    "api_timeout": {"type": "float", "default": 5.0},
    "wait_timeout": {"type": "int", "default": 7200},
    "poll_interval": {"type": "float", "default": 30.0},
    "endpoint_url": {"type": "str"},
}
