"""The `ragchat` command: ingest, search, documents, ask, serve, eval retrieval; and for a
deployment on AWS, preflight (what would block it) and login (an ID token for the page)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from dataclasses import asdict, replace
from pathlib import Path

from ragchat.config import Settings
from ragchat.domain import Filters, IngestReport, SourceObject
from ragchat.errors import ConfigurationError, RagchatError


class _Bar:
    """tqdm progress on stderr (silent when stderr is not a terminal)."""

    def __init__(self, description: str):
        self.description = description
        self.bar = None

    def started(self, total: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc=self.description, unit="file", disable=None, file=sys.stderr)

    def advanced(self, obj: SourceObject | None, outcome: str) -> None:
        if self.bar is not None and outcome != "removed":
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(data_dir=args.data)


def _core(args: argparse.Namespace, settings: Settings | None = None):
    from ragchat.bootstrap import build_core

    return build_core(settings or _settings(args), embedder=args.embedder)


def _print_report(report: IngestReport, total_chunks: int) -> None:
    print(f"Files: {report.seen} seen, {report.added} added, {report.updated} updated, "
          f"{report.unchanged} unchanged, {report.removed} removed, {len(report.rejected)} skipped, "
          f"{len(report.failed)} failed ({report.seconds:.1f} s)")
    print(f"Chunks: {report.chunks_written} written, {report.chunks_deleted} deleted, {total_chunks} in the store")
    for heading, problems in (("Skipped", report.rejected), ("Failed (run again to retry)", report.failed)):
        if problems:
            print(f"{heading}:")
            for path, reason in problems:
                print(f"  {path}: {reason}")


def cmd_ingest(args: argparse.Namespace) -> int:
    from ragchat.adapters.local.folder import FolderSource

    core = _core(args)
    total = IngestReport()
    for raw in args.paths:
        path = Path(raw)
        bar = _Bar(str(path))
        try:
            if path.is_dir():
                report = core.pipeline.sync(FolderSource(path), progress=bar)
            elif path.is_file():
                source = FolderSource(path.parent, only=[path])
                bar.started(1)
                report = core.pipeline.ingest(source, source.list(), progress=bar)
            else:
                print(f"ragchat: {raw}: no such file or folder", file=sys.stderr)
                return 2
        finally:
            bar.close()
        total.add(report)
    _print_report(total, core.store.count_chunks())
    return 1 if total.failed else 0


def _hit_dict(rank: int, hit) -> dict:
    chunk = hit.chunk
    return {
        "rank": rank, "score": round(hit.score, 6), "ranks": hit.ranks, "chunk_id": chunk.chunk_id,
        "doc_id": chunk.doc_id, "title": chunk.title, "heading_path": list(chunk.heading_path),
        "page": chunk.page, "path": chunk.path, "uri": chunk.uri, "doc_type": chunk.doc_type, "text": chunk.text,
    }


def cmd_search(args: argparse.Namespace) -> int:
    core = _core(args)
    filters = Filters(path_prefix=args.path_prefix, doc_types=tuple(args.type or ()))
    hits = core.retriever.search(args.query, k=args.k, filters=filters, mode=args.mode)
    if args.json:
        print(json.dumps([_hit_dict(rank, hit) for rank, hit in enumerate(hits, start=1)], indent=2))
        return 0
    if not hits:
        print("No matching chunks.")
    for rank, hit in enumerate(hits, start=1):
        chunk = hit.chunk
        where = " > ".join(chunk.heading_path)
        page = f" p.{chunk.page}" if chunk.page else ""
        snippet = " ".join(chunk.text.split())[:200]
        print(f"{rank:>2}. {chunk.title}{' — ' + where if where else ''}{page}  [{chunk.path}]  score {hit.score:.4f}")
        print(f"    {snippet}")
    return 0


def cmd_documents(args: argparse.Namespace) -> int:
    core = _core(args)
    records = core.store.list_documents()
    if args.json:
        print(json.dumps([asdict(r) for r in records], indent=2))
        return 0
    for record in records:
        note = f"  ({record.reason})" if record.reason else ""
        print(f"{record.status:<8} {record.chunk_count:>5} chunks  {record.path}{note}")
    print(f"{len(records)} documents, {core.store.count_chunks()} chunks")
    return 0


def cmd_eval_retrieval(args: argparse.Namespace) -> int:
    from ragchat.evaluation.retrieval import evaluate, load_questions, stages_of

    if bool(args.dataset) == bool(args.corpus):
        raise ConfigurationError("give either --dataset (a BEIR folder) or --corpus with --questions")
    if args.dataset:
        from ragchat.evaluation.beir import BeirCorpusSource, beir_questions, load_beir

        dataset = load_beir(args.dataset, args.split)
        source, questions = BeirCorpusSource(dataset), beir_questions(dataset)
    else:
        from ragchat.adapters.local.folder import FolderSource

        if not args.questions:
            raise ConfigurationError("--corpus needs --questions (a JSON-lines file of {id, question, relevant})")
        source, questions = FolderSource(args.corpus), load_questions(args.questions)
    settings = _settings(args)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if args.embedder is None:  # built from the real data folder: its exported model is kept between runs
        from ragchat.bootstrap import build_embedder

        args.embedder = build_embedder(settings)
    with tempfile.TemporaryDirectory(prefix="eval-", dir=settings.data_dir) as scratch:
        bar = _Bar(f"ingest {questions.name}")
        try:
            core = _core(args, replace(settings, data_dir=Path(scratch)))
            result = evaluate(core.pipeline, stages_of(core.retriever), source, questions, progress=bar,
                              before_stage=getattr(core.embedder, "forget_queries", None))
        finally:
            bar.close()
    if args.json:
        print(json.dumps(result))
        return 0
    ingest = result["ingest"]
    print(f"{questions.name}: {len(questions.queries)} queries, {ingest['documents']} documents, "
          f"{ingest['chunks']} chunks, ingest {ingest['seconds']} s")
    if result["dataset"]["relevant_not_in_corpus"]:
        print(f"warning: {len(result['dataset']['relevant_not_in_corpus'])} relevant documents are not in the corpus")
    print(f"{'stage':<14} {'nDCG@10':>8} {'R@100':>8} {'p50 ms':>8} {'p95 ms':>8}")
    for stage, row in result["stages"].items():
        print(f"{stage:<14} {row['ndcg@10']:>8.4f} {row['recall@100']:>8.4f} "
              f"{row['latency_p50_ms']:>8.1f} {row['latency_p95_ms']:>8.1f}")
    for stage, row in result["stages"].items():
        if row.get("fell_back"):
            print(f"warning: {stage}: {row['fell_back']} of {len(questions.queries)} searches kept the fused order "
                  "(the reranker failed or was late; the log says why)")
    return 0


def cmd_calibrate_fusion(args: argparse.Namespace) -> int:
    from ragchat.evaluation.calibration import calibrate

    settings = _settings(args)
    core = _core(args, settings)
    if core.store.count_chunks() == 0:
        raise ConfigurationError("the store is empty: ingest the corpus first (ragchat ingest)")
    result = calibrate(core.store, core.embedder, settings.fusion_dense_weight, questions=args.questions)
    if not result.questions:
        raise ConfigurationError("no document has two chunks and a sentence of its own: nothing to calibrate on")
    print(f"{result.questions} pseudo-questions drawn from the store; nDCG@10 by dense weight:")
    for weight, ndcg in result.curve.items():
        best = max(result.curve, key=result.curve.get)
        marks = " <- current" * (weight == result.current) + " <- best" * (weight == best)
        print(f"  {weight:.2f}  {ndcg:.4f}{marks}")
    if result.suggested == result.current:
        print(f"keep RAGCHAT_FUSION_DENSE_WEIGHT={result.current}: no weight is better by more than the noise")
    else:
        print(f"set RAGCHAT_FUSION_DENSE_WEIGHT={result.suggested} (FusionDenseWeight on AWS): "
              f"{result.gain:+.4f} nDCG@10 on these pseudo-questions")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from ragchat.bootstrap import build_local_server, visitor_origins
    from ragchat.server.run import check_bind, check_public, serve

    settings = Settings.from_env(data_dir=args.data, public_chat=True if args.public else None)
    check_bind(args.host, settings.local_token, args.allow_no_token)  # before the model loads
    check_public(visitor_origins(settings), settings.local_token, args.allow_no_token)
    core = _core(args, settings)
    server = build_local_server(settings, watch=Path(args.watch) if args.watch else None, core=core,
                                host=args.host)
    serve(server, args.host, args.port, warm_up=lambda: core.embedder.embed_query("warm up"))
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from ragchat.access import LOCAL_USER
    from ragchat.bootstrap import build_chat

    chat = build_chat(_core(args))
    ending: dict = {}

    def show(frame: dict) -> None:
        if frame["type"] == "delta":
            print(frame["text"], end="", flush=True)
        elif frame["type"] == "tool" and frame["status"] != "started":
            mark = "✓" if frame["status"] == "done" else "✗"
            print(f"  {mark} {frame['name']} {json.dumps(frame['input'], ensure_ascii=False)}: {frame['summary']}",
                  file=sys.stderr, flush=True)
        elif frame["type"] == "end":
            ending.update(frame)

    chat.answer(LOCAL_USER, args.question, show, session_id=args.session)
    print(flush=True)
    for source in ending.get("citations", []):
        page = f", p. {source['page']}" if source.get("page") else ""
        print(f"[{source['n']}] {source['title']} ({source['path']}{page})")
    print(f"session: {ending.get('sessionId')}  (continue with --session)", file=sys.stderr)
    return 0


def cmd_login(args: argparse.Namespace) -> int:
    from ragchat.adapters.aws.cognito_login import CognitoLogin

    settings = _settings(args)
    client_id, region = args.client_id or settings.user_pool_client_id, args.region or settings.aws_region
    if not client_id or not region:
        raise ConfigurationError("name the app client and region: --client-id (the stack's UserPoolClientId "
                                 "output, or RAGCHAT_USER_POOL_CLIENT_ID) and --region (or AWS_REGION)")
    ask = _Asker(args.stdin)
    username = args.username or ask.line("user name (email): ")

    def new_password() -> str:
        print("First sign-in: choose your own password.", file=sys.stderr)
        first, second = ask.secret("new password: "), ask.secret("new password again: ")
        if first != second:
            raise ConfigurationError("the two new passwords differ; run ragchat login again")
        return first

    tokens = CognitoLogin(client_id, region).sign_in(username, ask.secret("password: "), new_password)
    print(tokens.id_token)
    print(f"Signed in. The ID token above is valid for {tokens.expires_in // 60} minutes: paste it into the chat "
          "page's Settings as the token.", file=sys.stderr)
    return 0


class _Asker:
    """Prompts on a terminal (passwords unechoed); plain lines when the input is piped."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdin

    def line(self, prompt: str) -> str:
        if self.stream.isatty():
            return input(prompt).strip()
        return self.stream.readline().strip()

    def secret(self, prompt: str) -> str:
        if self.stream.isatty():
            from getpass import getpass

            return getpass(prompt)
        return self.stream.readline().rstrip("\n")


