"""Baseline of the HTTP API's GET /api/documents on the framework the HTTP API is built on (FastAPI
behind Mangum): one route that lists the document records (every page of the scan) the signed-in
user may see."""

import os

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from fastapi import FastAPI, Request
from mangum import Mangum

logger, tracer, metrics = Logger(), Tracer(), Metrics(namespace="ragchat")
dynamodb = boto3.client("dynamodb")
app = FastAPI()


@app.get("/api/documents")
def documents(request: Request) -> dict:
    user = request.scope["aws.event"]["requestContext"]["authorizer"]["jwt"]["claims"]["sub"]
    listed = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=os.environ["RAGCHAT_DOCUMENTS_TABLE"]):
        for item in page["Items"]:
            path = item.get("path", {}).get("S", "")
            if "status" in item and (not path.startswith("uploads/") or path.startswith(f"uploads/{user}/")):
                listed.append({"path": path, "status": item["status"]["S"]})
    return {"documents": listed}


asgi = Mangum(app, lifespan="off")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return asgi(event, context)
