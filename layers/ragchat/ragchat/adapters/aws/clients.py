"""AWS clients shared across a process's adapters. Each boto3 client costs its own setup (about
10-20 ms on a Lambda cold start); the DynamoDB adapters (sessions, connections, document records,
answered frames) use one, as a boto3 client is safe to share between threads."""

from __future__ import annotations

import functools


@functools.cache
def dynamodb():
    import boto3

    return boto3.client("dynamodb")
