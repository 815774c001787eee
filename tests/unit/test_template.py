"""Properties of template.yaml that matter for security and for the tool loop (cfn-lint checks the rest)."""

import json
import re

import pytest

from tests.support.template import template as load_template


@pytest.fixture(scope="module")
def template():
    return load_template()


def test_template_chat_role_only_reads_the_vector_collection(template):
    policy_text, _ = template["Resources"]["ChunksAccessPolicy"]["Properties"]["Policy"]
    policies = json.loads(re.sub(r"\$\{[^}]+\}", lambda m: m.group(0)[2:-1], policy_text))
    by_principal = {p: [perm for rule in policy["Rules"] for perm in rule.get("Permission", [])]
                    for policy in policies for p in policy["Principal"]}
    assert sorted(by_principal["ChatRole"]) == ["aoss:DescribeIndex", "aoss:ReadDocument"]
    assert "aoss:WriteDocument" in by_principal["IngestRole"] and "aoss:WriteDocument" in by_principal["ApiRole"]


def test_template_chat_tools_are_a_parameter_within_the_function_timeout(template):
    assert template["Parameters"]["ChatTools"]["AllowedValues"] == ["auto", "off"]
    chat = template["Resources"]["ChatFunction"]["Properties"]
    assert chat["Environment"]["Variables"]["RAGCHAT_TOOLS"] == "ChatTools"
    assert float(chat["Environment"]["Variables"]["RAGCHAT_TOOL_MAX_SECONDS"]) < chat["Timeout"]


def test_template_and_settings_name_the_same_default_models(template):
    """One default chat model everywhere: a retired default in one place is an answer that fails."""
    from ragchat.config import Settings

    defaults = Settings()
    assert template["Parameters"]["ChatModelId"]["Default"] == defaults.bedrock_model_id
    assert template["Parameters"]["EmbeddingModelId"]["Default"] == defaults.bedrock_embedding_model
    assert float(template["Parameters"]["FusionDenseWeight"]["Default"]) == defaults.fusion_dense_weight


def test_template_public_chat_is_off_by_default_and_needs_its_sites(template):
    assert template["Parameters"]["PublicChat"]["Default"] == "false"
    rule = template["Rules"]["PublicChatNamesItsSites"]
    assert rule["Assertions"][0]["Assert"] == [["AllowedOrigins", ""]]  # !Not [!Equals [...]] read as plain data
    env = template["Resources"]["AuthorizerFunction"]["Properties"]["Environment"]["Variables"]
    assert (env["RAGCHAT_PUBLIC_CHAT"], env["RAGCHAT_ALLOWED_ORIGINS"]) == ("PublicChat", "AllowedOrigins")


def test_template_every_quota_is_a_parameter_the_chat_function_reads(template):
    from ragchat.config import PREFIX, Settings

    variables = template["Resources"]["ChatFunction"]["Properties"]["Environment"]["Variables"]
    quotas = [name for name in vars(Settings()) if name.endswith(("_per_minute", "_per_day", "_budget"))]
    assert len(quotas) == 9
    for name in quotas:
        parameter = variables[PREFIX + name.upper()]
        assert template["Parameters"][parameter]["Default"] == getattr(Settings(), name)  # one default, twice said


def test_template_chat_function_only_counts_on_the_quotas_table_and_is_bounded(template):
    chat = template["Resources"]["ChatFunction"]["Properties"]
    statements = [s for p in chat["Policies"] if "Statement" in p for s in p["Statement"] if isinstance(s, dict)]
    on_quotas = [s for s in statements if s.get("Resource") == "QuotasTable.Arn"]
    assert [sorted(s["Action"]) for s in on_quotas] == [["dynamodb:GetItem", "dynamodb:UpdateItem"]]
    assert chat["ReservedConcurrentExecutions"] == ["ReserveChatConcurrency", "ChatConcurrency", "AWS::NoValue"]
    table = template["Resources"]["QuotasTable"]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_template_stage_throttles_each_route_below_its_default(template):
    stage = template["Resources"]["ChatStage"]["Properties"]
    routes = {r["Properties"]["RouteKey"] for r in template["Resources"].values()
              if r["Type"] == "AWS::ApiGatewayV2::Route"}
    assert set(stage["RouteSettings"]) == routes
    default = stage["DefaultRouteSettings"]["ThrottlingRateLimit"]
    assert all(s["ThrottlingRateLimit"] <= default for s in stage["RouteSettings"].values())


def test_template_serves_the_widget_without_a_token_and_nothing_else_opens(template):
    events = template["Resources"]["ApiFunction"]["Properties"]["Events"]
    open_routes = sorted(e["Properties"]["Path"] for e in events.values()
                         if e["Properties"].get("Auth", {}).get("Authorizer") == "NONE")
    assert open_routes == ["/api/health", "/widget.js"]
