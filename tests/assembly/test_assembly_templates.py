"""``load_assembly`` on small hand-written assemblies: each intrinsic's edge cases, errors, path safety.

These need no CDK synth, so they run in milliseconds and can try what CDK never writes (cycles,
dangling refs, paths that escape ``cdk.out``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncgate.local.assembly import (
    AssemblyError,
    AssetPathError,
    ResolutionError,
    Resource,
    load_assembly,
    state_machine_definition,
)

FN = "AWS::Lambda::Function"


def write_assembly(
    root: Path,
    templates: dict[str, dict[str, Any]],
    assets: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """A minimal cdk.out: one stack artifact per template, optional asset manifests per stack."""
    root.mkdir(parents=True, exist_ok=True)
    artifacts: dict[str, Any] = {}
    for name, template in templates.items():
        (root / f"{name}.template.json").write_text(json.dumps(template))
        artifact: dict[str, Any] = {
            "type": "aws:cloudformation:stack",
            "properties": {"templateFile": f"{name}.template.json"},
        }
        if assets and name in assets:
            (root / f"{name}.assets.json").write_text(json.dumps({"files": assets[name]}))
            artifacts[f"{name}.assets"] = {
                "type": "cdk:asset-manifest",
                "properties": {"file": f"{name}.assets.json"},
            }
            artifact["dependencies"] = [f"{name}.assets"]
        artifacts[name] = artifact
    (root / "manifest.json").write_text(json.dumps({"version": "55.0.0", "artifacts": artifacts}))
    return root


def resolve(tmp_path: Path, value: Any, **template: Any) -> Any:
    """Resolve ``value`` as an SSM parameter's Value in stack S (plus other template sections)."""
    resources = {"P": {"Type": "AWS::SSM::Parameter", "Properties": {"Value": value}}}
    resources.update(template.pop("Resources", {}))
    write_assembly(tmp_path, {"S": {"Resources": resources, **template}})
    return load_assembly(tmp_path).stack("S").resources["P"].properties.get("Value")


FUNCTION = {"Type": FN, "Properties": {"FunctionName": "f"}}


# -- intrinsics ---------------------------------------------------------------------------------------------
def test_sub_forms(tmp_path: Path) -> None:
    value = {"Fn::Sub": "${AWS::Partition}:${AWS::StackName}:${F}:${F.Arn}:${!Lit}:${AWS::URLSuffix}"}
    assert resolve(tmp_path, value, Resources={"F": FUNCTION}) == (
        "aws:S:f:arn:aws:lambda:us-east-1:000000000000:function:f:${Lit}:amazonaws.com"
    )


def test_sub_list_form_variables_shadow_template_names(tmp_path: Path) -> None:
    value = {"Fn::Sub": ["${F}-${X}", {"F": "var", "X": {"Fn::GetAtt": ["F", "Arn"]}}]}
    assert resolve(tmp_path, value, Resources={"F": FUNCTION}) == (
        "var-arn:aws:lambda:us-east-1:000000000000:function:f"
    )


def test_get_att_string_form_join_select_split(tmp_path: Path) -> None:
    value = {
        "Fn::Join": [
            "|",
            [
                {"Fn::GetAtt": "F.Arn"},
                {"Fn::Select": ["1", {"Fn::Split": [",", "a,b,c"]}]},
                {"Fn::Select": [0, {"Fn::GetAZs": {"Ref": "AWS::Region"}}]},
                {"Fn::Base64": "x"},
            ],
        ]
    }
    assert resolve(tmp_path, value, Resources={"F": FUNCTION}) == (
        "arn:aws:lambda:us-east-1:000000000000:function:f|b|us-east-1a|eA=="
    )


def test_conditions_compare_string_forms_and_combine(tmp_path: Path) -> None:
    conditions = {
        "One": {"Fn::Equals": [{"Ref": "N"}, 1]},
        "Both": {"Fn::And": [{"Condition": "One"}, {"Fn::Not": [{"Fn::Equals": ["a", "b"]}]}]},
        "Either": {"Fn::Or": [{"Fn::Equals": ["a", "b"]}, {"Condition": "Both"}]},
    }
    value = {"Fn::If": ["Either", "yes", "no"]}
    parameters = {"N": {"Type": "Number", "Default": "1"}}
    assert resolve(tmp_path, value, Conditions=conditions, Parameters=parameters) == "yes"


