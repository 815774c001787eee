"""What would block a deploy or a first answer, found with read-only calls: `ragchat preflight`.

Each check names what it looked at, what it found, and the fix. Sources for what is checked are in
docs/aws.md: Bedrock's model lifecycle (GetFoundationModel's `modelLifecycle`), models that need an
inference profile (no ON_DEMAND in `inferenceTypesSupported`), third-party model access (the
Marketplace subscription made on first invocation, GetFoundationModelAvailability), the account's
API Gateway CloudWatch Logs role (GetAccount), and the quotas that stop an ingest or an answer.
"""

from __future__ import annotations

from dataclasses import dataclass

PROFILE_PREFIXES = ("us.", "eu.", "apac.", "global.", "jp.", "au.", "ca.", "us-gov.")


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # "ok", "warn" or "fail"
    found: str
    fix: str = ""


def _code(error: Exception) -> str:
    return getattr(error, "response", {}).get("Error", {}).get("Code", type(error).__name__)


def _base_model(model_id: str) -> str:
    return model_id.split(".", 1)[1] if model_id.startswith(PROFILE_PREFIXES) else model_id


class Preflight:
    def __init__(self, bedrock, apigateway, quotas, region: str):
        self.bedrock, self.apigateway, self.quotas, self.region = bedrock, apigateway, quotas, region

    def run(self, chat_model: str, embedding_model: str) -> list[Check]:
        embedding, embedding_name = self._lifecycle("embedding model", embedding_model, needs_on_demand=True)
        checks = [embedding]
        if chat_model.startswith(PROFILE_PREFIXES):
            checks.append(self._profile(chat_model))
        chat, chat_name = self._lifecycle("chat model", _base_model(chat_model),
                                          needs_on_demand=not chat_model.startswith(PROFILE_PREFIXES))
        checks += [chat, self._access(_base_model(chat_model)), self._logging_role()]
        checks += self._quotas([("embedding requests per minute", embedding_name, "requests per minute"),
                                ("chat tokens per minute", chat_name, "tokens per minute")])
        return checks

    def _lifecycle(self, what: str, model_id: str, needs_on_demand: bool) -> tuple[Check, str]:
        """The model's lifecycle check, and its display name (quotas are named after it)."""
        name = f"{what} {model_id}"
        try:
            details = self.bedrock.get_foundation_model(modelIdentifier=model_id)["modelDetails"]
        except Exception as error:
            return Check(name, "fail", f"not found in {self.region} ({_code(error)})",
                         "choose a model offered in this region (aws bedrock list-foundation-models)"), ""
        display = details.get("modelName", "")
        lifecycle = details.get("modelLifecycle", {}).get("status", "ACTIVE")
        if lifecycle != "ACTIVE":
            return Check(name, "fail", f"lifecycle {lifecycle}: new accounts cannot use it, and it reaches end of life",
                         "choose an ACTIVE model (see the model's card and 'Model lifecycle' in the Bedrock guide)"
                         ), display
        if needs_on_demand and "ON_DEMAND" not in details.get("inferenceTypesSupported", []):
            return Check(name, "fail", "not callable on demand in this region: only through an inference profile",
                         f"use its inference profile id, e.g. us.{model_id} or global.{model_id}"), display
        return Check(name, "ok", "ACTIVE"), display

    def _profile(self, profile_id: str) -> Check:
        name = f"inference profile {profile_id}"
        try:
            profile = self.bedrock.get_inference_profile(inferenceProfileIdentifier=profile_id)
        except Exception as error:
            return Check(name, "fail", f"not available in {self.region} ({_code(error)})",
                         "use a profile this region offers (aws bedrock list-inference-profiles)")
        regions = sorted({m["modelArn"].split(":")[3] or "any" for m in profile.get("models", [])})
        if profile.get("status") != "ACTIVE":
            return Check(name, "fail", f"status {profile.get('status')}", "choose an ACTIVE profile")
        return Check(name, "ok", f"ACTIVE, routes to {', '.join(regions)} (the chat role allows each)")

    def _access(self, model_id: str) -> Check:
        name = f"access to {model_id}"
        try:
            availability = self.bedrock.get_foundation_model_availability(modelId=model_id)
        except Exception as error:
            return Check(name, "warn", f"could not be checked ({_code(error)})",
                         "invoke the model once from the console as an administrator")
        agreement = availability.get("agreementAvailability", {}).get("status")
        authorized = availability.get("authorizationStatus")
        if agreement == "AVAILABLE" and authorized == "AUTHORIZED":
            return Check(name, "ok", "subscribed and authorized")
        return Check(name, "fail", f"agreement {agreement}, authorization {authorized}",
                     "invoke the model once as a principal allowed aws-marketplace:Subscribe (and, for Anthropic "
                     "models, submit the first-time use case form in the Bedrock console); the chat role "
                     "cannot subscribe")

    def _logging_role(self) -> Check:
        name = "API Gateway CloudWatch Logs role"
        try:
            role = self.apigateway.get_account().get("cloudwatchRoleArn")
        except Exception as error:
            return Check(name, "warn", f"could not be read ({_code(error)})")
        if role:
            return Check(name, "ok", f"set ({role.split('/')[-1]})",
                         "deploy with ApiGatewayLoggingRole=existing to keep it as it is")
        return Check(name, "warn", "not set in this account and region",
                     "deploy with ApiGatewayLoggingRole=create (the default) or the WebSocket stage cannot log")

    def _quotas(self, wanted: list[tuple[str, str, str]]) -> list[Check]:
        """For each (label, model name, unit): the lowest quota named after the model in that unit.
        Quota codes change; names carry the model's display name ("Quotas for the bedrock-runtime
        endpoint"), so they are matched by name. Some new accounts get 0: then nothing works."""
        try:
            pages = self.quotas.get_paginator("list_service_quotas").paginate(ServiceCode="bedrock")
            quotas = [q for page in pages for q in page.get("Quotas", [])]
        except Exception as error:
            return [Check("Bedrock quotas", "warn", f"could not be read ({_code(error)})")]
        checks = []
        for label, model_name, unit in wanted:
            matching = [q for q in quotas if model_name and model_name.lower() in q["QuotaName"].lower()
                        and unit in q["QuotaName"].lower()]
            if not matching:
                checks.append(Check(f"quota: {label}", "warn", f"none named after {model_name or 'the model'}"))
                continue
            lowest = min(matching, key=lambda q: q.get("Value", 0))
            status = "ok" if lowest.get("Value") else "fail"
            checks.append(Check(f"quota: {label}", status, f"{lowest['QuotaName']} = {lowest.get('Value')}",
                                "" if status == "ok" else "request an increase in Service Quotas"))
        return checks
