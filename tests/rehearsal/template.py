"""template.yaml resolved for the rehearsal: parameters at their defaults, pseudo parameters of a
test account, and every Ref, GetAtt, Sub, If, Select, Split and Join replaced by the value the
rehearsal's stand-in for that resource has (a moto table's name, the fake collection's URL ...).

A reference the rehearsal cannot resolve raises, so a template naming a resource that does not
exist (or an attribute no stand-in has) fails the rehearsal instead of passing silently.
"""

from __future__ import annotations

import re

from tests.support.template import template

ACCOUNT, REGION, PARTITION = "123456789012", "eu-west-1", "aws"
NO_VALUE = object()


class Unresolved(KeyError):
    """The template refers to something the rehearsal does not stand in for."""


class ResolvedTemplate:
    def __init__(self, attributes: dict[str, dict[str, str]] | None = None, parameters: dict | None = None):
        """`attributes`: logical id -> {"Ref": value, "<Attribute>": value} for the stand-ins;
        `parameters`: values given at deploy time (the others keep their defaults)."""
        self.raw = template(functions=True)
        self.resources = self.raw["Resources"]
        self.attributes = attributes or {}
        self.parameters = {name: spec.get("Default") for name, spec in self.raw.get("Parameters", {}).items()}
        unknown = set(parameters or {}) - set(self.parameters)
        if unknown:
            raise Unresolved(f"the template has no parameters {sorted(unknown)}")
        self.parameters.update(parameters or {})
        self.pseudo = {"AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "AWS::Partition": PARTITION,
                       "AWS::StackName": "ragchat-rehearsal", "AWS::NoValue": NO_VALUE}

    # -- references ------------------------------------------------------------------------
    def ref(self, name: str):
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.attributes and "Ref" in self.attributes[name]:
            return self.attributes[name]["Ref"]
        raise Unresolved(f"!Ref {name}: no parameter and no stand-in with a Ref")

    def get_att(self, name: str, attribute: str):
        try:
            return self.attributes[name][attribute]
        except KeyError:
            raise Unresolved(f"!GetAtt {name}.{attribute}: no stand-in has it") from None

    def condition(self, name: str) -> bool:
        return bool(self.value(self.raw["Conditions"][name]))

    # -- values ------------------------------------------------------------------------------
    def value(self, node):
        """A template value with every intrinsic function evaluated (the YAML loader gives a tag's
        content without the tag, so the forms are told apart by what the tag wrapped)."""
        if isinstance(node, dict):
            if len(node) == 1:
                (key, inner), = node.items()
                if key in _FUNCTIONS:
                    return _FUNCTIONS[key](self, inner)
            return {k: v for k, v in ((k, self.value(v)) for k, v in node.items()) if v is not NO_VALUE}
        if isinstance(node, list):
            return [v for v in (self.value(item) for item in node) if v is not NO_VALUE]
        return node

    def sub(self, text: str, variables: dict | None = None) -> str:
        def one(match: re.Match) -> str:
            name = match.group(1)
            if variables and name in variables:
                return str(self.value(variables[name]))
            if "." in name and not name.startswith("AWS::"):
                resource, attribute = name.split(".", 1)
                return str(self.get_att(resource, attribute))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}!]+)\}", one, text)

    def environment(self, logical_id: str) -> dict[str, str]:
        """A function's environment variables: the Globals' and its own, resolved."""
        shared = self.raw.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
        own = self.resources[logical_id]["Properties"].get("Environment", {}).get("Variables", {})
        resolved = {name: self.value(value) for name, value in {**shared, **own}.items()}
        return {name: str(value) for name, value in resolved.items() if value is not NO_VALUE}  # !Ref AWS::NoValue

    def function(self, logical_id: str) -> dict:
        """A function's properties with the Globals applied (SAM's merge of the simple keys)."""
        merged = {k: v for k, v in self.raw.get("Globals", {}).get("Function", {}).items() if k != "Environment"}
        merged.update(self.resources[logical_id]["Properties"])
        return merged

    def of_type(self, kind: str) -> dict[str, dict]:
        return {name: r for name, r in self.resources.items() if r["Type"] == kind}


def _sub(t: ResolvedTemplate, inner):
    if isinstance(inner, list):
        return t.sub(inner[0], inner[1])
    return t.sub(inner)


def _get_att(t: ResolvedTemplate, inner):
    name, attribute = inner.split(".", 1) if isinstance(inner, str) else inner
    return t.get_att(name, attribute)


def _if(t: ResolvedTemplate, inner):
    name, then, otherwise = inner
    return t.value(then if t.condition(name) else otherwise)


def _ref(t: ResolvedTemplate, inner):
    if isinstance(inner, str) and inner in t.raw.get("Conditions", {}) and inner not in t.parameters \
            and inner not in t.resources:
        return t.condition(inner)  # a Condition named inside !And/!Or/!Not
    return t.ref(inner)


def _maybe(t: ResolvedTemplate, item):
    """Fn::Or and friends take conditions by name ({Condition: X}) or as expressions."""
    if isinstance(item, dict) and set(item) == {"Condition"}:
        return t.condition(item["Condition"])
    return t.value(item)


_FUNCTIONS = {
    "Ref": _ref,
    "Fn::Sub": _sub,
    "Fn::GetAtt": _get_att,
    "Fn::If": _if,
    "Fn::Select": lambda t, inner: t.value(inner[1])[int(t.value(inner[0]))],
    "Fn::Split": lambda t, inner: t.value(inner[1]).split(inner[0]),
    "Fn::Join": lambda t, inner: inner[0].join(str(v) for v in t.value(inner[1])),
    "Fn::Equals": lambda t, inner: t.value(inner[0]) == t.value(inner[1]),
    "Fn::Or": lambda t, inner: any(_maybe(t, i) for i in inner),
    "Fn::And": lambda t, inner: all(_maybe(t, i) for i in inner),
    "Fn::Not": lambda t, inner: not _maybe(t, inner[0]),
}