def cmd_preflight(args: argparse.Namespace) -> int:
    import boto3

    from ragchat.adapters.aws.preflight import Preflight

    settings = _settings(args)
    region = args.region or settings.aws_region
    if not region:
        raise ConfigurationError("name the region to deploy to: --region (or AWS_REGION)")
    checks = Preflight(boto3.client("bedrock", region_name=region), boto3.client("apigateway", region_name=region),
                       boto3.client("service-quotas", region_name=region), region).run(
        args.chat_model or settings.bedrock_model_id, args.embedding_model or settings.bedrock_embedding_model)
    marks = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}
    for check in checks:
        print(f"{marks[check.status]} {check.name}: {check.found}" + (f"\n     fix: {check.fix}" if check.fix else ""))
    failed = [c for c in checks if c.status == "fail"]
    print(f"\n{len(failed)} problem(s) would block a deploy or a first answer in {region}." if failed
          else f"\nNothing found that would block a deploy or a first answer in {region}.")
    return 1 if failed else 0


def _add_eval(evaluation: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
    eval_kinds = evaluation.add_subparsers(dest="kind", required=True)
    retrieval = eval_kinds.add_parser("retrieval", parents=[common],
                                      help="retrieval stages side by side: a BEIR dataset, or a folder and questions")
    retrieval.add_argument("--dataset", metavar="DIR", help="a BEIR folder: corpus.jsonl, queries.jsonl, qrels/")
    retrieval.add_argument("--split", default="test")
    retrieval.add_argument("--corpus", metavar="DIR", help="a folder of documents (with --questions)")
    retrieval.add_argument("--questions", metavar="FILE",
                           help="JSON lines: {id, question, relevant: [paths relative to --corpus]}")
    retrieval.add_argument("--json", action="store_true", help="print one JSON object")
    retrieval.set_defaults(func=cmd_eval_retrieval)
    calibration = eval_kinds.add_parser(
        "calibrate-fusion", parents=[common],
        help="suggest the fusion's dense weight for the ingested corpus and embedder, without labels")
    calibration.add_argument("--questions", type=int, default=300, help="pseudo-questions to draw (default 300)")
    calibration.set_defaults(func=cmd_calibrate_fusion)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data", metavar="DIR", help="data directory (default: $RAGCHAT_DATA_DIR or ./.ragchat)")

    parser = argparse.ArgumentParser(prog="ragchat", description="Retrieval-augmented chat over your documents.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    commands = parser.add_subparsers(dest="command", required=True)

    ingest = commands.add_parser("ingest", parents=[common], help="ingest files or folders (a folder is mirrored)")
    ingest.add_argument("paths", nargs="+", metavar="PATH")
    ingest.set_defaults(func=cmd_ingest)

    search = commands.add_parser("search", parents=[common], help="hybrid search over what was ingested")
    search.add_argument("query")
    search.add_argument("-k", type=int, default=5, help="how many chunks (default 5)")
    search.add_argument("--mode", choices=("hybrid", "bm25", "dense"), default="hybrid")
    search.add_argument("--path-prefix", help="only documents whose path starts with this")
    search.add_argument("--type", action="append", help="only this document type (md->markdown, pdf, html, ...)")
    search.add_argument("--json", action="store_true", help="print JSON")
    search.set_defaults(func=cmd_search)

    documents = commands.add_parser("documents", parents=[common], help="list documents and their ingest status")
    documents.add_argument("--json", action="store_true")
    documents.set_defaults(func=cmd_documents)

    serve = commands.add_parser("serve", parents=[common], help="the chat page and WebSocket API on this machine")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default loopback; any other needs RAGCHAT_LOCAL_TOKEN)")
    serve.add_argument("--allow-no-token", action="store_true",
                       help="serve on a non-loopback address without a token (anyone reaching it has your documents)")
    serve.add_argument("--public", action="store_true",
                       help="let visitors chat through the widget from the sites in RAGCHAT_ALLOWED_ORIGINS "
                            "(the shared library only, within the quotas)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--watch", metavar="DIR",
                       help="a drop folder: files added, changed or removed there are ingested")
    serve.set_defaults(func=cmd_serve)

    ask = commands.add_parser("ask", parents=[common], help="ask a question; the answer streams in the terminal")
    ask.add_argument("question")
    ask.add_argument("--session", help="continue this session (ids are printed after each answer)")
    ask.set_defaults(func=cmd_ask)

    preflight = commands.add_parser("preflight", parents=[common],
                                    help="check an AWS account and region before deploying (read-only calls)")
    preflight.add_argument("--region")
    preflight.add_argument("--chat-model", help="default: RAGCHAT_BEDROCK_MODEL_ID (the template's ChatModelId)")
    preflight.add_argument("--embedding-model", help="default: RAGCHAT_BEDROCK_EMBEDDING_MODEL")
    preflight.set_defaults(func=cmd_preflight)

    login = commands.add_parser("login", parents=[common],
                                help="sign in to a deployment's user pool and print an ID token for the page")
    login.add_argument("--client-id", help="the stack's UserPoolClientId output")
    login.add_argument("--region")
    login.add_argument("--username")
    login.set_defaults(func=cmd_login)

    _add_eval(commands.add_parser("eval", help="measure quality"), common)
    return parser


def main(argv: list[str] | None = None, *, embedder=None, stdin=None) -> int:
    """Run one command. `embedder` replaces the configured one (a model already loaded); `stdin`
    is where prompts read answers (the terminal by default)."""
    args = build_parser().parse_args(argv)
    args.embedder, args.stdin = embedder, stdin
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except RagchatError as exc:
        print(f"ragchat: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
