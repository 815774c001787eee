"""Document records in DynamoDB: identity, status, the order of the write that made them, and the
generation of their current chunks.

OpenSearch Serverless cannot hold these: a vector collection takes no client-chosen document ids,
so a record could only be found by search, and search sees a write only after a delay. DynamoDB
reads are strongly consistent and its writes conditional, so "apply this write only over an older
one" is one atomic request. An ordered delete leaves a tombstone (expiring after a week, long after
any late event) so an older write still in flight is refused when it lands.
"""

from __future__ import annotations

import time
from dataclasses import asdict, fields, replace
from decimal import Decimal

from ragchat.domain import DocumentRecord
from ragchat.ordering import recorded_order

META_KEY = "#embedding-space"
TOMBSTONE_DAYS = 7
_FIELDS = [f.name for f in fields(DocumentRecord)]


def _plain(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


class DynamoDbDocumentRecords:
    def __init__(self, table_name: str, client=None):
        if client is None:
            import boto3

            client = boto3.client("dynamodb")
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        self.table, self.client = table_name, client
        self._to, self._from = TypeSerializer(), TypeDeserializer()

    # -- items -------------------------------------------------------------------------------
    def _item(self, values: dict) -> dict:
        return {k: self._to.serialize(Decimal(str(v)) if isinstance(v, float) else v) for k, v in values.items()}

    def _values(self, item: dict) -> dict:
        return {k: _plain(self._from.deserialize(v)) for k, v in item.items()}

    @staticmethod
    def _record(values: dict) -> DocumentRecord:
        return DocumentRecord(**{name: values[name] for name in _FIELDS if name in values})

    def _get(self, doc_id: str) -> dict | None:
        key = {"doc_id": {"S": doc_id}}
        item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        return self._values(item) if item else None

    def _conditional(self, call, **request) -> bool:
        """Run a conditional write; False when its condition did not hold."""
        try:
            call(TableName=self.table, **request)
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    @staticmethod
    def _newer_than_stored(order: str) -> dict:
        """The condition for a write of `order`: unordered writes always apply, ordered ones only over
        an older write (ragchat/ordering.py)."""
        if not order:
            return {}
        return {"ConditionExpression": "attribute_not_exists(doc_id) OR #ord < :ord",
                "ExpressionAttributeNames": {"#ord": "order"}, "ExpressionAttributeValues": {":ord": {"S": order}}}

    # -- reads -------------------------------------------------------------------------------
    def get(self, doc_id: str) -> DocumentRecord | None:
        values = self._get(doc_id)
        return None if values is None or values.get("deleted") else self._record(values)

    def stored_order(self, doc_id: str) -> str | None:
        values = self._get(doc_id)
        return None if values is None else values.get("order", "")

    def current(self, doc_id: str) -> tuple[str, str] | None:
        """(order, generation) of what stands for the document, tombstones included."""
        values = self._get(doc_id)
        return None if values is None else (values.get("order", ""), values.get("generation", ""))

    def generations(self, doc_ids: list[str]) -> dict[str, str]:
        """The current generation of each live document among `doc_ids` (absent: deleted or unknown)."""
        found: dict[str, str] = {}
        wanted = list(dict.fromkeys(doc_ids))
        for start in range(0, len(wanted), 100):  # BatchGetItem takes 100 keys
            pending = {self.table: {"Keys": [{"doc_id": {"S": d}} for d in wanted[start:start + 100]],
                                    "ProjectionExpression": "doc_id, generation, deleted", "ConsistentRead": True}}
            while pending:
                response = self.client.batch_get_item(RequestItems=pending)
                for item in response["Responses"].get(self.table, []):
                    values = self._values(item)
                    if not values.get("deleted"):
                        found[values["doc_id"]] = values.get("generation", "")
                pending = response.get("UnprocessedKeys") or None
        return found

    def list(self, uri_prefix: str | None = None) -> list[DocumentRecord]:
        """Every live record, every page of the scan (a page holds at most 1 MB)."""
        request: dict = {"TableName": self.table,
                         "FilterExpression": "attribute_not_exists(deleted) AND doc_id <> :meta",
                         "ExpressionAttributeValues": {":meta": {"S": META_KEY}}}
        if uri_prefix:
            request["FilterExpression"] += " AND begins_with(uri, :prefix)"
            request["ExpressionAttributeValues"][":prefix"] = {"S": uri_prefix}
        records = []
        for page in self.client.get_paginator("scan").paginate(**request):
            records += [self._record(self._values(item)) for item in page.get("Items", [])]
        return sorted(records, key=lambda r: r.path)

    # -- writes ------------------------------------------------------------------------------
    def commit(self, record: DocumentRecord) -> bool:
        """Make `record` the document's record if its order is newer than the stored one's."""
        values = {**asdict(record), "updated_at": record.updated_at or time.time()}
        return self._conditional(self.client.put_item, Item=self._item(values), **self._newer_than_stored(record.order))

    def record_status(self, record: DocumentRecord) -> bool:
        """A status for the document; an earlier good version keeps its chunks and identity."""
        for _ in range(5):  # optimistic: retried when another writer changed the item in between
            stored = self._get(record.doc_id)
            if record.order and stored is not None and not stored.get("order", "") < record.order:
                return False
            order = recorded_order(record.status, record.order, stored.get("order", "") if stored else None)
            if stored and not stored.get("deleted") and stored.get("chunk_count", 0) > 0:
                values = {**stored, "status": record.status, "reason": record.reason, "order": order,
                          "updated_at": time.time()}
            else:
                fresh = replace(record, chunk_count=0, generation="", order=order)
                values = {**asdict(fresh), "updated_at": time.time()}
            values["rev"] = (stored or {}).get("rev", 0) + 1
            if stored is None:
                condition = {"ConditionExpression": "attribute_not_exists(doc_id)"}
            else:
                condition = {"ConditionExpression": "#rev = :rev", "ExpressionAttributeNames": {"#rev": "rev"},
                             "ExpressionAttributeValues": {":rev": {"N": str(stored.get("rev", 0))}}}
                if "rev" not in stored:
                    condition = {"ConditionExpression": "attribute_not_exists(#rev)",
                                 "ExpressionAttributeNames": {"#rev": "rev"}}
            if self._conditional(self.client.put_item, Item=self._item(values), **condition):
                return True
        raise RuntimeError(f"the record of {record.doc_id} kept changing under this write")

    def tombstone(self, doc_id: str, order: str) -> bool:
        """Remember an ordered delete; False when a newer write stands."""
        condition = self._newer_than_stored(order)
        condition["ExpressionAttributeNames"]["#status"] = "status"
        condition["ExpressionAttributeValues"].update({
            ":true": {"BOOL": True}, ":none": {"S": ""}, ":zero": {"N": "0"},
            ":expires": {"N": str(int(time.time()) + TOMBSTONE_DAYS * 86400)}})
        return self._conditional(
            self.client.update_item, Key={"doc_id": {"S": doc_id}},
            UpdateExpression="SET deleted = :true, #ord = :ord, generation = :none, chunk_count = :zero, "
                             "expires_at = :expires REMOVE #status", **condition)

    def remove(self, doc_id: str) -> None:
        self.client.delete_item(TableName=self.table, Key={"doc_id": {"S": doc_id}})

    # -- the embedding space -------------------------------------------------------------------
    def embedding_space(self, model_id: str, dimension: int) -> tuple[str, int]:
        """The model and dimension the store was built with: these, when it is new."""
        self._conditional(self.client.put_item, Item=self._item(
            {"doc_id": META_KEY, "model_id": model_id, "dimension": dimension}),
            ConditionExpression="attribute_not_exists(doc_id)")
        stored = self._get(META_KEY)
        return stored["model_id"], int(stored["dimension"])
