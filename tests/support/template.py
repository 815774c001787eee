"""template.yaml read as data: tests build their moto resources from the template's own definitions."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


class CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (!Ref, !Sub, !GetAtt ...) as plain values."""


CfnLoader.add_multi_constructor("!", lambda loader, tag, node: (
    loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode)
    else loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode)
    else loader.construct_mapping(node)))


class CfnFunctionLoader(yaml.SafeLoader):
    """Reads the short forms as the long forms CloudFormation means: !Ref X as {"Ref": X}, !Sub as
    {"Fn::Sub": ...}, so the intrinsic functions can be evaluated."""


def _long_form(loader, tag: str, node):
    value = (loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode)
             else loader.construct_sequence(node, deep=True) if isinstance(node, yaml.SequenceNode)
             else loader.construct_mapping(node, deep=True))
    return {"Ref" if tag == "Ref" else f"Fn::{tag}": value}


CfnFunctionLoader.add_multi_constructor("!", _long_form)


@lru_cache(maxsize=2)
def template(functions: bool = False) -> dict:
    """template.yaml as data; with `functions`, intrinsic functions kept in their long form."""
    return yaml.load(TEMPLATE.read_text(), Loader=CfnFunctionLoader if functions else CfnLoader)


def resource(logical_id: str) -> dict:
    return template()["Resources"][logical_id]


def create_table(client, logical_id: str, name: str) -> str:
    """Create the DynamoDB table `logical_id` of the template, named `name`, with its key schema,
    attributes, billing mode and TTL attribute."""
    properties = resource(logical_id)["Properties"]
    client.create_table(TableName=name, BillingMode=properties["BillingMode"],
                        AttributeDefinitions=properties["AttributeDefinitions"], KeySchema=properties["KeySchema"])
    ttl = properties.get("TimeToLiveSpecification")
    if ttl:
        client.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
    return name
