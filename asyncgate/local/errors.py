"""AWS API errors, named exactly as AWS names them.

Each class carries the HTTP status AWS answers with; ``api/`` renders them in the wire shape of the
protocol that raised them (JSON 1.0 ``{"__type", "message"}`` for Step Functions and CloudWatch Logs,
``x-amzn-ErrorType`` plus ``{"Type", "message"}`` for Lambda's REST API). Services raise these and know
nothing of HTTP. Class names are AWS's error codes, hence the N818 exemption in pyproject.
"""

from __future__ import annotations


class AwsError(Exception):
    """An error an AWS API answers with: its code, HTTP status and message."""

    http_status: int = 400
    #: True when the caller is at fault (``Type: User`` / ``Sender``), False for service faults.
    sender_fault: bool = True

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    @property
    def code(self) -> str:
        """The AWS error code, e.g. ``ExecutionAlreadyExists``."""
        return type(self).__name__


# -- shared -------------------------------------------------------------------------------------------
class ValidationException(AwsError):
    """Input fails a constraint of the API (a missing field, a length, an enum)."""


class AccessDeniedException(AwsError):
    """The calling role's policies do not allow the action on the resource."""


class UnknownOperationException(AwsError):
    """The X-Amz-Target names an operation the service does not have."""


class ServiceException(AwsError):
    """An internal failure; the request may be retried."""

    http_status = 500
    sender_fault = False


class SerializationException(AwsError):
    """The request body is not the JSON object the protocol expects."""


class ThrottlingException(AwsError):
    """A rate limit was hit."""


# -- Step Functions -------------------------------------------------------------------------------------
class InvalidArn(AwsError):
    """The ARN is not well formed."""


class InvalidName(AwsError):
    """The name is not well formed."""


class InvalidDefinition(AwsError):
    """The Amazon States Language definition is not valid."""


class InvalidExecutionInput(AwsError):
    """The execution input is not valid JSON or is too large."""


class InvalidLoggingConfiguration(AwsError):
    """The logging configuration is not valid."""


class InvalidToken(AwsError):
    """The task token is not valid."""


class StateMachineDoesNotExist(AwsError):
    """No state machine has that ARN."""


class StateMachineAlreadyExists(AwsError):
    """A state machine with that name and a different definition or role exists."""


class StateMachineDeleting(AwsError):
    """The state machine is being deleted."""


class StateMachineTypeNotSupported(AwsError):
    """The operation does not support the state machine's type (e.g. Express)."""


class ExecutionDoesNotExist(AwsError):
    """No execution has that ARN."""


class ExecutionAlreadyExists(AwsError):
    """An execution with that name exists (with other input, or no longer running)."""


class ExecutionLimitExceeded(AwsError):
    """Too many open executions."""


class TaskDoesNotExist(AwsError):
    """No task has that token."""


class TaskTimedOut(AwsError):
    """The task's token timed out."""


class InvalidOutput(AwsError):
    """The task output is not valid JSON."""


# -- Lambda / CloudWatch Logs -------------------------------------------------------------------------
class ResourceNotFoundException(AwsError):
    """The function, log group or stream does not exist."""

    http_status = 404


class ResourceConflictException(AwsError):
    """The resource already exists."""

    http_status = 409


class ResourceAlreadyExistsException(AwsError):
    """CloudWatch Logs: the log group or stream already exists."""


class InvalidParameterValueException(AwsError):
    """Lambda: a parameter's value is not valid."""


class InvalidParameterException(AwsError):
    """CloudWatch Logs: a parameter is not valid."""


class InvalidRequestContentException(AwsError):
    """Lambda: the request body is not valid JSON."""


class RequestTooLargeException(AwsError):
    """Lambda: the request payload exceeds the invocation limit."""

    http_status = 413
