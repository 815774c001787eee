"""What each way of reaching a Bedrock model costs a fresh process before its first request:

  boto3      ragchat's BedrockConverseGenerator (boto3 ConverseStream), client created
  langchain  `import ragchat.integrations.langchain` alone (langchain_core, pydantic models)
  langchain  LangChainGenerator around langchain-aws's ChatBedrockConverse, clients created
  + Bedrock

Each case is a fresh Python process with the Lambda environment of benchmarks/cold_start.py; it
times its own imports and construction (perf_counter) and the whole process is timed too. No
request is sent.

    python benchmarks/generator_import.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from cold_start import ENVIRONMENT

ROOT = Path(__file__).resolve().parents[1]
MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
CASES = {
    "boto3 (BedrockConverseGenerator)":
        f"from ragchat.adapters.aws.bedrock import BedrockConverseGenerator\nBedrockConverseGenerator({MODEL!r})",
    "import ragchat.integrations.langchain": "import ragchat.integrations.langchain",
    "LangChain (LangChainGenerator + ChatBedrockConverse)":
        "from langchain_aws import ChatBedrockConverse\n"
        "from ragchat.integrations.langchain import LangChainGenerator\n"
        f"LangChainGenerator(ChatBedrockConverse(model={MODEL!r}))",
}
TIMED = "import time\nstarted = time.perf_counter()\n{code}\nprint((time.perf_counter() - started) * 1000)\n"


def run(code: str) -> tuple[float, float]:
    """(ms inside the process for `code`, ms of the whole process)."""
    env = {**os.environ, **ENVIRONMENT, "PYTHONPATH": str(ROOT / "layers" / "ragchat")}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", TIMED.format(code=code)], check=True, env=env, capture_output=True,
                          text=True)
    return float(done.stdout.strip().splitlines()[-1]), (time.perf_counter() - started) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    run("pass")  # warm the file cache
    print("| path | import + construct ms | whole process ms |\n|---|---|---|")
    for name, code in CASES.items():
        samples = [run(code) for _ in range(args.runs)]
        inside, whole = (statistics.median(s[i] for s in samples) for i in (0, 1))
        print(f"| {name} | {inside:.0f} | {whole:.0f} |")
    print(f"(median of {args.runs} fresh processes each; {sys.executable})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
