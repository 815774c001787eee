"""Baseline of the HTTP API's GET /api/documents: list the document records (every page of the
scan) the signed-in user may see, as JSON."""

import json
import os

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer

logger, tracer, metrics = Logger(), Tracer(), Metrics(namespace="ragchat")
dynamodb = boto3.client("dynamodb")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    user = event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"]
    documents = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=os.environ["RAGCHAT_DOCUMENTS_TABLE"]):
        for item in page["Items"]:
            path = item.get("path", {}).get("S", "")
            if "status" in item and (not path.startswith("uploads/") or path.startswith(f"uploads/{user}/")):
                documents.append({"path": path, "status": item["status"]["S"]})
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps({"documents": documents})}
