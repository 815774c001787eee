"""Both Quotas adapters pass one contract: SQLite locally, DynamoDB (under moto, the table made
from template.yaml) on AWS."""

import boto3
import pytest

from ragchat.adapters.aws.dynamodb_quotas import DynamoDbQuotas
from ragchat.adapters.local.quotas import SqliteQuotas
from tests.contract.quotas_contract import QuotasContract, QuotasFloodContract
from tests.support.aws import AtomicRequests
from tests.support.template import create_table


class TestSqliteQuotas(QuotasContract, QuotasFloodContract):
    @pytest.fixture
    def quotas(self, tmp_path):
        return SqliteQuotas(tmp_path / "quotas.db")


class TestDynamoDbQuotas(QuotasContract, QuotasFloodContract):
    @pytest.fixture
    def quotas(self, aws):
        client = boto3.client("dynamodb", region_name="eu-west-1")
        return DynamoDbQuotas(create_table(client, "QuotasTable", "quotas"), client=AtomicRequests(client))
