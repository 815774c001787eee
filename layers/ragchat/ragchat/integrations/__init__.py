"""Bridges to other libraries, each behind an optional extra.

Nothing in the core, the adapters or the Lambda functions imports these packages: the composition
root imports one only when the settings choose it (RAGCHAT_GENERATOR=langchain).
"""
