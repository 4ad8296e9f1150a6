"""``load_assembly`` on a real ``cdk synth`` output (synthesized once for the module).

The app (``assembly_apps.py``) has the async hand-off in miniature plus one of each intrinsic, so these
tests check what CloudFormation would have resolved, on the JSON CDK really writes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from asyncgate.local.assembly import Assembly, Stack, load_assembly, state_machine_definition
from tests.assembly.assembly_apps import MAIN_STACK, NESTED_STACK, SHARED_STACK, synth_main_app

ACCOUNT = "000000000000"
GENERATED = re.compile(r"^AgMain-(?P<lid>[A-Za-z0-9]+)-[A-Z0-9]{13}$")


@pytest.fixture(scope="module")
def cdk_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_main_app(tmp_path_factory.mktemp("synth") / "cdk.out")


@pytest.fixture(scope="module")
def assembly(cdk_out: Path) -> Assembly:
    return load_assembly(cdk_out)


@pytest.fixture(scope="module")
def main(assembly: Assembly) -> Stack:
    return assembly.stack(MAIN_STACK)


def one(stack: Stack, type_: str, prefix: str = "") -> Any:
    matches = [r for r in stack.of_type(type_) if r.logical_id.startswith(prefix)]
    assert len(matches) == 1, [r.logical_id for r in matches]
    return matches[0]


def env(stack: Stack, prefix: str) -> dict[str, str]:
    return one(stack, "AWS::Lambda::Function", prefix).properties["Environment"]["Variables"]


def walk(value: Any) -> Any:
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)


# -- the hand-off chain ------------------------------------------------------------------------------------
def test_definition_string_is_plain_json_with_the_real_lambda_arn(main: Stack) -> None:
    machine = one(main, "AWS::StepFunctions::StateMachine")
    definition = json.loads(machine.properties["DefinitionString"])
    fn = one(main, "AWS::Lambda::Function", "Processor")
    assert definition["States"]["Process"]["Resource"] == fn.attributes["Arn"]
    assert fn.attributes["Arn"] == f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:ag-test-processor"
    assert state_machine_definition(machine) == machine.properties["DefinitionString"]


def test_state_machine_ref_name_role_and_logging(main: Stack) -> None:
    machine = one(main, "AWS::StepFunctions::StateMachine")
    name = machine.attributes["Name"]
    assert GENERATED.match(name) and name.startswith("AgMain-Machine")
    assert (
        machine.physical_id
        == machine.attributes["Arn"]
        == f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:{name}"
    )
    role = main.resources[
        next(r.logical_id for r in main.of_type("AWS::IAM::Role") if "MachineRole" in r.logical_id)
    ]
    assert machine.properties["RoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/{role.physical_id}"
    log_group = one(main, "AWS::Logs::LogGroup", "MachineLogs")
    destination = machine.properties["LoggingConfiguration"]["Destinations"][0]
    assert destination["CloudWatchLogsLogGroup"]["LogGroupArn"] == log_group.attributes["Arn"]
    assert (
        log_group.attributes["Arn"]
        == f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/vendedlogs/states/ag-test:*"
    )
    assert re.fullmatch(r"[0-9a-f-]{36}", machine.attributes["StateMachineRevisionId"])


def test_rest_api_ids_and_the_aws_integration(main: Stack) -> None:
    api = one(main, "AWS::ApiGateway::RestApi")
    assert re.fullmatch(r"[a-z0-9]{10}", api.physical_id)
    assert re.fullmatch(r"[a-z0-9]{10}", api.attributes["RootResourceId"])
    assert api.properties["Name"] == "ag-test-api"  # the Name is not the id
    resource = one(main, "AWS::ApiGateway::Resource")
    assert resource.properties == {
        "ParentId": api.attributes["RootResourceId"],
        "PathPart": "submit",
        "RestApiId": api.physical_id,
    }
    assert re.fullmatch(r"[a-z0-9]{6}", resource.physical_id)
    method = one(main, "AWS::ApiGateway::Method")
    integration = method.properties["Integration"]
    role = one(main, "AWS::IAM::Role", "ApiRole")
    assert integration["Credentials"] == role.attributes["Arn"]
    assert integration["Uri"] == "arn:aws:apigateway:us-east-1:states:action/StartExecution"
    machine = one(main, "AWS::StepFunctions::StateMachine")
    template = json.loads(integration["RequestTemplates"]["application/json"])
    assert template["stateMachineArn"] == machine.physical_id
    assert method.properties["ResourceId"] == resource.physical_id
    stage = one(main, "AWS::ApiGateway::Stage")
    deployment = one(main, "AWS::ApiGateway::Deployment")
    assert stage.physical_id == "v1" and stage.properties["DeploymentId"] == deployment.physical_id
    assert main.outputs["ApiUrl"] == f"https://{api.physical_id}.execute-api.us-east-1.amazonaws.com/v1/"


# -- intrinsics --------------------------------------------------------------------------------------------
def test_each_intrinsic_in_the_processor_environment(main: Stack, assembly: Assembly) -> None:
    variables = env(main, "Processor")
    role = main.resources["ProcessorRole"]
    shared_queue = one(assembly.stack(SHARED_STACK), "AWS::SQS::Queue")
    assert variables == {
        "SUB": "AgMain-hello-${Literal}",  # ${AWS::StackName}, a parameter, ${!Literal}
        "SUB_VARS": "hello@us-east-1",  # the list form with a variable map
        "SELECT": "bob",  # Fn::Select over a CommaDelimitedList parameter
        "SPLIT": "hello",  # Fn::Select over Fn::Split over Fn::Sub
        "SUB_ATT": f"role={role.attributes['Arn']}",  # ${Logical.Attr}
        "JOIN": f"aws:{ACCOUNT}:amazonaws.com",  # Partition, AccountId, URLSuffix
        "IF": "dev-value",
        "AZ": "us-east-1a",
        "B64": "aGk=",
        "IMPORTED": shared_queue.attributes["Arn"],
    }
    assert assembly.exports == {"ag-shared-queue-arn": shared_queue.attributes["Arn"]}


def test_no_value_removes_the_key_and_get_att_resolves(main: Stack) -> None:
    variables = env(main, "Helper")
    assert variables == {"PROCESSOR": one(main, "AWS::Lambda::Function", "Processor").attributes["Arn"]}


def test_every_property_is_plain_json(assembly: Assembly) -> None:
    for stack in assembly.stacks:
        for resource in stack.resources.values():
            for obj in walk(resource.properties):
                assert not any(k == "Ref" or k.startswith("Fn::") for k in obj), (resource.logical_id, obj)
            json.dumps(resource.properties)


def test_parameters_take_their_defaults_and_bootstrap_version(main: Stack) -> None:
    assert main.parameters == {
        "DeployStage": "dev",
        "Greeting": "hello",
        "Names": ["ann", "bob", "cy"],
        "BootstrapVersion": "30",
    }


# -- conditions --------------------------------------------------------------------------------------------
def test_false_condition_drops_resources_and_outputs(main: Stack) -> None:
    assert "ProdOnlyQueue" not in main.resources
    assert "DevOnlyTopic" in main.resources
    assert "ProdOnly" not in main.outputs


def test_parameter_override_flips_conditions(cdk_out: Path) -> None:
    prod = load_assembly(cdk_out, parameters={"AgMain.DeployStage": "prod", "DeployStage": "dev"}).stack(
        MAIN_STACK
    )
    assert "ProdOnlyQueue" in prod.resources and "DevOnlyTopic" not in prod.resources
    assert env(prod, "Processor")["IF"] == "prod-value"
    assert env(prod, "Helper")["OPTIONAL"] == "x"
    assert prod.outputs["ProdOnly"] == "p"


# -- physical ids ------------------------------------------------------------------------------------------
def ids(assembly: Assembly) -> dict[str, Any]:
    return {
        f"{s.name}/{r.logical_id}": (r.physical_id, r.attributes, r.properties)
        for s in assembly.stacks
        for r in s.resources.values()
    }


def test_physical_ids_are_stable_across_loads(cdk_out: Path, assembly: Assembly) -> None:
    assert ids(load_assembly(cdk_out)) == ids(assembly)


def test_generated_names_are_pinned(main: Stack) -> None:
    """The hash scheme is part of the durable state (executions store ARNs): changing it breaks restarts."""
    assert main.resources["ProcessorRole"].physical_id == "AgMain-ProcessorRole-U9D5U5BGZKQ13"


def test_explicit_names_are_kept_and_others_generated(main: Stack) -> None:
    assert one(main, "AWS::Lambda::Function", "Processor").physical_id == "ag-test-processor"
    helper = one(main, "AWS::Lambda::Function", "Helper")
    assert GENERATED.match(helper.physical_id)
    assert one(main, "AWS::Logs::LogGroup", "MachineLogs").physical_id == "/aws/vendedlogs/states/ag-test"
    assert GENERATED.match(one(main, "AWS::Logs::LogGroup", "GeneratedLogs").physical_id)
    role = one(main, "AWS::IAM::Role", "ApiRole")
    assert GENERATED.match(role.physical_id)
    assert role.attributes["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/{role.physical_id}"
    assert re.fullmatch(r"AROA[A-Z0-9]{17}", role.attributes["RoleId"])
    assert main.outputs["RoleId"] == role.attributes["RoleId"]


def test_other_types_refs_and_attributes(main: Stack) -> None:
    out = main.outputs
    table = one(main, "AWS::DynamoDB::Table")
    assert out["TableStreamArn"].startswith(
        f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{table.physical_id}/stream/"
    )
    assert out["StreamArn"] == f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/ag-test-stream"
    bucket = one(main, "AWS::S3::Bucket")
    assert re.fullmatch(r"agmain-bucket[a-z0-9]+-[a-z0-9]{13}", bucket.physical_id)
    assert out["BucketArn"] == f"arn:aws:s3:::{bucket.physical_id}"
    assert out["BucketDomain"] == f"{bucket.physical_id}.s3.amazonaws.com"
    assert out["BusArn"] == f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/ag-test-bus"
    rule = one(main, "AWS::Events::Rule")
    assert rule.physical_id.startswith("ag-test-bus|AgMain-Rule")
    assert out["FifoName"].endswith(".fifo")
    assert out["FifoUrl"] == f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/{out['FifoName']}"
    topic = one(main, "AWS::SNS::Topic", "Topic")
    assert topic.physical_id == f"arn:aws:sns:us-east-1:{ACCOUNT}:{out['TopicName']}"
    unknown = main.resources["Unknown"]
    assert out["UnknownArn"] == f"arn:aws:foo:us-east-1:{ACCOUNT}:bar/{unknown.physical_id}"
    assert out["UnknownThing"] == f"{unknown.physical_id}.Thing.Nested"
    assert unknown.properties == {"Size": 3}


# -- files -------------------------------------------------------------------------------------------------
def test_asset_hash_maps_to_the_folder(main: Stack, cdk_out: Path) -> None:
    code = one(main, "AWS::Lambda::Function", "Processor").properties["Code"]
    assert code["S3Bucket"] == f"cdk-hnb659fds-assets-{ACCOUNT}-us-east-1"
    folder = main.assets[code["S3Key"].removesuffix(".zip")]
    assert folder.is_dir() and (folder / "index.py").is_file()
    assert folder.parent == cdk_out.resolve()


def test_stage_stacks_come_from_the_nested_assembly(assembly: Assembly, main: Stack) -> None:
    assert [s.name for s in assembly.stacks] == [NESTED_STACK, SHARED_STACK, MAIN_STACK]
    inner = assembly.stack(NESTED_STACK)
    fn = one(inner, "AWS::Lambda::Function")
    assert fn.physical_id.startswith("Prod-AgInner-Inner")
    # the stage's asset manifest points at ../asset.<hash>: the same top-level folder
    key = fn.properties["Code"]["S3Key"].removesuffix(".zip")
    assert inner.assets[key] == main.assets[key]


def test_unsupported_types_are_counted(assembly: Assembly) -> None:
    assert assembly.unsupported["Custom::Thing"] == 1
    assert assembly.unsupported["AWS::Foo::Bar"] == 1
    assert assembly.unsupported["AWS::SQS::Queue"] == 2  # shared + fifo; the prod-only one is dropped
    assert "AWS::Lambda::Function" not in assembly.unsupported
    assert "AWS::CDK::Metadata" not in assembly.unsupported


def test_construct_paths_come_from_the_metadata_file(main: Stack) -> None:
    assert one(main, "AWS::Lambda::Function", "Processor").path == "AgMain/Processor/Resource"
    assert main.resources["Custom"].path == "AgMain/Custom"
