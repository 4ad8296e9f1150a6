"""SQS, Kinesis and API Gateway → SQS on a live server, through real boto3 on the server's port.

The app (``app.py``) is synthesized by CDK; its queues and stream are created in the in-process moto
under the template's names, so the ARNs in the state machine definitions are the ones boto3 reads.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import LiveServer

ACCOUNT = "000000000000"
MACHINE = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:"
QUEUE_URL = f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/"


def _run(server: LiveServer, machine: str, payload: Any) -> dict[str, Any]:
    """Start an execution and wait for its end (polling; no assertion on how long it took)."""
    sfn = server.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=MACHINE + machine, input=json.dumps(payload))["executionArn"]
    for _ in range(2000):
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.01)
    raise AssertionError(f"{arn} still running")


def _receive(server: LiveServer, queue: str) -> dict[str, Any]:
    messages = server.client("sqs").receive_message(QueueUrl=QUEUE_URL + queue, WaitTimeSeconds=0)
    assert len(messages["Messages"]) == 1, messages
    message: dict[str, Any] = messages["Messages"][0]
    return message


def test_template_resources_are_served_under_their_template_names(services_server: LiveServer) -> None:
    urls = services_server.client("sqs").list_queues()["QueueUrls"]
    assert {QUEUE_URL + q for q in ("ag-queue", "ag-other", "ag-api-queue")} <= set(urls)
    summary = services_server.client("kinesis").describe_stream_summary(StreamName="ag-stream")
    stream_arn = summary["StreamDescriptionSummary"]["StreamARN"]
    assert stream_arn == f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/ag-stream"
    assert "not served locally: AWS::SQS::Queue" not in services_server.output()
    assert "not served locally: AWS::Kinesis::Stream" not in services_server.output()


def test_the_seeds_kinesis_put_records_lands_on_the_stream(services_server: LiveServer) -> None:
    done = _run(services_server, "ag-kinesis", {"order": 42, "note": "it's here"})
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert output["FailedRecordCount"] == 0
    [record] = output["Records"]
    assert set(record) == {"SequenceNumber", "ShardId"}

    kinesis = services_server.client("kinesis")
    iterator = kinesis.get_shard_iterator(
        StreamName="ag-stream", ShardId=record["ShardId"],
        ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber=record["SequenceNumber"],
    )["ShardIterator"]
    got = kinesis.get_records(ShardIterator=iterator)["Records"][0]
    # a JSON object given to a blob member travels as its JSON text
    assert json.loads(got["Data"]) == {"order": 42, "note": "it's here"}
    assert got["PartitionKey"] == "Key"

    events = services_server.client("stepfunctions").get_execution_history(executionArn=done["executionArn"])
    scheduled = next(e for e in events["events"] if e["type"] == "TaskScheduled")["taskScheduledEventDetails"]
    assert (scheduled["resourceType"], scheduled["resource"]) == ("aws-sdk:kinesis", "putRecords")


def test_sqs_send_message_optimized_integration(services_server: LiveServer) -> None:
    done = _run(services_server, "ag-sqs", {"hello": "world"})
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    message = _receive(services_server, "ag-queue")
    assert message["Body"] == '{"hello":"world"}'
    assert output["MessageId"] == message["MessageId"]
    assert output["MD5OfMessageBody"] == hashlib.md5(message["Body"].encode()).hexdigest()
    assert output["SdkHttpMetadata"]["HttpStatusCode"] == 200
    assert output["SdkResponseMetadata"]["RequestId"]


def test_a_role_without_the_permission_fails_the_task_with_the_services_access_denied(
    services_server: LiveServer,
) -> None:
    done = _run(services_server, "ag-denied", {"text": "not for you"})
    assert done["status"] == "FAILED"
    # SQS's AccessDenied is not a modeled SQS error: the SDK v2 base exception names it
    assert done["error"] == "Sqs.SqsException"
    cause = done["cause"]
    assert cause.startswith(f"User: arn:aws:sts::{ACCOUNT}:assumed-role/AgServices-DeniedMachineRole")
    queue_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:ag-queue"
    assert (
        f"is not authorized to perform: sqs:SendMessage on resource: {queue_arn} because no identity-based "
        "policy allows the sqs:SendMessage action (Service: Sqs, Status Code: 403, "
    ) in cause


def test_gateway_sqs_integration_queues_the_body(services_server: LiveServer) -> None:
    url = services_server.api_url("Queue API")
    status, _, body = services_server.request(
        "POST", url, json.dumps({"order": 7}).encode(), {"Content-Type": "application/json"}
    )
    assert status == 200, body
    message = _receive(services_server, "ag-api-queue")
    assert json.loads(message["Body"]) == {"order": 7}
    assert json.loads(body) == {"id": message["MessageId"]}


def test_errors_come_back_in_the_services_own_shape(services_server: LiveServer) -> None:
    with pytest.raises(ClientError) as raised:
        services_server.client("sqs").send_message(QueueUrl=QUEUE_URL + "missing", MessageBody="x")
    assert raised.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    with pytest.raises(ClientError) as raised:
        services_server.client("dynamodb").describe_table(TableName="missing")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    # our own services keep their routes on the same port
    assert services_server.client("stepfunctions").list_state_machines()["stateMachines"]


def test_bad_requests_get_the_services_400_and_the_server_keeps_serving(services_server: LiveServer) -> None:
    def post(service: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        scope = f"AK/20261125/us-east-1/{service}/aws4_request"
        auth = f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=0"
        status, _, answer = services_server.request(
            "POST", services_server.endpoint + "/", body, {"Authorization": auth, **headers}
        )
        return status, answer

    dynamodb = {"X-Amz-Target": "DynamoDB_20120810.PutItem", "Content-Type": "application/x-amz-json-1.0"}
    status, answer = post("dynamodb", b"{not json", dynamodb)
    assert (status, json.loads(answer)["__type"]) == (400, "SerializationException")
    status, answer = post("dynamodb", b"{}", dynamodb)
    assert status == 400 and json.loads(answer)["message"] == (
        "1 validation error detected: Value null at 'tableName' failed to satisfy constraint: "
        "Member must not be null"
    )
    status, answer = post("kinesis", b"{}", {**dynamodb, "X-Amz-Target": "Kinesis_20131202.Explode"})
    assert (status, json.loads(answer)["__type"]) == (400, "UnknownOperationException")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, answer = post("sns", b"Action=Explode", form)
    assert status == 400 and b"<Code>InvalidAction</Code>" in answer
    assert services_server.request("GET", services_server.endpoint + "/_asyncgate/health")[0] == 200


def test_a_lambda_handler_reaches_the_queues_with_plain_boto3(services_server: LiveServer) -> None:
    answer = services_server.client("lambda").invoke(FunctionName="ag-sender", Payload=b'{"from": "lambda"}')
    result = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer, result
    message = _receive(services_server, "ag-other")
    assert (json.loads(message["Body"]), message["MessageId"]) == ({"from": "lambda"}, result["MessageId"])


def test_the_task_token_callback_through_a_long_polled_queue(services_server: LiveServer) -> None:
    polled: list[dict[str, Any]] = []
    sqs = services_server.client("sqs", read_timeout=60)
    # the long poll starts before the execution sends: it must not hold up the SendMessage it waits for
    poller = threading.Thread(target=lambda: polled.append(
        sqs.receive_message(QueueUrl=QUEUE_URL + "ag-approvals", WaitTimeSeconds=20)
    ))
    poller.start()
    sfn = services_server.client("stepfunctions")
    started = sfn.start_execution(stateMachineArn=MACHINE + "ag-approval", input='{"order": "o-9"}')
    arn = started["executionArn"]
    poller.join()
    [message] = polled[0]["Messages"]
    body = json.loads(message["Body"])
    assert body["order"] == "o-9"
    sfn.send_task_success(taskToken=body["token"], output='{"approved": true}')
    for _ in range(2000):
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            break
        time.sleep(0.01)
    assert (described["status"], json.loads(described["output"])) == ("SUCCEEDED", {"approved": True})
