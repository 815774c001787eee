"""The HTTP API function (FastAPI behind Mangum) fed events/http-*.json: S3 and DynamoDB under
moto, the FAKE OpenSearch data plane."""

import json

import boto3
import pytest
from botocore.config import Config

from ragchat.adapters.aws.dynamodb_sessions import DynamoDbSessionStore
from ragchat.adapters.aws.s3_files import S3DocumentFiles
from ragchat.bootstrap import build_api_function, build_core
from ragchat.config import Settings
from tests.contract.chunk_store_contract import EMBEDDER, put, record
from tests.support.aws import opensearch_store
from tests.support.lambdas import LambdaContext, load_event, load_function
from tests.support.template import create_table


@pytest.fixture
def api(aws, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "ragchat-api")
    s3 = boto3.client("s3", region_name="eu-west-1", config=Config(signature_version="s3v4"))
    s3.create_bucket(Bucket="docs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_object(Bucket="docs", Key="guides/deploy.md", Body=b"# Deploy")
    dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
    create_table(dynamodb, "SessionsTable", "sessions")
    store = opensearch_store()
    store.ensure_embedding_space(EMBEDDER.model_id, EMBEDDER.dimension)
    put(store, record("d1", "guides/deploy.md"), "deploy with sam")
    s3.put_object(Bucket="docs", Key="uploads/user-alice/notes.md", Body=b"# Notes")
    put(store, record("d2", "uploads/user-alice/notes.md"), "alice's own notes")
    put(store, record("d3", "uploads/user-bob/notes.md"), "bob's private notes")
    sessions = DynamoDbSessionStore("sessions", client=dynamodb)
    sessions.create_session("user-alice", "Alice's chat")
    sessions.create_session("user-bob", "Bob's chat")
    settings = Settings(backend="aws")
    function = build_api_function(settings, core=build_core(settings, store=store, embedder=EMBEDDER),
                                  sessions=sessions, files=S3DocumentFiles(store, "docs", client=s3))
    return load_function("api").make_handler(lambda: function), s3, store


def call(handler, name: str, **changes) -> tuple[int, dict]:
    event = load_event(name)
    event.update(changes)
    response = handler(event, LambdaContext())
    return response["statusCode"], json.loads(response["body"])


def test_api_lists_documents_with_status(api):
    app, _, _ = api
    status, body = call(app, "http-list-documents.json")
    assert status == 200
    assert [(d["path"], d["status"], d["chunks"]) for d in body["documents"]] == [
        ("guides/deploy.md", "indexed", 1), ("uploads/user-alice/notes.md", "indexed", 1)]  # not bob's upload


def test_api_presigns_uploads_under_the_users_prefix(api):
    app, _, _ = api
    status, body = call(app, "http-presign-upload.json")
    assert status == 201
    assert body["method"] == "PUT" and body["key"] == "uploads/user-alice/Q3 report.pdf"
    assert body["url"].startswith("https://docs.s3.") and "X-Amz-Signature" in body["url"]


def test_api_lists_only_the_callers_sessions(api):
    app, _, _ = api
    status, body = call(app, "http-list-sessions.json")
    assert status == 200 and [s["title"] for s in body["sessions"]] == ["Alice's chat"]


def test_api_without_verified_claims_is_refused_but_health_is_open(api):
    app, _, store = api
    event = load_event("http-list-sessions.json")
    del event["requestContext"]["authorizer"]
    assert app(event, LambdaContext())["statusCode"] == 401
    engine = store.client.engine
    before = len(engine.requests)
    status, body = call(app, "http-health.json")
    assert (status, body) == (200, {"status": "ok"})
    assert len(engine.requests) == before  # an open route that costs nothing: no search, no count


def test_api_config_tells_the_page_to_upload_with_presigned_urls(api):
    app, _, _ = api
    event = load_event("http-list-documents.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/api/config"
    response = app(event, LambdaContext())
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"uploads": "presigned", "user": "user-alice"}


def delete(handler, doc_id: str) -> int:
    event = load_event("http-list-documents.json")
    event["requestContext"]["http"]["method"] = "DELETE"
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/api/documents/{doc_id}"
    return handler(event, LambdaContext())["statusCode"]


def test_api_delete_document_removes_the_users_own_upload_and_its_chunks(api):
    app, s3, store = api
    assert delete(app, "d2") == 200
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="docs")["Contents"]]
    assert keys == ["guides/deploy.md"] and store.get_chunks("d2") == []


def test_api_delete_refuses_shared_documents_and_hides_other_users_uploads(api):
    app, s3, store = api
    assert delete(app, "d1") == 403  # the shared library is managed in the bucket
    assert delete(app, "d3") == 404  # bob's upload does not exist for alice
    assert store.count_chunks() == 3 and s3.list_objects_v2(Bucket="docs")["KeyCount"] == 2
