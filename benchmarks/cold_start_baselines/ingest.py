"""Baseline of the ingest function over one SQS batch of S3 notifications: read each object, split
it into paragraphs, embed each with Titan, bulk-index the chunks into the collection (SigV4 for
aoss) and record the document."""

import hashlib
import json
import os
import urllib.parse

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from opensearchpy import AWSV4SignerAuth, OpenSearch, RequestsHttpConnection, helpers

logger, tracer, metrics = Logger(), Tracer(), Metrics(namespace="ragchat")
s3, bedrock, dynamodb = boto3.client("s3"), boto3.client("bedrock-runtime"), boto3.client("dynamodb")
ENDPOINT = urllib.parse.urlsplit(os.environ["RAGCHAT_OPENSEARCH_ENDPOINT"])
SECURE = ENDPOINT.scheme == "https"
collection = OpenSearch(hosts=[{"host": ENDPOINT.hostname, "port": ENDPOINT.port or 443}],
                        http_auth=AWSV4SignerAuth(boto3.Session().get_credentials(), os.environ["AWS_REGION"], "aoss"),
                        use_ssl=SECURE, verify_certs=SECURE, connection_class=RequestsHttpConnection, timeout=30)


def embed(text: str) -> list[float]:
    body = {"inputText": text, "dimensions": int(os.environ["RAGCHAT_EMBEDDING_DIMENSION"]), "normalize": True}
    answer = bedrock.invoke_model(modelId=os.environ["RAGCHAT_BEDROCK_EMBEDDING_MODEL"], body=json.dumps(body))
    return json.loads(answer["body"].read())["embedding"]


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    for message in event["Records"]:
        for record in json.loads(message["body"]).get("Records", []):
            bucket, key = record["s3"]["bucket"]["name"], urllib.parse.unquote_plus(record["s3"]["object"]["key"])
            text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
            doc_id = hashlib.sha256(f"s3://{bucket}/{key}".encode()).hexdigest()[:32]
            paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
            actions = [{"_index": os.environ["RAGCHAT_INDEX_PREFIX"] + "-chunks",
                        "_source": {"doc_id": doc_id, "chunk_id": f"{doc_id}-{n}", "path": key, "text": paragraph,
                                    "vector": embed(paragraph)}}
                       for n, paragraph in enumerate(paragraphs)]
            helpers.bulk(collection, actions)
            dynamodb.put_item(TableName=os.environ["RAGCHAT_DOCUMENTS_TABLE"], Item={
                "doc_id": {"S": doc_id}, "path": {"S": key}, "status": {"S": "indexed"},
                "chunk_count": {"N": str(len(actions))}})
            metrics.add_metric(name="ChunksWritten", unit="Count", value=len(actions))
    return {"batchItemFailures": []}
