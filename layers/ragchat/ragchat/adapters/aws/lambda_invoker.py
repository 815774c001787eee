"""Asynchronous invocation of a Lambda function (the chat function answers through one)."""

from __future__ import annotations

import json


class AsyncInvoker:
    def __init__(self, function_name: str, client=None):
        if client is None:
            import boto3

            client = boto3.client("lambda")
        self.function_name = function_name
        self.client = client

    def __call__(self, payload: dict) -> None:
        self.client.invoke(FunctionName=self.function_name, InvocationType="Event",
                           Payload=json.dumps(payload).encode("utf-8"))
