"""The same adapters against a real deployed stack. Skipped unless its outputs are given:

    aws cloudformation describe-stacks --stack-name ragchat-dev \
        --query 'Stacks[0].Outputs' > outputs.json
    RAGCHAT_STACK_OUTPUTS=outputs.json AWS_REGION=eu-west-1 pytest -m integration tests/integration
"""

import json
import os
import time
import uuid

import pytest

from tests.contract.chunk_store_contract import ChunkStoreContract
from tests.contract.session_store_contract import SessionStoreContract

pytestmark = pytest.mark.integration
OUTPUTS_FILE = os.environ.get("RAGCHAT_STACK_OUTPUTS")


@pytest.fixture(scope="module")
def outputs() -> dict:
    if not OUTPUTS_FILE:
        pytest.skip("RAGCHAT_STACK_OUTPUTS is not set: no deployed stack to test against")
    return {o["OutputKey"]: o["OutputValue"] for o in json.load(open(OUTPUTS_FILE))}


class TestDeployedSessions(SessionStoreContract):
    @pytest.fixture
    def sessions(self, outputs):
        from ragchat.adapters.aws.dynamodb_sessions import DynamoDbSessionStore

        return DynamoDbSessionStore(outputs["SessionsTableName"])


class TestDeployedChunkStore(ChunkStoreContract):
    @pytest.fixture
    def scratch_table(self, outputs):
        import boto3

        from tests.support.template import create_table

        client = boto3.client("dynamodb")
        name = create_table(client, "DocumentsTable", f"ragchat-itest-{uuid.uuid4().hex[:8]}")
        client.get_waiter("table_exists").wait(TableName=name)
        yield name
        client.delete_table(TableName=name)

    @pytest.fixture
    def store(self, outputs, scratch_table):
        from tests.contract.chunk_store_contract import EMBEDDER

        # a fresh index prefix and a scratch records table per test, beside the stack's own
        store = deployed_store(outputs, prefix=f"itest-{uuid.uuid4().hex[:8]}", table=scratch_table)
        store.ensure_embedding_space(EMBEDDER.model_id, EMBEDDER.dimension)
        return store

    def settle(self, store) -> None:
        time.sleep(70)  # vector collections show a write about 60 s later


def deployed_store(outputs: dict, prefix: str, table: str | None = None):
    from ragchat.adapters.aws.dynamodb_documents import DynamoDbDocumentRecords
    from ragchat.adapters.aws.opensearch_store import OpenSearchChunkStore

    records = DynamoDbDocumentRecords(table or outputs["DocumentsTableName"])
    return OpenSearchChunkStore.for_collection(outputs["CollectionEndpoint"], os.environ["AWS_REGION"], records, prefix)


def wait_for(condition, seconds: float = 300, every: float = 5):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False


def test_deployed_bucket_ingests_and_removes_a_document(outputs):
    """Through the real bucket, queue and ingest function: a put becomes searchable, a delete removes it."""
    import boto3

    store = deployed_store(outputs, prefix=os.environ.get("RAGCHAT_INDEX_PREFIX", "ragchat-dev"))
    bucket, key = outputs["DocumentsBucketName"], f"itest/{uuid.uuid4().hex}.md"
    marker = uuid.uuid4().hex
    s3 = boto3.client("s3")
    s3.put_object(Bucket=bucket, Key=key, Body=f"# Integration\n\nThe marker is {marker}.\n".encode())
    try:
        assert wait_for(lambda: any(h.chunk.path == key for h in store.keyword_search(marker, k=5))), \
            "the document never became searchable"
    finally:
        s3.delete_object(Bucket=bucket, Key=key)
    assert wait_for(lambda: not any(d.path == key for d in store.list_documents())), "the delete was never applied"
