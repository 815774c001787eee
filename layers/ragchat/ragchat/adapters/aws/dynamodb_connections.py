"""WebSocket connections in DynamoDB: connection id -> the user the authorizer vouched for.

Items expire by TTL a little after API Gateway's 2-hour connection limit, so a missed
$disconnect leaves nothing behind for long.
"""

from __future__ import annotations

CONNECTION_TTL_S = 3 * 3600


class DynamoDbConnectionStore:
    def __init__(self, table_name: str, client=None):
        if client is None:
            from ragchat.adapters.aws.clients import dynamodb

            client = dynamodb()
        self.table = table_name
        self.client = client

    def put(self, connection_id: str, user_id: str, connected_at: float) -> None:
        self.client.put_item(TableName=self.table, Item={
            "connection_id": {"S": connection_id}, "user_id": {"S": user_id},
            "connected_at": {"N": str(int(connected_at))},
            "expires_at": {"N": str(int(connected_at) + CONNECTION_TTL_S)},
        })

    def user_of(self, connection_id: str) -> str | None:
        item = self.client.get_item(TableName=self.table, Key={"connection_id": {"S": connection_id}},
                                    ConsistentRead=True).get("Item")
        return item["user_id"]["S"] if item else None

    def delete(self, connection_id: str) -> None:
        self.client.delete_item(TableName=self.table, Key={"connection_id": {"S": connection_id}})


ANSWER_LEASE_S = 300  # the chat function's timeout: no answer outlives it


class DynamoDbAnswersInFlight:
    """One answer in flight per connection across Lambda invocations (the AnswersInFlight port):
    a conditional write of a lease on the connection's item. Each frame is answered by its own
    asynchronous invocation, often in another execution environment, so a mark in memory would
    not hold. A lease that was never released (the answer's invocation died) lapses after
    ANSWER_LEASE_S; a connection with no item (gone, or never verified) cannot claim one."""

    def __init__(self, table_name: str, client=None, lease_s: float = ANSWER_LEASE_S, clock=None):
        import time

        if client is None:
            from ragchat.adapters.aws.clients import dynamodb

            client = dynamodb()
        self.table, self.client, self.lease_s = table_name, client, lease_s
        self.clock = clock or time.time

    def claim(self, connection_id: str) -> bool:
        now = self.clock()
        try:
            self.client.update_item(
                TableName=self.table, Key={"connection_id": {"S": connection_id}},
                UpdateExpression="SET answering_until = :until",
                ConditionExpression="attribute_exists(connection_id) AND "
                                    "(attribute_not_exists(answering_until) OR answering_until < :now)",
                ExpressionAttributeValues={":until": {"N": f"{now + self.lease_s:.3f}"}, ":now": {"N": f"{now:.3f}"}})
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release(self, connection_id: str) -> None:
        try:
            self.client.update_item(TableName=self.table, Key={"connection_id": {"S": connection_id}},
                                    UpdateExpression="REMOVE answering_until",
                                    ConditionExpression="attribute_exists(connection_id)")
        except self.client.exceptions.ConditionalCheckFailedException:
            pass  # the connection is gone: nothing to release
