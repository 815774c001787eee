"""The Lambda handlers fed fuzzed events (Hypothesis): chat frames in any body and route, SQS
messages holding anything, S3 notifications naming any key. No event makes a handler raise (a
failed invocation, a retry, an alarm); DynamoDB, S3 and the Management API run under moto."""

import json
from urllib.parse import quote_plus

from hypothesis import example, given
from hypothesis import strategies as st

from tests.functional.test_chat_function import CONNECTION, posted_frames
from tests.functional.test_chat_function import chat as chat_runtime
from tests.functional.test_ingest_function import BUCKET, KEY, RUNBOOK, handler_over
from tests.functional.test_ingest_function import bucket as changes
from tests.functional.test_ingest_function import s3 as s3_client
from tests.functional.test_ingest_function import store as chunk_store
from tests.support.fuzz import client_frames, fuzzing, json_values, nested, tally
from tests.support.lambdas import LambdaContext, load_event

chat, s3, bucket, store = chat_runtime, s3_client, changes, chunk_store  # the fixtures, over moto
EVENT_BUDGET_MS = 5000

routes = st.sampled_from(["sendMessage", "$default", "$connect", "$disconnect"]) | st.text(max_size=20)
authorizers = st.one_of(st.none(), st.just({"userId": "user-alice", "principalId": "user-alice"}),
                        st.dictionaries(st.sampled_from(["userId", "principalId"]), st.text(max_size=20)))


def test_fuzz_chat_events_never_fail_the_invocation(chat):
    handler, _, _ = chat
    handler(load_event("ws-connect.json"), LambdaContext())

    @fuzzing(examples=40, deadline_ms=EVENT_BUDGET_MS)
    @given(body=client_frames | st.none(), route=routes, authorizer=authorizers, answering=st.booleans())
    @example(body=nested(16_000), route="sendMessage", authorizer=None, answering=True)  # a known killer
    def one_event(body, route, authorizer, answering):
        event = load_event("ws-send-message.json")
        event["body"], event["requestContext"]["routeKey"] = body, route
        if authorizer is not None:
            event["requestContext"]["authorizer"] = authorizer
        if answering:
            event["ragchatAnswer"] = True
        before = len(posted_frames(CONNECTION))
        result = handler(event, LambdaContext())
        assert isinstance(result.get("statusCode"), int)
        assert all(f.get("code") != "internal_error" for f in posted_frames(CONNECTION)[before:])
        tally["chat events"] += 1

    one_event()


def s3_record(key: str, event_name: str, size) -> dict:
    return {"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "eu-west-1", "eventName": event_name,
            "s3": {"bucket": {"name": BUCKET}, "object": {"key": quote_plus(key, safe="/"), "size": size}}}


keys = st.one_of(st.just(KEY), st.text(min_size=1, max_size=300), st.text(max_size=40).map(lambda k: f"uploads/{k}"))
event_names = st.sampled_from(["ObjectCreated:Put", "ObjectRemoved:Delete"]) | st.text(max_size=30)
notifications = st.builds(lambda recs: json.dumps({"Records": recs}),
                          st.lists(st.builds(s3_record, keys, event_names, st.integers(-1, 10**12) | json_values),
                                   max_size=3))
bodies = st.one_of(notifications, notifications.map(lambda n: json.dumps({"Type": "Notification", "Message": n})),
                   json_values.map(json.dumps), st.text(max_size=200))


def test_fuzz_ingest_events_never_fail_the_invocation(bucket, s3, store):
    bucket.put(KEY, RUNBOOK)
    handler = handler_over(store, s3)

    @fuzzing(examples=40, deadline_ms=EVENT_BUDGET_MS)
    @given(st.lists(bodies, min_size=1, max_size=4))
    def one_event(messages):
        event = load_event("sqs-s3-batch.json")
        template = event["Records"][0]
        event["Records"] = [{**template, "messageId": f"m{i}", "body": body} for i, body in enumerate(messages)]
        result = handler(event, LambdaContext())
        assert result == {"batchItemFailures": []}  # applied, or dropped when there was nothing to apply
        tally["ingest events"] += 1

    one_event()
