"""What the DR modules share in their argument specs (dr_cutover, dr_verify): the `recovered` result
of dr_rds / dr_aurora / dr_redshift / dr_elasticache, documented once in plugins/doc_fragments/dr_recovered.py."""

from __future__ import annotations

RECOVERED_SPEC = {
    "service": {"type": "str", "required": True, "choices": ["rds", "aurora", "redshift", "elasticache"]},
    "region": {"type": "str", "required": True},
    "resource_id": {"type": "str", "default": ""},
    "endpoint": {"type": "str", "default": ""},
    "port": {"type": "int", "default": 0},
    "engine": {"type": "str", "default": ""},
}
