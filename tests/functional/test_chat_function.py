"""The chat function fed events/ws-*.json: DynamoDB and the API Gateway Management API under moto
(the tables made from template.yaml's own definitions); FAKES for OpenSearch, Titan and Bedrock
ConverseStream (moto emulates none of them)."""

import json
from urllib.parse import quote

import boto3
import pytest
from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends

from ragchat.adapters.aws.apigw_sink import ApiGatewayConnectionSink
from ragchat.adapters.aws.bedrock import BedrockConverseGenerator
from ragchat.adapters.aws.dynamodb_connections import DynamoDbConnectionStore
from ragchat.adapters.aws.dynamodb_sessions import DynamoDbSessionStore
from ragchat.bootstrap import build_core, build_websocket_function
from ragchat.config import Settings
from ragchat.domain import Chunk, DocumentRecord
from tests.fakes import BEDROCK_MODEL, ScriptedConverseRuntime, titan_embedder
from tests.support.aws import opensearch_store
from tests.support.lambdas import LambdaContext, load_function
from tests.support.template import create_table

CONNECTION = "QyMmLcWmDoECHfQ="


@pytest.fixture
def chat(aws, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "ragchat-chat")
    dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
    create_table(dynamodb, "SessionsTable", "sessions")
    create_table(dynamodb, "ConnectionsTable", "connections")
    store = opensearch_store()
    embedder = titan_embedder()
    store.ensure_embedding_space(embedder.model_id, embedder.dimension)
    text = "Deploy the stack with sam build and sam deploy guided."
    store.replace_documents([(
        DocumentRecord(doc_id="d1", uri="s3://docs/deploy.md", path="deploy.md", title="Deploying",
                       doc_type="markdown", content_hash="h", pipeline_version="p", size=10, status="indexed"),
        [Chunk(chunk_id="c1", doc_id="d1", position=0, text=text, title="Deploying", path="deploy.md",
               uri="s3://docs/deploy.md", doc_type="markdown")],
        embedder.embed_documents(["Deploying\n\n" + text]))])
    answers_later: list[dict] = []
    settings = Settings(backend="aws", generator="bedrock", sessions_table="sessions")
    function = build_websocket_function(
        settings, core=build_core(settings, store=store, embedder=embedder),
        generator=BedrockConverseGenerator(BEDROCK_MODEL, client=ScriptedConverseRuntime([
            [("tool", "search_documents", {"query": "deploy the stack"})], [("text", "Use sam deploy [1].")]])),
        sessions=DynamoDbSessionStore("sessions", client=dynamodb),
        connections=DynamoDbConnectionStore("connections", client=dynamodb),
        sink_for=lambda url: ApiGatewayConnectionSink(url, client=boto3.client(
            "apigatewaymanagementapi", region_name="eu-west-1", endpoint_url=url)),
        answer_later=answers_later.append)
    return load_function("chat").make_handler(lambda: function), dynamodb, answers_later


def posted_frames(connection_id: str) -> list[dict]:
    # moto keeps the connection id as it appeared in the URL path (percent-encoded)
    connections = apigatewaymanagementapi_backends["123456789012"]["eu-west-1"].connections
    connection = connections[quote(connection_id, safe="")]
    data = connection.data.decode()
    frames, decoder, index = [], json.JSONDecoder(), 0
    while index < len(data):
        frame, index = decoder.raw_decode(data, index)
        frames.append(frame)
    return frames


def test_chat_function_connect_send_answer_disconnect(chat, event):
    handler, dynamodb, answers_later = chat
    assert handler(event("ws-connect.json"), LambdaContext())["statusCode"] == 200
    stored = dynamodb.get_item(TableName="connections", Key={"connection_id": {"S": CONNECTION}})["Item"]
    assert stored["user_id"]["S"] == "user-alice"

    assert handler(event("ws-send-message.json"), LambdaContext())["statusCode"] == 200
    (later,) = answers_later  # acknowledged at once, answered asynchronously
    assert later["ragchatAnswer"] is True and later["body"] == event("ws-send-message.json")["body"]
    assert handler(later, LambdaContext())["statusCode"] == 200

    frames = posted_frames(CONNECTION)
    assert next(f["type"] for f in frames) == "start" and [f["type"] for f in frames][-2:] == ["sources", "end"]
    assert [(f["name"], f["status"]) for f in frames if f["type"] == "tool"] == [
        ("search_documents", "started"), ("search_documents", "done")]  # the deployed default uses tools
    assert "".join(f["text"] for f in frames if f["type"] == "delta") == "Use sam deploy [1]."
    assert frames[-1]["citations"][0]["path"] == "deploy.md"
    kinds = sorted(i["sk"]["S"].split("#")[0] for i in dynamodb.scan(TableName="sessions")["Items"])
    assert [k for k in kinds if k in ("MSG", "SESSION")] == ["MSG", "MSG", "SESSION"]

    assert handler(event("ws-disconnect.json"), LambdaContext())["statusCode"] == 200
    assert "Item" not in dynamodb.get_item(TableName="connections", Key={"connection_id": {"S": CONNECTION}})


def test_chat_function_refuses_connect_without_authorizer_context(chat, event):
    handler, dynamodb, _ = chat
    unauthenticated = event("ws-connect.json")
    del unauthenticated["requestContext"]["authorizer"]
    assert handler(unauthenticated, LambdaContext())["statusCode"] == 401
    assert dynamodb.scan(TableName="connections")["Items"] == []


def test_chat_function_deeply_nested_frame_is_answered_with_an_error_frame(chat, event):
    handler, _, _ = chat
    handler(event("ws-connect.json"), LambdaContext())
    nested = {**event("ws-send-message.json"), "body": "[" * 30000, "ragchatAnswer": True}
    assert handler(nested, LambdaContext())["statusCode"] == 200  # no failed invocation, no alarm
    (frame,) = posted_frames(CONNECTION)
    assert (frame["type"], frame["code"]) == ("error", "bad_json")


def test_chat_function_answers_a_frame_once_even_when_its_event_arrives_twice(chat, event):
    handler, dynamodb, answers_later = chat
    handler(event("ws-connect.json"), LambdaContext())
    handler(event("ws-send-message.json"), LambdaContext())
    (later,) = answers_later
    handler(later, LambdaContext())
    handler(later, LambdaContext())  # Lambda or the queue delivered the same invocation again
    frames = posted_frames(CONNECTION)
    assert [f["type"] for f in frames].count("end") == 1
    messages = dynamodb.scan(TableName="sessions", FilterExpression="begins_with(sk, :m)",
                             ExpressionAttributeValues={":m": {"S": "MSG#"}})["Items"]
    assert len(messages) == 2
