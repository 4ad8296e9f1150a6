"""Lambda resource policies: may API Gateway invoke this function for this method?

On AWS a Lambda integration without ``Credentials`` (CDK's ``LambdaIntegration``, every
``AWS_PROXY``) is invoked as the ``apigateway.amazonaws.com`` service principal, so the function's
resource policy must allow it: an ``AWS::Lambda::Permission`` with ``Action: lambda:InvokeFunction``,
``Principal: apigateway.amazonaws.com`` and a ``SourceArn`` pattern over
``arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}/{path}`` (CDK writes one per method
and one for the console's test-invoke stage). Without one the caller gets 500
``{"message": "Internal server error"}`` and the execution log says "Execution failed due to
configuration error: Invalid permissions on Lambda function".

Only functions declared in the same template are checked: a function created later through the
Lambda API has no ``AWS::Lambda::Permission`` to read, and is let through.

Example:
    >>> perms = InvokePermissions({"f": ("arn:aws:execute-api:us-east-1:000000000000:abc/*/GET/*",)})
    >>> perms.allows("arn:aws:lambda:us-east-1:000000000000:function:f",
    ...              "arn:aws:execute-api:us-east-1:000000000000:abc/main/GET/pets")
    True
    >>> perms.allows("arn:aws:lambda:us-east-1:000000000000:function:f",
    ...              "arn:aws:execute-api:us-east-1:000000000000:abc/main/POST/pets")
    False
    >>> perms.allows("arn:aws:lambda:us-east-1:000000000000:function:other", "anything")
    True
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..assembly import Stack

__all__ = ["InvokePermissions", "build_invoke_permissions"]

_PRINCIPALS = frozenset({"apigateway.amazonaws.com", "*"})
_ACTIONS = frozenset({"lambda:InvokeFunction", "lambda:*", "*"})


def _function_name(name_or_arn: str) -> str:
    """``f`` from ``f``, ``arn:...:function:f``, ``arn:...:function:f:alias`` or ``000:function:f``."""
    if ":function:" in name_or_arn:
        return name_or_arn.split(":function:", 1)[1].split(":", 1)[0]
    return name_or_arn.split(":", 1)[0]


def _pattern(source_arn: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in source_arn))


@dataclass(frozen=True, slots=True)
class InvokePermissions:
    """Function name -> the SourceArn patterns (``*`` for any) API Gateway may invoke it from."""

    sources: dict[str, tuple[str, ...]]
    _compiled: dict[str, tuple[re.Pattern[str], ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        compiled = {name: tuple(_pattern(s) for s in arns) for name, arns in self.sources.items()}
        object.__setattr__(self, "_compiled", compiled)

    def allows(self, function: str, source_arn: str) -> bool:
        """Whether the function's resource policy lets API Gateway invoke it from ``source_arn``."""
        patterns = self._compiled.get(_function_name(function))
        if patterns is None:
            return True  # not declared in the template: nothing to check against
        return any(p.fullmatch(source_arn) for p in patterns)


def build_invoke_permissions(stack: Stack) -> InvokePermissions:
    """What the stack's ``AWS::Lambda::Permission`` resources grant API Gateway, per function."""
    sources: dict[str, list[str]] = {}
    for fn in stack.of_type("AWS::Lambda::Function"):
        sources[_function_name(str(fn.attributes.get("Arn") or fn.physical_id))] = []
    for res in stack.of_type("AWS::Lambda::Permission"):
        props = res.properties
        if str(props.get("Principal", "")) not in _PRINCIPALS or str(props.get("Action")) not in _ACTIONS:
            continue
        name = _function_name(str(props.get("FunctionName", "")))
        sources.setdefault(name, []).append(str(props.get("SourceArn") or "*"))
    return InvokePermissions({name: tuple(arns) for name, arns in sources.items()})
