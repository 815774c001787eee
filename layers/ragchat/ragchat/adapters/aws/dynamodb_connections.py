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
