"""`ragchat login` against a user pool under moto (made like template.yaml's), and `ragchat preflight`
against botocore Stubbers answering with the response shapes of Bedrock, API Gateway and Service
Quotas (moto emulates none of those reads)."""

import io

import boto3
import jwt
import pytest
from botocore.stub import Stubber

from ragchat.adapters.aws.preflight import Preflight
from ragchat.cli import main
from tests.support.template import resource

TEMPORARY, CHOSEN = "Temporary-Passw0rd", "My-Own-Passw0rd-2026"


@pytest.fixture
def pool(aws):
    cognito = boto3.client("cognito-idp", region_name="eu-west-1")
    pool_id = cognito.create_user_pool(PoolName="ragchat-dev")["UserPool"]["Id"]
    flows = resource("UserPoolClient")["Properties"]["ExplicitAuthFlows"]
    client_id = cognito.create_user_pool_client(UserPoolId=pool_id, ClientName="web", GenerateSecret=False,
                                                ExplicitAuthFlows=flows)["UserPoolClient"]["ClientId"]
    cognito.admin_create_user(UserPoolId=pool_id, Username="ada@example.com", TemporaryPassword=TEMPORARY)
    return cognito, pool_id, client_id


def login(client_id: str, answers: str, capsys) -> tuple[int, str, str]:
    code = main(["login", "--client-id", client_id, "--region", "eu-west-1", "--username", "ada@example.com"],
                stdin=io.StringIO(answers))
    out, err = capsys.readouterr()
    return code, out.strip(), err


def test_login_first_time_sets_a_new_password_and_prints_an_id_token(pool, capsys):
    cognito, pool_id, client_id = pool
    code, token, err = login(client_id, f"{TEMPORARY}\n{CHOSEN}\n{CHOSEN}\n", capsys)
    assert code == 0 and "First sign-in" in err
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["token_use"] == "id" and claims["aud"] == client_id
    assert cognito.admin_get_user(UserPoolId=pool_id, Username="ada@example.com")["UserStatus"] == "CONFIRMED"
    code, again, _ = login(client_id, f"{CHOSEN}\n", capsys)  # afterwards, the chosen password is enough
    assert code == 0 and jwt.decode(again, options={"verify_signature": False})["token_use"] == "id"


def test_login_with_a_wrong_password_says_so(pool, capsys):
    _, _, client_id = pool
    code, out, err = login(client_id, "not-the-password\n", capsys)
    assert (code, out) == (1, "") and "wrong user name or password" in err


def test_login_new_passwords_that_differ_are_refused(pool, capsys):
    _, _, client_id = pool
    code, out, err = login(client_id, f"{TEMPORARY}\n{CHOSEN}\nsomething-else\n", capsys)
    assert (code, out) == (1, "") and "differ" in err


def test_template_lets_login_and_refuses_self_sign_up_by_default():
    assert "ALLOW_USER_PASSWORD_AUTH" in resource("UserPoolClient")["Properties"]["ExplicitAuthFlows"]
    only_admins = resource("UserPool")["Properties"]["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"]
    assert only_admins == ["SelfSignUpAllowed", False, True]  # !If: true unless SelfSignUp=true


# -- preflight -----------------------------------------------------------------------------------
PROFILE = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
MODEL = "anthropic.claude-haiku-4-5-20251001-v1:0"
TITAN = "amazon.titan-embed-text-v2:0"


def model(model_id: str, name: str, status: str = "ACTIVE", types=("ON_DEMAND",)) -> dict:
    return {"modelDetails": {"modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{model_id}", "modelId": model_id,
                             "modelName": name, "providerName": "x", "inferenceTypesSupported": list(types),
                             "modelLifecycle": {"status": status}}}


