"""Adapters for AWS services. Imported only when the AWS adapter set (or one of them) is configured."""
