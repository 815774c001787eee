"""The DynamoDB session store passes the same contract as the local one, under moto."""

import boto3
import pytest

from ragchat.adapters.aws.dynamodb_sessions import DynamoDbSessionStore
from tests.contract.session_store_contract import SessionStoreContract, message

TABLE = "ragchat-sessions-test"


@pytest.fixture
def dynamodb(aws):
    client = boto3.client("dynamodb", region_name="eu-west-1")
    client.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    )
    return client


class TestDynamoDbSessionStore(SessionStoreContract):
    @pytest.fixture
    def sessions(self, dynamodb):
        return DynamoDbSessionStore(TABLE, client=dynamodb)


def test_dynamodb_sessions_store_one_item_per_message_with_ttl(dynamodb):
    store = DynamoDbSessionStore(TABLE, client=dynamodb, ttl_days=1)
    session = store.create_session("alice", "Long")
    for n in range(30):  # a long conversation: many small items, never one big one
        store.append_message("alice", message(session.session_id, n))
    items = dynamodb.scan(TableName=TABLE)["Items"]
    assert len(items) == 31
    assert all(int(i["expires_at"]["N"]) > 0 for i in items)
    assert len(store.list_messages("alice", session.session_id)) == 30