def stubbed(bedrock_answers, role="arn:aws:iam::123456789012:role/apigw-logs", quota_values=(2000.0, 400000.0)):
    clients = [boto3.client(name, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
               for name in ("bedrock", "apigateway", "service-quotas")]
    bedrock, apigateway, quotas = (Stubber(c) for c in clients)
    for method, response in bedrock_answers:
        if isinstance(response, str):
            bedrock.add_client_error(method, service_error_code=response, http_status_code=404)
        else:
            bedrock.add_response(method, response)
    apigateway.add_response("get_account", {"cloudwatchRoleArn": role} if role else {})
    quotas.add_response("list_service_quotas", {"Quotas": [
        {"QuotaName": "On-demand model inference requests per minute for Amazon Titan Text Embeddings V2",
         "Value": quota_values[0], "QuotaCode": "L-1"},
        {"QuotaName": "Cross-region model inference tokens per minute for Anthropic Claude Haiku 4.5",
         "Value": quota_values[1], "QuotaCode": "L-2"}]})
    for stub in (bedrock, apigateway, quotas):
        stub.activate()
    return Preflight(*clients, region="us-east-1")


AVAILABLE = {"modelId": MODEL, "agreementAvailability": {"status": "AVAILABLE"}, "authorizationStatus": "AUTHORIZED",
             "entitlementAvailability": "AVAILABLE", "regionAvailability": "AVAILABLE"}
PROFILE_ANSWER = {"inferenceProfileName": "US Claude Haiku 4.5", "inferenceProfileId": PROFILE, "status": "ACTIVE",
                  "type": "SYSTEM_DEFINED", "inferenceProfileArn": f"arn:aws:bedrock:us-east-1:123456789012:"
                  f"inference-profile/{PROFILE}",
                  "models": [{"modelArn": f"arn:aws:bedrock:{region}::foundation-model/{MODEL}"}
                             for region in ("us-east-1", "us-west-2")]}


def test_preflight_passes_a_current_profile_with_access_and_a_logging_role():
    checks = stubbed([("get_foundation_model", model(TITAN, "Titan Text Embeddings V2")),
                      ("get_inference_profile", PROFILE_ANSWER),
                      ("get_foundation_model", model(MODEL, "Claude Haiku 4.5", types=("INFERENCE_PROFILE",))),
                      ("get_foundation_model_availability", AVAILABLE)]).run(PROFILE, TITAN)
    assert [c.status for c in checks] == ["ok"] * 7, checks
    assert "us-east-1, us-west-2" in checks[1].found


def test_preflight_finds_an_end_of_life_model_a_profile_only_model_no_access_no_role_and_a_zero_quota():
    old = "anthropic.claude-3-5-haiku-20241022-v1:0"
    checks = stubbed([("get_foundation_model", model(TITAN, "Titan Text Embeddings V2")),
                      ("get_foundation_model", model(old, "Claude 3.5 Haiku", status="LEGACY")),
                      ("get_foundation_model_availability", {**AVAILABLE, "modelId": old,
                                                             "authorizationStatus": "NOT_AUTHORIZED"})],
                     role=None, quota_values=(0.0, 1000.0)).run(old, TITAN)
    by_name = {c.name: c for c in checks}
    assert by_name[f"chat model {old}"].status == "fail" and "LEGACY" in by_name[f"chat model {old}"].found
    access = by_name[f"access to {old}"]
    assert access.status == "fail" and "aws-marketplace:Subscribe" in access.fix
    assert by_name["API Gateway CloudWatch Logs role"].status == "warn"
    assert by_name["quota: embedding requests per minute"].status == "fail"


def test_preflight_tells_to_use_a_profile_for_a_model_not_callable_on_demand():
    checks = stubbed([("get_foundation_model", model(TITAN, "Titan Text Embeddings V2")),
                      ("get_foundation_model", model(MODEL, "Claude Haiku 4.5", types=("INFERENCE_PROFILE",))),
                      ("get_foundation_model_availability", AVAILABLE)]).run(MODEL, TITAN)
    chat = next(c for c in checks if c.name == f"chat model {MODEL}")
    assert chat.status == "fail" and f"us.{MODEL}" in chat.fix
