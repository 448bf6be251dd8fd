"""moto patch: Glue connections can be updated and deleted, and GetConnection returns ConnectionType."""

from __future__ import annotations

import uuid

import botocore.exceptions
import pytest

from dbshift.aws.clients import AwsConfig, client


def test_glue_connection_round_trip(aws_endpoint_url: str) -> None:
    glue = client("glue", AwsConfig(region="us-east-1", endpoint_url=aws_endpoint_url))
    name = f"src-{uuid.uuid4().hex[:8]}"
    props = {"JDBC_CONNECTION_URL": "jdbc:sqlserver://10.0.0.5:1433;databaseName=NetPerf01", "SECRET_ID": "s"}
    glue.create_connection(ConnectionInput={"Name": name, "ConnectionType": "JDBC", "ConnectionProperties": props})
    got = glue.get_connection(Name=name)["Connection"]
    assert got["ConnectionType"] == "JDBC"

    new = {**props, "JDBC_CONNECTION_URL": "jdbc:sqlserver://10.0.0.6:1433;databaseName=NetPerf02"}
    glue.update_connection(
        Name=name, ConnectionInput={"Name": name, "ConnectionType": "JDBC", "ConnectionProperties": new}
    )
    assert glue.get_connection(Name=name)["Connection"]["ConnectionProperties"] == new

    glue.delete_connection(ConnectionName=name)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        glue.get_connection(Name=name)
    assert e.value.response["Error"]["Code"] == "EntityNotFoundException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        glue.delete_connection(ConnectionName=name)
    assert e.value.response["Error"]["Code"] == "EntityNotFoundException"
