"""The shape of the code, checked on its syntax trees: the core knows no AWS or HTTP, only config.py
reads the environment, each Lambda handler is decorators around one call, and LangChain stays in
its optional integration, off every Lambda function's path."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "ragchat" / "ragchat"
CORE = ["ingest", "retrieval", "chat", "tools", "evaluation", "domain.py", "ports.py", "errors.py", "access.py",
        "text.py", "documents.py", "uploads.py", "origins.py"]
LANGCHAIN = {"langchain", "langchain_core", "langchain_aws", "langsmith"}
EDGE_LIBRARIES = {"boto3", "botocore", "fastapi", "starlette", "mangum", "aws_lambda_powertools", "opensearchpy",
                  "uvicorn", "httpx", "jwt", "websockets", "watchfiles", *LANGCHAIN}
OUTER_RAGCHAT = {"ragchat.adapters", "ragchat.server", "ragchat.aws_lambda", "ragchat.bootstrap", "ragchat.config",
                 "ragchat.cli", "ragchat.integrations"}


def modules(*parts: str) -> list[Path]:
    found = []
    for part in parts:
        path = PACKAGE / part
        found += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return found


def imported_names(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", modules(*CORE), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_module_imports_no_edge_library_and_nothing_outside_the_core(path):
    names = imported_names(path)
    assert not [n for n in names if n.split(".")[0] in EDGE_LIBRARIES]
    assert not [n for n in names if any(n == outer or n.startswith(outer + ".") for outer in OUTER_RAGCHAT)]


def environment_reads(path: Path) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        reads_attribute = isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb")
        imports_name = isinstance(node, ast.ImportFrom) and node.module == "os" and any(
            alias.name in ("environ", "getenv") for alias in node.names)
        if reads_attribute or imports_name:
            lines.append(node.lineno)
    return lines


def test_only_config_reads_the_environment():
    readers = {str(p.relative_to(ROOT)): environment_reads(p)
               for p in [*PACKAGE.rglob("*.py"), *(ROOT / "functions").rglob("*.py")]}
    assert {path: lines for path, lines in readers.items() if lines} == {
        "layers/ragchat/ragchat/config.py": readers["layers/ragchat/ragchat/config.py"]}
    assert readers["layers/ragchat/ragchat/config.py"]  # the one reader reads


@pytest.mark.parametrize("function", sorted(p.name for p in (ROOT / "functions").iterdir() if p.is_dir()))
def test_lambda_handler_is_decorators_around_one_call(function):
    tree = ast.parse((ROOT / "functions" / function / "app.py").read_text())
    (make,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "make_handler"]
    (handler,) = [n for n in make.body if isinstance(n, ast.FunctionDef)]
    assert len(handler.decorator_list) >= 3  # Logger, Tracer and Metrics at least
    (statement,) = handler.body
    assert isinstance(statement, ast.Return) and isinstance(statement.value, ast.Call)
    calls = [n for n in ast.walk(statement.value) if isinstance(n, ast.Call)]
    assert len(calls) == 2  # runtime(), then its one method


def imports_of(path: Path) -> list[tuple[str, bool]]:
    """(module, imported at the module's top level) of every absolute import in a file."""
    tree = ast.parse(path.read_text())
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.module, id(node) in top))
    return found


def test_langchain_is_imported_only_by_its_integration_and_only_lazily_by_bootstrap():
    integration = PACKAGE / "integrations"
    outside = [p for p in [*PACKAGE.rglob("*.py"), *(ROOT / "functions").rglob("*.py")]
               if integration not in p.parents]
    langchain = {str(p.relative_to(ROOT)): names for p in outside
                 if (names := [n for n, _ in imports_of(p) if n.split(".")[0] in LANGCHAIN])}
    assert langchain == {}
    importers = {str(p.relative_to(ROOT)): [top for n, top in imports_of(p) if n.startswith("ragchat.integrations")]
                 for p in outside}
    assert {path: tops for path, tops in importers.items() if tops} == {
        "layers/ragchat/ragchat/bootstrap.py": [False]}  # inside build_generator, never at import


LAMBDA_ENVIRONMENT = {  # as in a deployed function (benchmarks/cold_start.py): Tracer on, the AWS adapter set
    "AWS_LAMBDA_FUNCTION_NAME": "ragchat-test", "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "RAGCHAT_BACKEND": "aws",
    "RAGCHAT_GENERATOR": "bedrock"}
LOAD_HANDLERS = """
import importlib.util, json, sys
for path in sys.argv[1:]:
    spec = importlib.util.spec_from_file_location("app_" + str(len(sys.modules)), path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
print(json.dumps(sorted(sys.modules)))
"""


def test_lambda_handlers_load_no_langchain():
    apps = sorted(str(p) for p in (ROOT / "functions").glob("*/app.py"))
    done = subprocess.run([sys.executable, "-c", LOAD_HANDLERS, *apps], capture_output=True, text=True, check=True,
                          env={**os.environ, **LAMBDA_ENVIRONMENT})
    loaded = json.loads(done.stdout)
    assert "ragchat.bootstrap" in loaded and "aws_lambda_powertools" in loaded  # the handlers really loaded
    assert [m for m in loaded if m.split(".")[0] in LANGCHAIN or m.startswith("ragchat.integrations")] == []
