"""The built stack, standing up on one machine: what `sam build` produced, run as Lambda runs it,
against stand-ins for every service it calls, all wired by reading template.yaml.

- S3, SQS, DynamoDB (and the Cognito names): moto in server mode, over HTTP, so the functions'
  own botocore clients reach it (AWS_ENDPOINT_URL_<SERVICE>). Tables, queues (with the redrive
  policy) and the bucket (versioning, CORS) are made from the template's own properties.
- S3's notifications: moto sends none for delete markers and leaves out sequencers and version
  ids, so the rehearsal makes each change through moto and sends the notification real S3 would
  send itself (tests/support/s3_events.py), to the queue the bucket's NotificationConfiguration
  names, for the events it subscribes.
- OpenSearch Serverless and Bedrock: the project's FAKES behind real HTTP, enforcing a search
  visibility delay, no custom ids, the 10,000-hit window, SigV4 for `aoss`, served model ids.
- Lambda and API Gateway: tests/rehearsal/lambda_service.py and apigateway.py.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import boto3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.fake_opensearch import FakeOpenSearchEngine
from tests.rehearsal.apigateway import ApiGateway, Issuer
from tests.rehearsal.fake_bedrock import FakeBedrock
from tests.rehearsal.fake_opensearch_http import app_for
from tests.rehearsal.lambda_service import BOOTSTRAP, Function, LambdaService
from tests.rehearsal.template import ACCOUNT, REGION, ResolvedTemplate
from tests.support.s3_events import S3Changes
from tests.support.servers import running

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / ".aws-sam" / "build"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "rehearsal", "AWS_SECRET_ACCESS_KEY": "rehearsal", "AWS_REGION": REGION,
               "AWS_DEFAULT_REGION": REGION}
# An SDK like the runtime's own (older than the layer's, which must win on the import path).
RUNTIME_SDK = "boto3==1.40.70"


def python312() -> str:
    """The functions' runtime. A pyenv shim on PATH may name a version that is not installed, so each
    candidate must actually run."""
    candidates = [os.environ.get("RAGCHAT_PYTHON312", ""),
                  *sorted(str(p) for p in Path("/root/.pyenv/versions").glob("3.12*/bin/python3.12")),
                  shutil.which("python3.12") or ""]
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "import sys; assert sys.version_info[:2] == (3, 12)"],
                               capture_output=True, check=False)
        if probe.returncode == 0:
            return candidate
    raise RuntimeError("the rehearsal needs Python 3.12 (the functions' runtime): set RAGCHAT_PYTHON312")


def stale_sources(resolved: ResolvedTemplate) -> Path | None:
    """A source file the build does not hold as it is now, if any: rehearsing an old build proves nothing."""
    built = {logical_id: BUILD / logical_id for logical_id in resolved.of_type("AWS::Serverless::Function")}
    sources = {logical_id: resolved.function(logical_id)["CodeUri"] for logical_id in built}
    for logical_id in resolved.of_type("AWS::Serverless::LayerVersion"):
        built[logical_id] = BUILD / logical_id / "python"
        sources[logical_id] = resolved.resources[logical_id]["Properties"]["ContentUri"]
    for logical_id, source in sources.items():
        for path in (ROOT / source).rglob("*.py"):
            copy = built[logical_id] / path.relative_to(ROOT / source)
            if not copy.is_file() or copy.read_bytes() != path.read_bytes():
                return path
    return None


def runtime_sdk(python: str, cache: Path) -> Path:
    """A folder with the SDK standing in for the runtime's, installed once."""
    target = cache / "runtime-sdk"
    if not (target / "boto3").is_dir():
        subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-compile", "--target", str(target),
                        RUNTIME_SDK],
                       check=True)
    return target


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1, so the Management API is HTTPS as API Gateway's is."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class Stack:
    """Everything running; `with Stack.up(...) as stack:` stops it all afterwards."""

    @classmethod
    @contextlib.contextmanager
    def up(cls, visibility_delay: float = 5.0, sweep_after_s: float = 20.0, cache: Path | None = None,
           parameters: dict | None = None):
        """`parameters`: the deploy's parameter values, where they differ from the template's defaults."""
        from moto.server import ThreadedMotoServer

        if not (BUILD / "template.yaml").is_file():
            raise RuntimeError(f"{BUILD} has no build: run `make infra` (sam build) first")
        if stale := stale_sources(ResolvedTemplate()):
            raise RuntimeError(f"the build does not hold {stale} as it is: run `make infra` (sam build) again")
        python = python312()
        cache = cache or ROOT / ".rehearsal"
        cache.mkdir(exist_ok=True)
        sdk = runtime_sdk(python, cache)
        import logging

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto server's access log
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        moto.start()
        with tempfile.TemporaryDirectory(prefix="rehearsal-") as scratch, contextlib.ExitStack() as stack:
            try:
                yield cls(moto, python, sdk, Path(scratch), visibility_delay, sweep_after_s, stack, parameters or {})
            finally:
                stack.close()
                moto.stop()

    def __init__(self, moto, python: str, sdk: Path, scratch: Path, visibility_delay: float, sweep_after_s: float,
                 stack: contextlib.ExitStack, parameters: dict):
        self.parameters = parameters
        host, port = moto.get_host_and_port()
        self.moto_url = f"http://{host}:{port}"
        os.environ.update(CREDENTIALS)  # the rehearsal's own clients reach moto with the same fake credentials
        self.clients = {name: boto3.client(name, region_name=REGION, endpoint_url=self.moto_url)
                        for name in ("s3", "sqs", "dynamodb", "cognito-idp")}
        self.engine = FakeOpenSearchEngine(visibility_delay=visibility_delay, index_ready_delay=1.0)
        self.opensearch_url = "http://" + stack.enter_context(running(app_for(self.engine)))
        self.logs = scratch / "logs"
        self.logs.mkdir()

        raw = ResolvedTemplate().raw
        parameters = {name: spec.get("Default") for name, spec in raw["Parameters"].items()}
        self.bedrock = FakeBedrock(parameters["ChatModelId"], parameters["EmbeddingModelId"])
        bedrock_url = "http://" + stack.enter_context(running(self.bedrock.app()))
        self.resolved = ResolvedTemplate(self._make_resources(raw), self.parameters)

        self.lambdas = LambdaService({})
        lambda_url = "http://" + stack.enter_context(running(self.lambdas.app()))
        client_id = self.resolved.ref("UserPoolClient")
        self.issuer = Issuer(client_id)
        self.api = ApiGateway(self.resolved, self.lambdas, self.issuer, stage=self.resolved.ref("StageName"))
        cert, key = self_signed(scratch)
        gateway = stack.enter_context(running(self.api.app(), ssl_certfile=str(cert), ssl_keyfile=str(key)))
        self.api.domain = gateway
        self.issuer.url = f"https://{gateway}"
        self.python, self.sdk, self.overrides = python, sdk, {
            # the self-signed gateway is trusted by the SDK (AWS_CA_BUNDLE) and by the JWKS fetch (OpenSSL's
            # SSL_CERT_FILE), as the real ones are through the runtime's public CA store
            **CREDENTIALS, "AWS_CA_BUNDLE": str(cert), "SSL_CERT_FILE": str(cert), "POWERTOOLS_TRACE_DISABLED": "true",
            "AWS_ENDPOINT_URL_S3": self.moto_url, "AWS_ENDPOINT_URL_SQS": self.moto_url,
            "AWS_ENDPOINT_URL_DYNAMODB": self.moto_url, "AWS_ENDPOINT_URL_LAMBDA": lambda_url,
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": bedrock_url, "RAGCHAT_TOKEN_ISSUER": self.issuer.url,
            "RAGCHAT_SWEEP_AFTER_SECONDS": str(sweep_after_s),
        }
        for logical_id in self.resolved.of_type("AWS::Serverless::Function"):
            self.lambdas.functions[logical_id] = self.function_like(
                logical_id, BUILD / logical_id, self.resolved.function(logical_id)["Handler"])
        self.lambdas.by_name = {f.name: f for f in self.lambdas.functions.values()}
        stack.callback(self.lambdas.close)
        self._event_sources()
        self.bucket = self._bucket()

    # -- resources, from the template's own definitions ----------------------------------------
    def _make_resources(self, raw: dict) -> dict[str, dict]:
        first = ResolvedTemplate(parameters=self.parameters)  # parameters and pseudo parameters only, for names
        attributes: dict[str, dict] = {}
        for logical_id, resource in raw["Resources"].items():
            kind, properties = resource["Type"], resource.get("Properties", {})
            if kind in ("AWS::ApiGatewayV2::Integration", "AWS::ApiGatewayV2::Authorizer", "AWS::ApiGatewayV2::Api"):
                attributes[logical_id] = {"Ref": logical_id}
            elif kind == "AWS::DynamoDB::Table":
                name = first.value(properties["TableName"])
                self.clients["dynamodb"].create_table(
                    TableName=name, BillingMode=properties["BillingMode"],
                    AttributeDefinitions=properties["AttributeDefinitions"], KeySchema=properties["KeySchema"])
                attributes[logical_id] = {"Ref": name, "Arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"}
        for logical_id, resource in raw["Resources"].items():  # queues after tables; dead-letter queues first
            if resource["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" not in resource.get("Properties", {}):
                attributes[logical_id] = self._queue(first, resource["Properties"], attributes)
        for logical_id, resource in raw["Resources"].items():
            if resource["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in resource["Properties"]:
                attributes[logical_id] = self._queue(first, resource["Properties"], attributes)
        attributes["ChunksCollection"] = {"CollectionEndpoint": self.opensearch_url,
                                          "Arn": f"arn:aws:aoss:{REGION}:{ACCOUNT}:collection/rehearsal"}
        attributes["UserPool"] = {"Ref": f"{REGION}_rehearsal"}
        attributes["UserPoolClient"] = {"Ref": "rehearsal-app-client"}
        for logical_id, resource in raw["Resources"].items():
            if resource["Type"] == "AWS::Serverless::Function":
                name = first.value(resource["Properties"]["FunctionName"])
                attributes[logical_id] = {"Ref": name, "Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"}
        return attributes

    def _queue(self, first: ResolvedTemplate, properties: dict, attributes: dict) -> dict:
        name = first.value(properties["QueueName"])
        queue_attributes = {"VisibilityTimeout": str(properties.get("VisibilityTimeout", 30))}
        if "RedrivePolicy" in properties:
            policy = ResolvedTemplate(attributes).value(properties["RedrivePolicy"])
            queue_attributes["RedrivePolicy"] = __import__("json").dumps(policy)
        url = self.clients["sqs"].create_queue(QueueName=name, Attributes=queue_attributes)["QueueUrl"]
        return {"Ref": url, "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}", "QueueName": name}

    def function_like(self, logical_id: str, task: Path, handler: str, **env: str) -> Function:
        """A function deployed as `logical_id` is (its layer, environment, memory and timeout) whose
        code is `task` and `handler`: the function itself, or another handler beside it."""
        properties = self.resolved.function(logical_id)
        layers = [layer["Ref"] for layer in properties.get("Layers", [])]
        if len(layers) != 1 or not (BUILD / layers[0] / "python").is_dir():
            built = sorted(p.name for p in BUILD.iterdir())
            raise AssertionError(f"{logical_id} names layers {layers}; the build has {built}")
        variables = {"PATH": os.environ["PATH"], **self.resolved.environment(logical_id), **self.overrides,
                     "AWS_LAMBDA_FUNCTION_NAME": self.resolved.ref(logical_id),
                     "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(properties.get("MemorySize", 128)), "LANG": "C.UTF-8",
                     **env}
        command = [self.python, "-I", "-S", str(BOOTSTRAP), str(task), str(BUILD / layers[0] / "python"),
                   str(self.sdk), handler, str(properties.get("Timeout", 3))]
        return Function(logical_id, self.resolved.ref(logical_id), command, variables,
                        float(properties.get("Timeout", 3)), self.logs / f"{logical_id}.log",
                        max_concurrency=int(self.resolved.value(properties.get("ReservedConcurrentExecutions", 10))),
                        invoke_config=self.resolved.value(properties.get("EventInvokeConfig", {})))

    def _event_sources(self) -> None:
        for logical_id, resource in self.resolved.of_type("AWS::Serverless::Function").items():
            for spec in resource["Properties"].get("Events", {}).values():
                if spec["Type"] != "SQS":
                    continue
                source = self.resolved.value(spec["Properties"])
                queue = next(a for a in self.resolved.attributes.values() if a.get("Arn") == source["Queue"])
                self.lambdas.poll_queue(self.clients["sqs"], queue["Ref"], queue["Arn"],
                                        self.lambdas.functions[logical_id], int(source.get("BatchSize", 10)),
                                        "ReportBatchItemFailures" in source.get("FunctionResponseTypes", []))

    def _bucket(self) -> Notifier:
        resource = next(iter(self.resolved.of_type("AWS::S3::Bucket").values()))["Properties"]
        name = self.resolved.value(resource["BucketName"])
        versioned = resource.get("VersioningConfiguration", {}).get("Status") == "Enabled"
        changes = S3Changes(self.clients["s3"], name, versioned=versioned, region=REGION)
        rules = resource.get("CorsConfiguration", {}).get("CorsRules", [])
        if rules:
            renamed = {"MaxAge": "MaxAgeSeconds", "ExposedHeaders": "ExposeHeaders", "Id": "ID"}
            self.clients["s3"].put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": [
                {renamed.get(k, k): v for k, v in rule.items()} for rule in rules]})
        targets = [(self.resolved.value(c["Event"]), self.resolved.value(c["Queue"]))
                   for c in resource["NotificationConfiguration"]["QueueConfigurations"]]
        return Notifier(changes, self.clients["sqs"], targets, self.resolved.attributes)

    def close_logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-4000:]}" for p in sorted(self.logs.glob("*.log")))


