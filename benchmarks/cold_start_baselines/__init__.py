"""Bare Powertools handlers doing what each ragchat function does for one event, with the same
libraries (boto3, opensearch-py, PyJWT) and none of ragchat: the yardstick of benchmarks/cold_start.py.

Each module is copied alone into an empty task folder and run as a function's handler
(`app.handler`) over the built layer, exactly as the function it stands beside.
"""