def test_no_value_removes_list_elements_and_keys(tmp_path: Path) -> None:
    value = {
        "keep": ["a", {"Fn::If": ["False", "b", {"Ref": "AWS::NoValue"}]}],
        "gone": {"Ref": "AWS::NoValue"},
    }
    conditions = {"False": {"Fn::Equals": ["1", "2"]}}
    assert resolve(tmp_path, value, Conditions=conditions) == {"keep": ["a"]}


def test_find_in_map_cidr_length_to_json_string(tmp_path: Path) -> None:
    value = [
        {"Fn::FindInMap": ["M", {"Ref": "AWS::Region"}, "k"]},
        {"Fn::FindInMap": ["M", "nope", "k", {"DefaultValue": "d"}]},
        {"Fn::Cidr": ["10.0.0.0/16", 2, 8]},
        {"Fn::Length": [1, 2, 3]},
        {"Fn::ToJsonString": {"a": [1]}},
    ]
    mappings = {"M": {"us-east-1": {"k": "v"}}}
    assert resolve(tmp_path, value, Mappings=mappings) == [
        "v",
        "d",
        ["10.0.0.0/24", "10.0.1.0/24"],
        3,
        '{"a":[1]}',
    ]


def test_pseudo_parameters(tmp_path: Path) -> None:
    value = [{"Ref": p} for p in ("AWS::Region", "AWS::AccountId", "AWS::StackId", "AWS::NotificationARNs")]
    region, account, stack_id, arns = resolve(tmp_path, value)
    assert (region, account, arns) == ("us-east-1", "000000000000", [])
    assert stack_id.startswith("arn:aws:cloudformation:us-east-1:000000000000:stack/S/")


def test_import_value_across_stacks(tmp_path: Path) -> None:
    producer = {
        "Resources": {"F": FUNCTION},
        "Outputs": {
            "O": {
                "Value": {"Fn::GetAtt": ["F", "Arn"]},
                "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-arn"}},
            }
        },
    }
    consumer = {
        "Resources": {
            "P": {"Type": "AWS::SSM::Parameter", "Properties": {"Value": {"Fn::ImportValue": "A-arn"}}}
        }
    }
    write_assembly(tmp_path, {"B": consumer, "A": producer})
    assembly = load_assembly(tmp_path)
    assert (
        assembly.stack("B").resources["P"].properties["Value"]
        == "arn:aws:lambda:us-east-1:000000000000:function:f"
    )


# -- parameters ---------------------------------------------------------------------------------------------
def test_parameter_without_default_fails_only_when_used(tmp_path: Path) -> None:
    parameters = {"Unused": {"Type": "String"}, "Used": {"Type": "String"}}
    chain = r"^S/P\.Properties\.Value -> S parameter Used: "
    with pytest.raises(ResolutionError, match=chain + "parameter Used of S has no Default"):
        resolve(tmp_path, {"Ref": "Used"}, Parameters=parameters)
    stack = load_assembly(tmp_path, parameters={"Used": "u", "S.Used": "stack-wins"}).stack("S")
    assert stack.resources["P"].properties["Value"] == "stack-wins"
    assert stack.parameters == {"Used": "stack-wins"}


