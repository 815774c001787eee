"""Frames to WebSocket clients through the API Gateway Management API (post_to_connection)."""

from __future__ import annotations

from ragchat.errors import ClientGone


class ApiGatewayConnectionSink:
    """ConnectionSink for Lambda: a closed connection (GoneException, 410) becomes ClientGone."""

    def __init__(self, endpoint_url: str, client=None):
        if client is None:
            import boto3

            client = boto3.client("apigatewaymanagementapi", endpoint_url=endpoint_url)
        self.client = client

    def post(self, connection_id: str, data: str) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.post_to_connection(ConnectionId=connection_id, Data=data.encode("utf-8"))
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("GoneException", "ForbiddenException"):
                raise ClientGone(connection_id) from exc
            raise