class Notifier:
    """Changes to the bucket, each followed by the notification S3 sends to the queues the bucket's
    NotificationConfiguration names for that kind of event."""

    def __init__(self, changes: S3Changes, sqs, targets: list[tuple[str, str]], attributes: dict):
        self.changes, self.sqs = changes, sqs
        self.targets = [(event, next(a["Ref"] for a in attributes.values() if a.get("Arn") == arn))
                        for event, arn in targets]
        self.name = changes.bucket

    def send(self, record: dict) -> dict:
        """Deliver a notification record (again, or late: a record already sent may be sent anew)."""
        import fnmatch
        import json

        kind = f"s3:{record['eventName']}"
        for pattern, queue_url in self.targets:
            if fnmatch.fnmatchcase(kind, pattern):
                self.sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"Records": [record]}))
        return record

    def send_together(self, records: list[dict]) -> None:
        """Deliver notifications at once, so one receive of the queue may take them as one batch."""
        import json

        for _, queue_url in self.targets[:1]:
            self.sqs.send_message_batch(QueueUrl=queue_url, Entries=[
                {"Id": str(n), "MessageBody": json.dumps({"Records": [r]})} for n, r in enumerate(records)])

    def put(self, key: str, body: bytes, notify: bool = True) -> dict:
        record = self.changes.put(key, body)
        return self.send(record) if notify else record

    def delete(self, key: str, notify: bool = True) -> dict:
        record = self.changes.delete(key)
        return self.send(record) if notify else record

    def delete_version(self, key: str, version: str, notify: bool = True) -> dict:
        record = self.changes.delete_version(key, version)
        return self.send(record) if notify else record


if __name__ == "__main__":
    sys.exit("run the rehearsal with `make rehearse`")
