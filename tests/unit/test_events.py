"""The files `sam local invoke` uses agree with template.yaml: the functions, their environment
variables and the bucket the events name."""

import json

from tests.support.lambdas import EVENTS, load_event
from tests.support.template import template


def functions() -> dict:
    return {lid: r for lid, r in template()["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}


def test_env_json_names_every_function_and_exactly_its_variables():
    env = json.loads((EVENTS / "env.json").read_text())
    shared = template()["Globals"]["Function"]["Environment"]["Variables"]
    assert set(env) == set(functions())
    for logical_id, resource in functions().items():
        own = resource["Properties"].get("Environment", {}).get("Variables", {})
        assert set(env[logical_id]) == set(shared) | set(own), logical_id


def test_sample_events_name_a_bucket_the_template_creates():
    pattern = template()["Resources"]["DocumentsBucket"]["Properties"]["BucketName"]
    expected = (pattern.replace("${StageName}", "dev").replace("${AWS::AccountId}", "123456789012")
                .replace("${AWS::Region}", "eu-west-1"))
    for name in ("s3-put.json", "s3-delete.json"):
        assert {r["s3"]["bucket"]["name"] for r in load_event(name)["Records"]} == {expected}
    bodies = [json.loads(r["body"]) for r in load_event("sqs-s3-batch.json")["Records"]]
    assert {rec["s3"]["bucket"]["name"] for b in bodies for rec in b.get("Records", [])} == {expected}
