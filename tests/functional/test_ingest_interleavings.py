"""Concurrent, reordered, redelivered and crashing ingest workers leave the store exactly as the
bucket is (tests/support/interleavings.py; `python benchmarks/ingest_interleavings.py` runs 200)."""

import boto3
import pytest

from tests.support.interleavings import run_scenario


@pytest.mark.parametrize("seed", range(25))
def test_ingest_interleaving_leaves_the_store_exactly_as_the_bucket(aws, seed):
    outcome = run_scenario(boto3.client("s3", region_name="eu-west-1"), seed)
    assert outcome.clean, outcome
