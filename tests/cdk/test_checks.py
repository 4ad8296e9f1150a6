"""The sample app passes cdk-nag's AwsSolutions pack and cfn-lint.

Every cdk-nag finding left is acknowledged in code with a reason; the list below pins which ones, so
a new finding (or a fixed one) shows up here rather than silently.
"""

from __future__ import annotations

import json
from typing import Any

from cfnlint.api import ManualArgs, lint_file

from tests.cdk.synthesized import Synthesized

ACKNOWLEDGED = {
    # the sample's choices (AsyncGateSampleStack)
    "AwsSolutions-APIG2",
    "AwsSolutions-APIG3",
    "AwsSolutions-APIG4",
    "AwsSolutions-COG4",
    "AwsSolutions-L1",
    # true by construction (the constructs)
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
    "AwsSolutions-IAM5[Resource::*]",
    "AwsSolutions-IAM5[Resource::<AsyncGateProcessorFunction134D6AD6.Arn>:*]",
}


def _aws_solutions_report(sample: Synthesized) -> Any:
    report = json.loads((sample.assembly_dir / "validation-report.json").read_text())
    [plugin] = [p for p in report["pluginReports"] if p["pluginName"] == "AwsSolutions"]
    return plugin


def test_cdk_nag_finds_nothing_unacknowledged(sample: Synthesized) -> None:
    # synth itself raises on an unacknowledged error; warnings only show in the report
    report = _aws_solutions_report(sample)
    assert report["conclusion"] == "success"
    assert report["violations"] == []


def test_no_error_or_warning_annotations(sample: Synthesized) -> None:
    metadata = json.loads(sample.template_file.with_name("AsyncGateSample.metadata.json").read_text())
    annotations = [
        (path, entry["type"], entry["data"])
        for path, entries in metadata.items()
        for entry in entries
        if entry["type"] in ("aws:cdk:error", "aws:cdk:warning")
    ]
    assert annotations == []


def test_cdk_nag_acknowledgements_are_the_known_ones_with_reasons(sample: Synthesized) -> None:
    suppressed = _aws_solutions_report(sample)["suppressedViolations"]
    assert {finding["ruleName"] for finding in suppressed} == ACKNOWLEDGED
    assert all(len(finding["reason"]) > 20 for finding in suppressed)


def test_cfn_lint_is_clean_but_for_w3005(sample: Synthesized) -> None:
    # W3005: CDK adds DependsOn on a role that a GetAtt already implies; harmless and by design.
    matches = lint_file(sample.template_file, ManualArgs(regions=["us-east-1"]))
    assert [(m.rule.id, m.message) for m in matches if m.rule.id != "W3005"] == []
