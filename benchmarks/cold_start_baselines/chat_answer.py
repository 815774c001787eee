"""Baseline of the chat function answering one frame (the asynchronous invocation): claim the frame
once (a conditional put), count the question against its quotas (a conditional ADD, a read), load
the session and store the question, let the model call a search tool
(embed the query, keyword and vector search in the collection), stream the answer to the connection
through the Management API, store the reply, and add the tokens it spent (two ADDs)."""

import json
import os
import time
import urllib.parse

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from opensearchpy import AWSV4SignerAuth, OpenSearch, RequestsHttpConnection

logger, tracer, metrics = Logger(), Tracer(), Metrics(namespace="ragchat")
bedrock, dynamodb = boto3.client("bedrock-runtime"), boto3.client("dynamodb")
ENDPOINT = urllib.parse.urlsplit(os.environ["RAGCHAT_OPENSEARCH_ENDPOINT"])
SECURE = ENDPOINT.scheme == "https"
collection = OpenSearch(hosts=[{"host": ENDPOINT.hostname, "port": ENDPOINT.port or 443}],
                        http_auth=AWSV4SignerAuth(boto3.Session().get_credentials(), os.environ["AWS_REGION"], "aoss"),
                        use_ssl=SECURE, verify_certs=SECURE, connection_class=RequestsHttpConnection, timeout=30)
SESSIONS, INDEX = os.environ["RAGCHAT_SESSIONS_TABLE"], os.environ["RAGCHAT_INDEX_PREFIX"] + "-chunks"
QUOTAS = os.environ["RAGCHAT_QUOTAS_TABLE"]
TOOLS = {"tools": [{"toolSpec": {"name": "search_documents", "description": "Search the documents.",
                                 "inputSchema": {"json": {"type": "object", "required": ["query"],
                                                          "properties": {"query": {"type": "string"}}}}}}]}


def search(query: str) -> str:
    body = {"inputText": query, "dimensions": int(os.environ["RAGCHAT_EMBEDDING_DIMENSION"]), "normalize": True}
    answer = bedrock.invoke_model(modelId=os.environ["RAGCHAT_BEDROCK_EMBEDDING_MODEL"], body=json.dumps(body))
    vector = json.loads(answer["body"].read())["embedding"]
    keyword = collection.search(index=INDEX, body={"size": 8, "query": {"multi_match": {
        "query": query, "fields": ["title^2", "headings^1.5", "text"], "type": "most_fields"}}})
    dense = collection.search(index=INDEX, body={"size": 8, "query": {"knn": {"vector": {"vector": vector, "k": 8}}}})
    hits = {h["_id"]: h["_source"] for h in keyword["hits"]["hits"] + dense["hits"]["hits"]}
    return "\n\n".join(f"[{n}] {s.get('path', '')}\n{s.get('text', '')}" for n, s in enumerate(hits.values(), 1))


def converse(messages: list, post) -> tuple[str, dict | None]:
    """One streamed turn: the text (posted as it comes) or the tool call the model asked for."""
    stream = bedrock.converse_stream(modelId=os.environ["RAGCHAT_BEDROCK_MODEL_ID"], messages=messages,
                                     toolConfig=TOOLS)["stream"]
    text, tool = "", None
    for event in stream:
        if "contentBlockStart" in event and "toolUse" in event["contentBlockStart"]["start"]:
            tool = {**event["contentBlockStart"]["start"]["toolUse"], "input": ""}
        delta = event.get("contentBlockDelta", {}).get("delta", {})
        if "toolUse" in delta:
            tool["input"] += delta["toolUse"]["input"]
        if "text" in delta:
            text += delta["text"]
            post({"type": "delta", "text": delta["text"]})
    return text, tool


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    request = event["requestContext"]
    user, frame = request["authorizer"]["userId"], json.loads(event["body"])
    connections = boto3.client("apigatewaymanagementapi",
                               endpoint_url=f"https://{request['domainName']}/{request['stage']}")

    def post(payload: dict) -> None:
        connections.post_to_connection(ConnectionId=request["connectionId"],
                                       Data=json.dumps({**payload, "requestId": frame["requestId"]}).encode())

    key = {"pk": {"S": f"ANSWER#{request['connectionId']}:{request['messageId']}"}, "sk": {"S": "ANSWER"}}
    dynamodb.put_item(TableName=SESSIONS, Item={**key, "expires_at": {"N": str(int(time.time()) + 3600)}},
                      ConditionExpression="attribute_not_exists(pk)")
    day = int(time.time() // 86400 * 86400)
    dynamodb.update_item(TableName=QUOTAS, Key={"pk": {"S": f"chars:{user}#day#{day}"}},
                         UpdateExpression="ADD n :n SET expires_at = :e", ConditionExpression="attribute_not_exists(n) "
                         "OR n <= :most", ExpressionAttributeValues={":n": {"N": str(len(frame["message"]))},
                                                                     ":most": {"N": "400000"}, ":e": {"N": str(day)}})
    dynamodb.get_item(TableName=QUOTAS, Key={"pk": {"S": f"tokens:{user}#day#{day}"}}, ConsistentRead=True)
    session = f"MSGS#{user}#{frame.get('sessionId') or request['messageId']}"
    history = dynamodb.query(TableName=SESSIONS, KeyConditionExpression="pk = :pk",
                             ExpressionAttributeValues={":pk": {"S": session}})["Items"]
    dynamodb.put_item(TableName=SESSIONS, Item={"pk": {"S": session}, "sk": {"S": f"{time.time():.6f}"},
                                                "role": {"S": "user"}, "text": {"S": frame["message"]}})
    post({"type": "start", "history": len(history)})
    messages = [{"role": "user", "content": [{"text": frame["message"]}]}]
    text, tool = converse(messages, post)
    if tool:
        post({"type": "tool", "name": tool["name"], "status": "running"})
        found = search(json.loads(tool["input"])["query"])
        post({"type": "tool", "name": tool["name"], "status": "done"})
        messages += [{"role": "assistant", "content": [{"toolUse": {**tool, "input": json.loads(tool["input"])}}]},
                     {"role": "user", "content": [{"toolResult": {"toolUseId": tool["toolUseId"],
                                                                  "content": [{"text": found}]}}]}]
        text, _ = converse(messages, post)
    dynamodb.put_item(TableName=SESSIONS, Item={"pk": {"S": session}, "sk": {"S": f"{time.time():.6f}"},
                                                "role": {"S": "assistant"}, "text": {"S": text}})
    for counter in (f"tokens:{user}", "tokens:*"):
        dynamodb.update_item(TableName=QUOTAS, Key={"pk": {"S": f"{counter}#day#{day}"}},
                             UpdateExpression="ADD n :n SET expires_at = :e",
                             ExpressionAttributeValues={":n": {"N": "150"}, ":e": {"N": str(day)}})
    dynamodb.update_item(TableName=SESSIONS, Key=key, UpdateExpression="SET answered = :t",
                         ExpressionAttributeValues={":t": {"BOOL": True}})
    post({"type": "end"})
    return {"statusCode": 200}
