"""Both AnswersInFlight adapters pass one contract: in this process (the local server), and a lease
on the connection's DynamoDB item (Lambda, where each frame is answered by its own invocation)."""

import boto3
import pytest

from ragchat.adapters.aws.dynamodb_connections import DynamoDbAnswersInFlight, DynamoDbConnectionStore
from ragchat.chat.in_flight import InProcessAnswers
from tests.contract.answers_in_flight_contract import AnswersInFlightContract
from tests.support.aws import FakeClock
from tests.support.template import create_table


class TestInProcessAnswers(AnswersInFlightContract):
    @pytest.fixture
    def answers(self):
        return InProcessAnswers()


@pytest.fixture
def connections_table(aws):
    client = boto3.client("dynamodb", region_name="eu-west-1")
    return client, create_table(client, "ConnectionsTable", "connections")


class TestDynamoDbAnswersInFlight(AnswersInFlightContract):
    @pytest.fixture
    def answers(self, connections_table):
        client, table = connections_table
        self.connections = DynamoDbConnectionStore(table, client=client)
        return DynamoDbAnswersInFlight(table, client=client)

    def open(self, connection_id: str) -> None:
        self.connections.put(connection_id, "user-ada", 1_000.0)


def test_dynamodb_answer_lease_lapses_when_its_invocation_died(connections_table):
    client, table = connections_table
    DynamoDbConnectionStore(table, client=client).put("c1", "user-ada", 1_000.0)
    clock = FakeClock()
    answers = DynamoDbAnswersInFlight(table, client=client, lease_s=300, clock=clock)
    assert answers.claim("c1") is True
    clock.advance(299)
    assert answers.claim("c1") is False
    clock.advance(2)
    assert answers.claim("c1") is True  # the first answer's invocation timed out long ago


def test_dynamodb_a_gone_connection_cannot_claim_an_answer(connections_table):
    client, table = connections_table
    connections = DynamoDbConnectionStore(table, client=client)
    answers = DynamoDbAnswersInFlight(table, client=client)
    assert answers.claim("never-connected") is False
    connections.put("c1", "user-ada", 1_000.0)
    assert answers.claim("c1") is True
    connections.delete("c1")
    answers.release("c1")  # after $disconnect: nothing to release, no error
    assert client.scan(TableName=table)["Items"] == []
