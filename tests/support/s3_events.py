"""S3 as a user changes it, and the notifications real S3 would send about each change.

moto stores the objects (a versioned bucket, as the template makes) but its notifications carry no
`sequencer` and no `versionId`, and a delete marker sends none at all (moto 5.2.5). So this helper
performs each change through moto and writes the notification record itself, the way S3 does
("Event message structure" in the S3 user guide): the key URL-encoded with spaces as '+', the
version id, and a sequencer that grows with every change to the bucket.
"""

from __future__ import annotations

import copy
import itertools
import json
import uuid
from urllib.parse import quote_plus

from tests.support.lambdas import load_event


class S3Changes:
    def __init__(self, s3, bucket: str, versioned: bool = True, region: str = "eu-west-1"):
        self.s3, self.bucket, self.region = s3, bucket, region
        self._sequencer = itertools.count(0x0064C2A3F1B2D3E000)
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
        if versioned:
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})

    def _record(self, event_name: str, key: str, **fields) -> dict:
        record = copy.deepcopy(load_event("s3-put.json")["Records"][0])
        record["eventName"] = event_name
        record["awsRegion"] = self.region
        record["s3"]["bucket"].update(name=self.bucket, arn=f"arn:aws:s3:::{self.bucket}")
        record["s3"]["object"] = {"key": quote_plus(key, safe="/"), **{k: v for k, v in fields.items() if v},
                                  "sequencer": f"{next(self._sequencer):018X}"}
        return record

    # -- changes -----------------------------------------------------------------------------
    def put(self, key: str, body: bytes) -> dict:
        response = self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        return self._record("ObjectCreated:Put", key, size=len(body), eTag=response["ETag"].strip('"'),
                            versionId=response.get("VersionId"))

    def delete(self, key: str) -> dict:
        """A plain delete: in a versioned bucket, a delete marker."""
        response = self.s3.delete_object(Bucket=self.bucket, Key=key)
        if response.get("DeleteMarker"):
            return self._record("ObjectRemoved:DeleteMarkerCreated", key, versionId=response.get("VersionId"))
        return self._record("ObjectRemoved:Delete", key)

    def delete_version(self, key: str, version: str) -> dict:
        """One version deleted for good (the one before it may become current again)."""
        self.s3.delete_object(Bucket=self.bucket, Key=key, VersionId=version)
        return self._record("ObjectRemoved:Delete", key, versionId=version)

    def uploaded(self, key: str) -> dict:
        """The notification for an object someone else put (a browser's presigned PUT)."""
        head = self.s3.head_object(Bucket=self.bucket, Key=key)
        return self._record("ObjectCreated:Put", key, size=head["ContentLength"], eTag=head["ETag"].strip('"'),
                            versionId=head.get("VersionId"))

    # -- how the notifications travel --------------------------------------------------------
    @staticmethod
    def event(*records: dict) -> dict:
        """A raw S3 notification (what `sam local invoke` feeds the function)."""
        return {"Records": list(records)}

    @staticmethod
    def sqs_batch(*bodies: dict) -> dict:
        """An SQS batch as the event source mapping delivers it, one message per body."""
        template = load_event("sqs-s3-batch.json")["Records"][0]
        records = []
        for body in bodies:
            record = copy.deepcopy(template)
            record.update(messageId=str(uuid.uuid4()), receiptHandle=uuid.uuid4().hex, body=json.dumps(body))
            records.append(record)
        return {"Records": records}