def test_ssm_parameters_other_than_the_bootstrap_version_need_an_override(tmp_path: Path) -> None:
    parameters = {"Ami": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/my/ami"}}
    with pytest.raises(ResolutionError, match="SSM parameter '/my/ami'"):
        resolve(tmp_path, {"Ref": "Ami"}, Parameters=parameters)
    assert load_assembly(tmp_path, parameters={"Ami": "ami-1"}).stack("S").parameters["Ami"] == "ami-1"


# -- errors -------------------------------------------------------------------------------------------------
def test_cycle_is_reported_with_its_chain(tmp_path: Path) -> None:
    resources = {
        "A": {"Type": FN, "Properties": {"FunctionName": {"Fn::Sub": "a-${B}"}}},
        "B": {"Type": FN, "Properties": {"FunctionName": {"Fn::Sub": "b-${A.Arn}"}}},
    }
    write_assembly(tmp_path, {"S": {"Resources": resources}})
    with pytest.raises(
        ResolutionError,
        match=r"^circular reference: S/A\.Properties\.FunctionName -> S/B \(Ref\) -> "
        r"S/B\.Properties\.FunctionName -> S/A\.Arn -> S/A \(Ref\) -> S/A\.Properties\.FunctionName$",
    ):
        load_assembly(tmp_path)


def test_condition_cycle(tmp_path: Path) -> None:
    conditions = {"X": {"Condition": "Y"}, "Y": {"Fn::Not": [{"Condition": "X"}]}}
    with pytest.raises(ResolutionError, match="circular reference"):
        resolve(tmp_path, {"Fn::If": ["X", "a", "b"]}, Conditions=conditions)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"Ref": "Nope"}, "Ref to 'Nope', which is neither a parameter nor a resource of S"),
        ({"Fn::GetAtt": ["Nope", "Arn"]}, "Fn::GetAtt on 'Nope'"),
        ({"Fn::Select": [5, ["a"]]}, "Fn::Select index 5 is out of range"),
        ({"Fn::Join": [",", "notalist"]}, "Fn::Join expects a list"),
        ({"Fn::Transform": {}}, "Fn::Transform is not supported"),
        ({"Fn::ImportValue": "missing"}, "no stack exports it"),
        ({"Fn::If": ["Nope", 1, 2]}, "no Condition named 'Nope'"),
        ({"Fn::Join": ["", [["nested"]]]}, "expected a string, got list"),
    ],
)
def test_errors_name_the_property(tmp_path: Path, value: Any, message: str) -> None:
    with pytest.raises(ResolutionError, match="^S/P.Properties.Value: .*" + message.replace("(", r"\(")):
        resolve(tmp_path, value)


def test_ref_to_a_resource_whose_condition_is_false(tmp_path: Path) -> None:
    resources = {"F": {**FUNCTION, "Condition": "No"}}
    conditions = {"No": {"Fn::Equals": ["a", "b"]}}
    with pytest.raises(ResolutionError, match="F is not created"):
        resolve(tmp_path, {"Ref": "F"}, Resources=resources, Conditions=conditions)


def test_missing_manifest_and_bad_json(tmp_path: Path) -> None:
    with pytest.raises(AssemblyError, match=r"no manifest\.json"):
        load_assembly(tmp_path)
    write_assembly(tmp_path, {"S": {}})
    (tmp_path / "S.template.json").write_text("{nope")
    with pytest.raises(AssemblyError, match="not valid JSON"):
        load_assembly(tmp_path)


