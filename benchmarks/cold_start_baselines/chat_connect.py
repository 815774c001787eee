"""Baseline of the chat function's $connect: remember the connection and its verified user."""

import os
import time

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer

logger, tracer, metrics = Logger(), Tracer(), Metrics(namespace="ragchat")
dynamodb = boto3.client("dynamodb")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    request = event["requestContext"]
    dynamodb.put_item(TableName=os.environ["RAGCHAT_CONNECTIONS_TABLE"], Item={
        "connection_id": {"S": request["connectionId"]}, "user_id": {"S": request["authorizer"]["userId"]},
        "expires_at": {"N": str(int(time.time()) + 7200)}})
    return {"statusCode": 200}
