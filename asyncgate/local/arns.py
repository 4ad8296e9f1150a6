"""ARNs and the local account's identity.

The runtime pretends to be one AWS account in one region, as LocalStack does, so that tooling that
expects `000000000000` / `us-east-1` works unchanged. Every ARN the runtime mints comes from here.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "000000000000"
PARTITION = "aws"


@dataclass(frozen=True, slots=True)
class Arn:
    """A parsed ARN: ``arn:partition:service:region:account:resource``."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    @classmethod
    def parse(cls, text: str) -> Arn:
        """Split an ARN into its six parts; raises ``ValueError`` when it is not one.

        Example:
            >>> Arn.parse("arn:aws:states:us-east-1:000000000000:stateMachine:m").resource
            'stateMachine:m'
        """
        parts = text.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn":
            raise ValueError(f"not an ARN: {text!r}")
        return cls(parts[1], parts[2], parts[3], parts[4], parts[5])

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


def arn(service: str, resource: str, *, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT) -> str:
    """Build an ARN in the local account.

    Example:
        >>> arn("lambda", "function:sample-func")
        'arn:aws:lambda:us-east-1:000000000000:function:sample-func'
    """
    return f"arn:{PARTITION}:{service}:{region}:{account}:{resource}"


def global_arn(service: str, resource: str, *, account: str = DEFAULT_ACCOUNT) -> str:
    """ARNs of global services (IAM) have an empty region.

    Example:
        >>> global_arn("iam", "role/r")
        'arn:aws:iam::000000000000:role/r'
    """
    return f"arn:{PARTITION}:{service}::{account}:{resource}"