def test_duplicate_stack_names_are_refused(tmp_path: Path) -> None:
    write_assembly(tmp_path / "nested", {"S": {}})
    write_assembly(tmp_path, {"S": {}})
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["artifacts"]["assembly-x"] = {
        "type": "cdk:cloud-assembly",
        "properties": {"directoryName": "nested"},
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(AssemblyError, match="several stacks are named"):
        load_assembly(tmp_path)


# -- types --------------------------------------------------------------------------------------------------
def test_unknown_types_never_crash(tmp_path: Path) -> None:
    resources = {
        "C": {"Type": "Custom::X", "Properties": {"ServiceToken": "t"}},
        "Q": {"Type": "AWS::New::Thing", "Properties": {"Name": "named"}},
        "M": {"Type": "AWS::CDK::Metadata", "Properties": {"Analytics": "v2"}},
    }
    value = [{"Fn::GetAtt": ["C", "Anything"]}, {"Fn::GetAtt": ["Q", "Arn"]}, {"Ref": "Q"}]
    custom, arn, ref = resolve(tmp_path, value, Resources=resources)
    assembly = load_assembly(tmp_path)
    c = assembly.stack("S").resources["C"]
    assert custom == f"{c.physical_id}.Anything" and c.attributes == {"Anything": custom}
    assert (arn, ref) == ("arn:aws:new:us-east-1:000000000000:thing/named", "named")
    assert assembly.unsupported == {"AWS::New::Thing": 1, "AWS::SSM::Parameter": 1, "Custom::X": 1}


def test_generated_names_respect_length_limits(tmp_path: Path) -> None:
    long_id = "VeryLongLogicalIdentifierForAFunctionThatGoesOnAndOn0123456789ABCDEF"
    resources = {
        long_id: {"Type": FN},
        "Bucket": {"Type": "AWS::S3::Bucket"},
        "Machine": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {"DefinitionString": "{}"}},
    }
    stack_name = "AVeryLongStackNameThatWouldNotFitInAFunctionName"
    write_assembly(tmp_path, {stack_name: {"Resources": resources}})
    stack = load_assembly(tmp_path).stack(stack_name)
    fn = stack.resources[long_id].physical_id
    assert len(fn) == 64 and fn.startswith("AVeryLongStackNameThatWo-VeryLong") and fn[-14] == "-"
    bucket = stack.resources["Bucket"].physical_id
    assert len(bucket) <= 63 and bucket == bucket.lower()
    assert len(stack.resources["Machine"].attributes["Name"]) <= 80


def test_iam_paths_and_managed_policy_refs(tmp_path: Path) -> None:
    resources = {
        "R": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "r", "Path": "/svc/"}},
        "M": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"ManagedPolicyName": "m"}},
    }
    value = [{"Fn::GetAtt": ["R", "Arn"]}, {"Ref": "M"}, {"Ref": "R"}]
    assert resolve(tmp_path, value, Resources=resources) == [
        "arn:aws:iam::000000000000:role/svc/r",
        "arn:aws:iam::000000000000:policy/m",
        "r",
    ]


def test_state_machine_definition_applies_substitutions() -> None:
    machine = Resource(
        "M",
        "AWS::StepFunctions::StateMachine",
        {"Definition": {"StartAt": "${s}"}, "DefinitionSubstitutions": {"s": "A", "unused": 1}},
        "arn",
    )
    assert state_machine_definition(machine) == '{"StartAt":"A"}'


# -- paths ------------------------------------------------------------------------------------------------
def asset(path: str) -> dict[str, Any]:
    return {
        "h1": {"source": {"path": path, "packaging": "zip"}, "destinations": {"d": {"objectKey": "h1.zip"}}}
    }


def test_asset_folder_is_mapped_by_hash(tmp_path: Path) -> None:
    (tmp_path / "asset.h1").mkdir(parents=True)
    write_assembly(tmp_path, {"S": {}}, {"S": asset("asset.h1")})
    assert load_assembly(tmp_path).stack("S").assets == {"h1": (tmp_path / "asset.h1").resolve()}


@pytest.mark.parametrize("path", ["../outside", "asset.h1/../../outside", "/etc"])
def test_asset_paths_may_not_escape(tmp_path: Path, path: str) -> None:
    (tmp_path / "outside").mkdir()
    root = write_assembly(tmp_path / "cdk.out", {"S": {}}, {"S": asset(path)})
    with pytest.raises(AssetPathError, match="outside the cloud assembly"):
        load_assembly(root)


