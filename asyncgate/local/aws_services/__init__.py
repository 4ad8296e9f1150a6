"""AWS services that are not asyncgate's own — SQS, SNS, DynamoDB, Kinesis, EventBridge, S3 — served
by one in-process moto on the server's port.

- ``bridge.AwsServices``: the moto instance; ``await aws.call(service, action, params)`` for SDK-shaped
  calls, ``await aws.handle(...)`` for raw HTTP requests. moto is imported on first use only.
- ``asgi.EmulatedServices``: ASGI middleware that sends boto3/CLI requests for those services (by
  their SigV4 credential scope) to moto; asyncgate's own services keep their routes.
- ``provision.provision``: creates the template's queues, topics, tables, streams, buses and buckets
  under the assembly's physical names at start-up. State is in memory: it does not survive a restart.
- ``integrations.EmulatedIntegrations``: API Gateway AWS integrations to these services, IAM-checked.

The engine's Task integrations (``aws-sdk:*``, ``sqs:sendMessage``...) are in
``asyncgate.local.states.sdk_tasks``.

This package's ``__init__`` imports nothing heavy: importing it must not import moto or botocore.

Example:
    >>> from asyncgate.local.aws_services.routing import EMULATED_SERVICES
    >>> sorted(EMULATED_SERVICES)
    ['dynamodb', 'events', 'kinesis', 's3', 'sns', 'sqs']
"""

__all__: list[str] = []
