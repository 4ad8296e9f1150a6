"""CDK constructs for the API Gateway -> Step Functions async hand-off.

``AsyncWorkflowApi`` is the pattern in one construct; the three it composes are public too, for
when you need only part of it:

- ``ProcessorFunction``: the Lambda the sample workflow invokes;
- ``Workflow``: the logged, traced state machine (EXPRESS or STANDARD);
- ``WorkflowApi``: the REST API whose ``POST /`` starts it (``StartMode``, ``AsyncResponse``).

``AsyncGateSampleStack`` is the seed's system in one stack (what ``app.py`` deploys).

Example
-------
```python
from aws_cdk import App, Stack
from asyncgate.cdk import AsyncWorkflowApi, StartMode

app = App()
stack = Stack(app, "Quotes")
AsyncWorkflowApi(stack, "Quotes", mode=StartMode.SYNC)  # answers with the workflow's output
app.synth()
```
"""

from asyncgate.cdk.api import AsyncResponse, StartMode, WorkflowApi
from asyncgate.cdk.pattern import AsyncWorkflowApi
from asyncgate.cdk.processor import PROCESSOR_CODE_DIR, ProcessorFunction
from asyncgate.cdk.sample import AsyncGateSampleStack
from asyncgate.cdk.workflow import Workflow

__all__ = [
    "PROCESSOR_CODE_DIR",
    "AsyncGateSampleStack",
    "AsyncResponse",
    "AsyncWorkflowApi",
    "ProcessorFunction",
    "StartMode",
    "Workflow",
    "WorkflowApi",
]