def test_symlinked_asset_escaping_is_refused(tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    root = write_assembly(tmp_path / "cdk.out", {"S": {}}, {"S": asset("asset.h1")})
    (root / "asset.h1").symlink_to(tmp_path / "outside")
    with pytest.raises(AssetPathError):
        load_assembly(root)


def test_template_and_nested_paths_may_not_escape(tmp_path: Path) -> None:
    root = write_assembly(tmp_path / "cdk.out", {"S": {}})
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["artifacts"]["S"]["properties"]["templateFile"] = "../S.template.json"
    (root / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(AssetPathError, match="template path"):
        load_assembly(root)
    manifest["artifacts"] = {"n": {"type": "cdk:cloud-assembly", "properties": {"directoryName": ".."}}}
    (root / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(AssetPathError, match="nested assembly path"):
        load_assembly(root)


def test_missing_asset_folder_is_a_clear_error(tmp_path: Path) -> None:
    write_assembly(tmp_path, {"S": {}}, {"S": asset("asset.h1")})
    with pytest.raises(AssemblyError, match=r"asset h1 of stack S: .* does not exist"):
        load_assembly(tmp_path)


# -- properties ---------------------------------------------------------------------------------------------
words = st.text(alphabet="abcxyz-_.0123", min_size=0, max_size=6)


@settings(max_examples=60, deadline=None)
@given(
    items=st.lists(words, min_size=1, max_size=6), delimiter=st.sampled_from([",", "|", "::"]), data=st.data()
)
def test_select_of_split_of_join_roundtrips(
    tmp_path_factory: pytest.TempPathFactory, items: list[str], delimiter: str, data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, len(items) - 1))
    value = {"Fn::Select": [index, {"Fn::Split": [delimiter, {"Fn::Join": [delimiter, items]}]}]}
    assert resolve(tmp_path_factory.mktemp("h"), value) == items[index]


MORE_TYPES: dict[str, Any] = {
    "F": FUNCTION,
    "V": {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": {"Ref": "F"}}},
    "A": {"Type": "AWS::Lambda::Alias", "Properties": {"FunctionName": {"Ref": "F"}, "Name": "live"}},
    "T": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "t"}},
    "Sub": {"Type": "AWS::SNS::Subscription", "Properties": {"TopicArn": {"Ref": "T"}, "Protocol": "sqs"}},
    "K": {"Type": "AWS::KMS::Key"},
    "Sec": {"Type": "AWS::SecretsManager::Secret", "Properties": {"Name": "s"}},
    "Act": {"Type": "AWS::StepFunctions::Activity", "Properties": {"Name": "act"}},
    "Key": {"Type": "AWS::ApiGateway::ApiKey"},
    "Plan": {"Type": "AWS::ApiGateway::UsagePlan"},
    "Rule": {"Type": "AWS::Events::Rule", "Properties": {"Name": "r", "EventBusName": "default"}},
    "Esm": {"Type": "AWS::Lambda::EventSourceMapping", "Properties": {"FunctionName": {"Ref": "F"}}},
}
FN_ARN = "arn:aws:lambda:us-east-1:000000000000:function:f"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ({"Ref": "V"}, FN_ARN + ":1"),
        ({"Fn::GetAtt": ["V", "Version"]}, "1"),
        ({"Ref": "A"}, FN_ARN + ":live"),
        ({"Ref": "Sub"}, r"arn:aws:sns:us-east-1:000000000000:t:[0-9a-f-]{36}"),
        ({"Fn::GetAtt": ["K", "Arn"]}, r"arn:aws:kms:us-east-1:000000000000:key/[0-9a-f-]{36}"),
        ({"Ref": "Sec"}, r"arn:aws:secretsmanager:us-east-1:000000000000:secret:s-[A-Za-z0-9]{6}"),
        ({"Ref": "Act"}, "arn:aws:states:us-east-1:000000000000:activity:act"),
        ({"Ref": "Key"}, "[a-z0-9]{10}"),
        ({"Ref": "Plan"}, "[a-z0-9]{6}"),
        ({"Ref": "Rule"}, "r"),
        ({"Fn::GetAtt": ["Rule", "Arn"]}, "arn:aws:events:us-east-1:000000000000:rule/r"),
        ({"Ref": "Esm"}, "[0-9a-f-]{36}"),
    ],
)
def test_refs_and_attributes_of_more_types(tmp_path: Path, expression: Any, expected: str) -> None:
    value = resolve(tmp_path, expression, Resources=MORE_TYPES)
    assert re.fullmatch(expected, value), value


def test_required_property_missing_is_named(tmp_path: Path) -> None:
    resources = {"V": {"Type": "AWS::Lambda::Version"}}
    with pytest.raises(ResolutionError, match="AWS::Lambda::Version V has no FunctionName property"):
        resolve(tmp_path, {"Ref": "V"}, Resources=resources)
