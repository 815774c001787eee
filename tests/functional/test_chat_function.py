"""The chat function fed events/ws-*.json: DynamoDB and the API Gateway Management API under moto;
FAKES for OpenSearch, Titan and Bedrock ConverseStream (moto emulates none of them)."""

import json
from urllib.parse import quote

import boto3
import pytest
from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends

from ragchat.adapters.aws.bedrock import BedrockConverseGenerator
from ragchat.adapters.aws.bedrock_embedder import BedrockTitanEmbedder
from ragchat.adapters.aws.opensearch_store import OpenSearchChunkStore
from ragchat.bootstrap import build, build_chat
from ragchat.domain import Chunk, DocumentRecord
from tests.fake_opensearch import FakeOpenSearch
from tests.fakes import FakeTitanRuntime, ScriptedConverseRuntime
from tests.functional.lambda_support import EVENTS, LambdaContext, load_function

CONNECTION = "QyMmLcWmDoECHfQ="


class RecordingLambda:
    def __init__(self):
        self.invocations = []

    def invoke(self, **request):
        self.invocations.append(request)
        return {"StatusCode": 202}


def table(client, name, key):
    client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in key],
                        KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in zip(key, ("HASH", "RANGE"))])


@pytest.fixture
def chat(aws, monkeypatch):
    for key, value in {"POWERTOOLS_SERVICE_NAME": "ragchat-chat", "RAGCHAT_SESSIONS_TABLE": "sessions",
                       "RAGCHAT_CONNECTIONS_TABLE": "connections"}.items():
        monkeypatch.setenv(key, value)
    dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
    table(dynamodb, "sessions", ["pk", "sk"])
    table(dynamodb, "connections", ["connection_id"])
    store = OpenSearchChunkStore(FakeOpenSearch(), prefix="test")
    embedder = BedrockTitanEmbedder(client=FakeTitanRuntime())
    store.ensure_embedding_space(embedder.model_id, embedder.dimension)
    text = "Deploy the stack with sam build and sam deploy guided."
    store.replace_documents([(
        DocumentRecord(doc_id="d1", uri="s3://docs/deploy.md", path="deploy.md", title="Deploying",
                       doc_type="markdown", content_hash="h", pipeline_version="p", size=10, status="indexed"),
        [Chunk(chunk_id="c1", doc_id="d1", position=0, text=text, title="Deploying", path="deploy.md",
               uri="s3://docs/deploy.md", doc_type="markdown")],
        embedder.embed_documents(["Deploying\n\n" + text]))])
    app = load_function("chat")
    app.lambda_client = RecordingLambda()
    monkeypatch.setattr(app, "build", lambda settings: build(settings, store=store, embedder=embedder))
    monkeypatch.setattr(app, "build_chat", lambda services: build_chat(
        services, generator=BedrockConverseGenerator(client=ScriptedConverseRuntime([
            [("tool", "search_documents", {"query": "deploy the stack"})], [("text", "Use sam deploy [1].")]]))))
    return app, dynamodb


def event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def posted_frames(connection_id: str) -> list[dict]:
    # moto keeps the connection id as it appeared in the URL path (percent-encoded)
    connection = apigatewaymanagementapi_backends["123456789012"]["eu-west-1"].connections[quote(connection_id, safe="")]
    data = connection.data.decode()
    frames, decoder, index = [], json.JSONDecoder(), 0
    while index < len(data):
        frame, index = decoder.raw_decode(data, index)
        frames.append(frame)
    return frames


def test_chat_function_connect_send_answer_disconnect(chat):
    app, dynamodb = chat
    assert app.handler(event("ws-connect.json"), LambdaContext())["statusCode"] == 200
    stored = dynamodb.get_item(TableName="connections", Key={"connection_id": {"S": CONNECTION}})["Item"]
    assert stored["user_id"]["S"] == "user-alice"

    assert app.handler(event("ws-send-message.json"), LambdaContext())["statusCode"] == 200
    (invocation,) = app.lambda_client.invocations  # acknowledged at once, answered asynchronously
    assert invocation["InvocationType"] == "Event"
    assert app.handler(json.loads(invocation["Payload"]), LambdaContext())["statusCode"] == 200

    frames = posted_frames(CONNECTION)
    assert [f["type"] for f in frames][0] == "start" and [f["type"] for f in frames][-2:] == ["sources", "end"]
    assert [(f["name"], f["status"]) for f in frames if f["type"] == "tool"] == [
        ("search_documents", "started"), ("search_documents", "done")]  # the deployed default uses tools
    assert "".join(f["text"] for f in frames if f["type"] == "delta") == "Use sam deploy [1]."
    assert frames[-1]["citations"][0]["path"] == "deploy.md"
    messages = dynamodb.scan(TableName="sessions")["Items"]
    assert sorted(i["sk"]["S"].split("#")[0] for i in messages) == ["MSG", "MSG", "SESSION"]

    assert app.handler(event("ws-disconnect.json"), LambdaContext())["statusCode"] == 200
    assert "Item" not in dynamodb.get_item(TableName="connections", Key={"connection_id": {"S": CONNECTION}})


def test_chat_function_refuses_connect_without_authorizer_context(chat):
    app, _ = chat
    unauthenticated = event("ws-connect.json")
    del unauthenticated["requestContext"]["authorizer"]
    assert app.handler(unauthenticated, LambdaContext())["statusCode"] == 401
