"""The AWS managed policies CDK apps commonly attach, as their documents.

They are AWS's, not the template's, so a local runtime has to know them: the ones CDK attaches by
itself (``AWSLambdaBasicExecutionRole`` and friends) are here; any other allows nothing locally, with
a warning, rather than everything.
"""

from __future__ import annotations

from typing import Any

__all__ = ["AWS_MANAGED_POLICIES"]

_LOGS_WRITE = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]


def _allow(actions: list[str], resource: str = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resource}


#: AWS managed policies CDK commonly attaches, by the ARN part after ``:policy/``. Their documents are
#: not in the template; these are the statements that matter locally (abridged from AWS's versions).
AWS_MANAGED_POLICIES: dict[str, list[dict[str, Any]]] = {
    "service-role/AWSLambdaBasicExecutionRole": [_allow(_LOGS_WRITE)],
    "service-role/AWSLambdaVPCAccessExecutionRole": [
        _allow(
            [
                *_LOGS_WRITE,
                "ec2:CreateNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSubnets",
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ]
        )
    ],
    "service-role/AWSLambdaSQSQueueExecutionRole": [
        _allow(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", *_LOGS_WRITE])
    ],
    "service-role/AWSLambdaDynamoDBExecutionRole": [
        _allow(
            [
                "dynamodb:DescribeStream",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
                "dynamodb:ListStreams",
                *_LOGS_WRITE,
            ]
        )
    ],
    "service-role/AWSLambdaKinesisExecutionRole": [
        _allow(
            [
                "kinesis:DescribeStream",
                "kinesis:DescribeStreamSummary",
                "kinesis:GetRecords",
                "kinesis:GetShardIterator",
                "kinesis:ListShards",
                "kinesis:ListStreams",
                "kinesis:SubscribeToShard",
                *_LOGS_WRITE,
            ]
        )
    ],
    "service-role/AWSLambdaRole": [_allow(["lambda:InvokeFunction"])],
    "service-role/AmazonAPIGatewayPushToCloudWatchLogs": [
        _allow(
            [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:DescribeLogGroups",
                "logs:DescribeLogStreams",
                "logs:PutLogEvents",
                "logs:GetLogEvents",
                "logs:FilterLogEvents",
            ]
        )
    ],
    "AWSXrayWriteOnlyAccess": [
        _allow(
            [
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
                "xray:GetSamplingStatisticSummaries",
            ]
        )
    ],
    "AWSLambdaExecute": [_allow(["logs:*"], "arn:aws:logs:*:*:*"), _allow(["s3:GetObject", "s3:PutObject"])],
    "CloudWatchLogsFullAccess": [_allow(["logs:*"])],
    "AWSStepFunctionsFullAccess": [_allow(["states:*"])],
    "AdministratorAccess": [_allow(["*"])],
}

_warned: set[str] = set()


