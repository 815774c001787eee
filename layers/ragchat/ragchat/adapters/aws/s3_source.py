"""The documents bucket as a DocumentSource: keys are S3 keys, uris are s3://bucket/key."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

from ragchat.domain import SourceObject


class S3Source:
    def __init__(self, bucket: str, prefix: str = "", client=None):
        if client is None:
            import boto3

            client = boto3.client("s3")
        self.bucket = bucket
        self.prefix = prefix
        self.client = client
        self.root_uri = f"s3://{bucket}/{prefix}"

    def uri_for(self, key: str) -> str:
        return f"s3://{self.bucket}/{quote(key, safe='/')}"

    def _object(self, key: str, size: int, version: str | None = None, url: str = "") -> SourceObject:
        return SourceObject(key=key, uri=self.uri_for(key), size=size, version=version, url=url)

    def stat(self, key: str, version: str | None = None) -> SourceObject | None:
        """HeadObject (of one version, when given). None when the key has no current object, or the
        version is gone or is a delete marker (S3 answers 404, or 405 for a marker)."""
        from botocore.exceptions import ClientError

        extra = {"VersionId": version} if version else {}
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key, **extra)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "405", "NoSuchKey", "NoSuchVersion", "NotFound",
                                                  "MethodNotAllowed"):
                return None
            raise
        # x-amz-meta-url: where the public reads the document (citations link there)
        url = (head.get("Metadata") or {}).get("url", "")
        return self._object(key, head["ContentLength"], head.get("VersionId") or head.get("ETag"), url)

    def list(self) -> Iterator[SourceObject]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                if not item["Key"].endswith("/"):
                    yield self._object(item["Key"], item["Size"], item.get("ETag"))

    def read(self, obj: SourceObject) -> bytes:
        extra = {"VersionId": obj.version} if obj.version and not obj.version.startswith('"') else {}
        return self.client.get_object(Bucket=self.bucket, Key=obj.key, **extra)["Body"].read()
