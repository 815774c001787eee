"""Sessions in DynamoDB: one item per message (no 400 KB ceiling on a long conversation).

One table, two kinds of items:
- session:  pk = USER#<user>,            sk = SESSION#<session id>   (title, times, expires_at)
- message:  pk = MSGS#<user>#<session>,  sk = MSG#<ms since epoch>#<message id>
Every key starts with the owner, so no request can reach another user's items. `expires_at` is
the table's TTL attribute: idle conversations expire on their own.
"""

from __future__ import annotations

import json
import time
import uuid
from decimal import Decimal

from ragchat.domain import Message, Session, Source
from ragchat.errors import SessionNotFound

TTL_DAYS = 90


def _number(value) -> float:
    return float(value) if isinstance(value, Decimal) else value


class DynamoDbSessionStore:
    def __init__(self, table_name: str, client=None, ttl_days: int = TTL_DAYS):
        if client is None:
            from ragchat.adapters.aws.clients import dynamodb

            client = dynamodb()
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        self.table = table_name
        self.client = client
        self.ttl_seconds = ttl_days * 86400
        self._to = TypeSerializer()
        self._from = TypeDeserializer()

    def _item(self, values: dict) -> dict:
        return {k: self._to.serialize(v) for k, v in values.items() if v is not None}

    def _plain(self, item: dict) -> dict:
        return {k: self._from.deserialize(v) for k, v in item.items()}

    @staticmethod
    def _session_key(user_id: str, session_id: str) -> dict:
        return {"pk": {"S": f"USER#{user_id}"}, "sk": {"S": f"SESSION#{session_id}"}}

    def _session(self, item: dict) -> Session:
        data = self._plain(item)
        return Session(session_id=data["sk"].removeprefix("SESSION#"), user_id=data["pk"].removeprefix("USER#"),
                       title=data["title"], created_at=_number(data["created_at"]),
                       updated_at=_number(data["updated_at"]))

    def create_session(self, user_id: str, title: str, session_id: str | None = None) -> Session:
        now = time.time()
        session = Session(session_id or uuid.uuid4().hex, user_id, title[:200], now, now)
        self.client.put_item(
            TableName=self.table,
            Item={**self._session_key(user_id, session.session_id),
                  **self._item({"title": session.title, "created_at": Decimal(str(now)),
                                "updated_at": Decimal(str(now)), "expires_at": int(now) + self.ttl_seconds})},
            ConditionExpression="attribute_not_exists(pk)",
        )
        return session

    def get_session(self, user_id: str, session_id: str) -> Session | None:
        item = self.client.get_item(TableName=self.table, Key=self._session_key(user_id, session_id),
                                    ConsistentRead=True).get("Item")
        return self._session(item) if item else None

    def _query(self, **kwargs):
        """Every page of a Query (a page holds at most 1 MB)."""
        while True:
            page = self.client.query(TableName=self.table, **kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page or kwargs.get("Limit"):
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def list_sessions(self, user_id: str, limit: int = 50) -> list[Session]:
        items = self._query(KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                            ExpressionAttributeValues={":pk": {"S": f"USER#{user_id}"}, ":prefix": {"S": "SESSION#"}})
        sessions = sorted((self._session(i) for i in items), key=lambda s: s.updated_at, reverse=True)
        return sessions[:limit]

    def append_message(self, user_id: str, message: Message) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.update_item(
                TableName=self.table, Key=self._session_key(user_id, message.session_id),
                UpdateExpression="SET updated_at = :now, expires_at = :ttl",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=self._item({":now": Decimal(str(message.created_at)),
                                                      ":ttl": int(message.created_at) + self.ttl_seconds}),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise SessionNotFound(f"no session {message.session_id}") from exc
            raise
        item = {
            "pk": f"MSGS#{user_id}#{message.session_id}",
            "sk": f"MSG#{int(message.created_at * 1000):013d}#{message.message_id}",
            "message_id": message.message_id, "role": message.role, "content": message.content,
            "citations": json.dumps([c.as_dict() for c in message.citations]), "request_id": message.request_id,
            "created_at": Decimal(str(message.created_at)), "expires_at": int(message.created_at) + self.ttl_seconds,
        }
        try:  # a message id already stored is not stored again
            self.client.put_item(TableName=self.table, Item=self._item(item),
                                 ConditionExpression="attribute_not_exists(message_id)")
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def list_messages(self, user_id: str, session_id: str, limit: int | None = None) -> list[Message]:
        if self.get_session(user_id, session_id) is None:
            raise SessionNotFound(f"no session {session_id}")
        query = {"KeyConditionExpression": "pk = :pk", "ScanIndexForward": False,
                 "ExpressionAttributeValues": {":pk": {"S": f"MSGS#{user_id}#{session_id}"}}}
        if limit is not None:
            query["Limit"] = limit
        items = [self._plain(i) for i in self._query(**query)]
        return [
            Message(message_id=d["message_id"], session_id=session_id, role=d["role"], content=d["content"],
                    created_at=_number(d["created_at"]), request_id=d.get("request_id"),
                    citations=tuple(Source.from_dict(c) for c in json.loads(d["citations"])))
            for d in reversed(items)
        ]

    def delete_session(self, user_id: str, session_id: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.delete_item(TableName=self.table, Key=self._session_key(user_id, session_id),
                                    ConditionExpression="attribute_exists(pk)")
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        keys = [{"pk": i["pk"], "sk": i["sk"]} for i in self._query(
            KeyConditionExpression="pk = :pk", ProjectionExpression="pk, sk",
            ExpressionAttributeValues={":pk": {"S": f"MSGS#{user_id}#{session_id}"}})]
        for start in range(0, len(keys), 25):
            pending = {self.table: [{"DeleteRequest": {"Key": k}} for k in keys[start:start + 25]]}
            while pending:
                pending = self.client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or None
        return True
