"""AWS adapters at the boundary: S3 and the API Gateway Management API under moto; Titan embeddings
against a fake of the invoke_model body; GoneException through botocore's Stubber."""

import boto3
import pytest
from botocore.stub import Stubber

from ragchat.adapters.aws.apigw_sink import ApiGatewayConnectionSink
from ragchat.adapters.aws.bedrock_embedder import BedrockTitanEmbedder
from ragchat.adapters.aws.s3_source import S3Source
from ragchat.errors import ClientGone, ConfigurationError
from tests.fakes import FakeTitanRuntime, titan_embedder


def test_s3_source_lists_every_page_and_reads_objects(aws):
    s3 = boto3.client("s3", region_name="eu-west-1")
    s3.create_bucket(Bucket="docs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    for i in range(1005):  # more than one list page (1,000 keys)
        s3.put_object(Bucket="docs", Key=f"notes/n{i:04d}.md", Body=f"# Note {i}".encode())
    s3.put_object(Bucket="docs", Key="notes/folder/", Body=b"")
    source = S3Source("docs", client=s3)
    objects = list(source.list())
    assert len(objects) == 1005
    first = objects[0]
    assert (first.key, first.uri, first.size) == ("notes/n0000.md", "s3://docs/notes/n0000.md", 8)
    assert source.read(first) == b"# Note 0"


def test_s3_source_stat_and_versioned_read(aws):
    s3 = boto3.client("s3", region_name="eu-west-1")
    s3.create_bucket(Bucket="docs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_bucket_versioning(Bucket="docs", VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket="docs", Key="a b.md", Body=b"one")["VersionId"]
    s3.put_object(Bucket="docs", Key="a b.md", Body=b"two")
    source = S3Source("docs", client=s3)
    old = source.stat("a b.md", version=v1)
    assert old.uri == "s3://docs/a%20b.md" == source.uri_for("a b.md") and old.version == v1
    assert source.read(old) == b"one"
    assert source.read(source.stat("a b.md")) == b"two"
    assert source.stat("missing.md") is None


def test_apigw_sink_posts_frames_under_moto(aws):
    from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends

    client = boto3.client("apigatewaymanagementapi", region_name="eu-west-1",
                          endpoint_url="https://abc123.execute-api.eu-west-1.amazonaws.com/dev")
    sink = ApiGatewayConnectionSink("unused", client=client)
    sink.post("conn-1", '{"type":"pong"}')
    sink.post("conn-1", '{"type":"delta","text":"é"}')
    connection = apigatewaymanagementapi_backends["123456789012"]["eu-west-1"].connections["conn-1"]
    assert connection.data == '{"type":"pong"}{"type":"delta","text":"é"}'.encode()


def test_apigw_sink_turns_gone_into_client_gone():
    client = boto3.client("apigatewaymanagementapi", region_name="eu-west-1", aws_access_key_id="x",
                          aws_secret_access_key="x", endpoint_url="https://abc123.execute-api.eu-west-1.amazonaws.com/dev")
    with Stubber(client) as stub:
        stub.add_client_error("post_to_connection", service_error_code="GoneException", http_status_code=410)
        with pytest.raises(ClientGone):
            ApiGatewayConnectionSink("unused", client=client).post("conn-1", "{}")


def test_titan_embedder_sends_one_text_per_call_and_keeps_order():
    runtime = FakeTitanRuntime()
    embedder = titan_embedder(runtime, concurrency=3)
    texts = [f"text number {i}" for i in range(10)]
    vectors = embedder.embed_documents(texts)
    assert len(vectors) == 10 and all(len(v) == 1024 for v in vectors)
    assert vectors[4] == embedder.embed_query("text number 4")
    assert {b["inputText"] for b in runtime.bodies} == set(texts)
    assert all(b["dimensions"] == 1024 and b["normalize"] is True for b in runtime.bodies)


def test_titan_embedder_refuses_unsupported_dimensions():
    with pytest.raises(ConfigurationError):
        BedrockTitanEmbedder("amazon.titan-embed-text-v2:0", dimension=384, concurrency=1, client=FakeTitanRuntime())
