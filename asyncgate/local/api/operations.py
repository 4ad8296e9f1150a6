"""The AWS operations served over the JSON protocol, by service.

Listed explicitly so that an ``X-Amz-Target`` can only reach an API operation, never another method
of the service object.
"""

from __future__ import annotations

__all__ = ["LOGS_OPERATIONS", "STATES_OPERATIONS"]

STATES_OPERATIONS: frozenset[str] = frozenset({
    "CreateStateMachine",
    "DescribeStateMachine",
    "UpdateStateMachine",
    "DeleteStateMachine",
    "ListStateMachines",
    "StartExecution",
    "StartSyncExecution",
    "DescribeExecution",
    "StopExecution",
    "ListExecutions",
    "GetExecutionHistory",
    "DescribeStateMachineForExecution",
    "ValidateStateMachineDefinition",
    "TestState",
    "SendTaskSuccess",
    "SendTaskFailure",
    "SendTaskHeartbeat",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
})

LOGS_OPERATIONS: frozenset[str] = frozenset({
    "CreateLogGroup",
    "DeleteLogGroup",
    "CreateLogStream",
    "PutLogEvents",
    "DescribeLogGroups",
    "DescribeLogStreams",
    "GetLogEvents",
    "FilterLogEvents",
    "PutRetentionPolicy",
})
