"""template.yaml, samconfig.toml and the Makefile: linted, and read as the deployment will be."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import tomllib
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from grpc_transcoder import settings
from grpc_transcoder.loading import sources as descriptor_source
from grpc_transcoder.settings import ErrorFormat, UnknownFields

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
NO_VALUE = {"Ref": "AWS::NoValue"}


@cache
def template() -> dict[str, Any]:
    loaded: dict[str, Any] = cfn_yaml.load(str(TEMPLATE))
    return loaded


def resource(name: str) -> dict[str, Any]:
    found: dict[str, Any] = template()["Resources"][name]
    return found


def function() -> dict[str, Any]:
    properties: dict[str, Any] = resource("TranscoderFunction")["Properties"]
    return properties


def environment() -> dict[str, Any]:
    variables: dict[str, Any] = function()["Environment"]["Variables"]
    return variables


def parameter(name: str) -> dict[str, Any]:
    found: dict[str, Any] = template()["Parameters"][name]
    return found


def branches(value: Any) -> list[Any]:
    """Both outcomes of an Fn::If (AWS::NoValue dropped), or the value itself."""
    if isinstance(value, dict) and "Fn::If" in value:
        _, yes, no = value["Fn::If"]
        return [branch for branch in (yes, no) if branch != NO_VALUE]
    return [value]


def test_template_passes_cfn_lint() -> None:
    result = subprocess.run(
        [shutil.which("cfn-lint") or "cfn-lint", str(TEMPLATE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_function_runs_the_lambda_handler_on_a_current_arm64_python() -> None:
    properties = function()
    assert properties["Handler"] == "grpc_transcoder.lambda_handler.handler"
    spec = find_spec("grpc_transcoder.lambda_handler")
    assert spec is not None
    assert spec.origin is not None
    assert "\ndef handler(" in Path(spec.origin).read_text()
    assert properties["CodeUri"] == "src/"
    assert properties["Architectures"] == ["arm64"]
    # SnapStart needs python3.12 or later; the build needs an interpreter of this version.
    assert re.fullmatch(r"python3\.(1[2-9])", properties["Runtime"])


def test_plain_sam_build_runs_the_makefile() -> None:
    metadata = resource("TranscoderFunction")["Metadata"]
    assert metadata == {"BuildMethod": "makefile", "ContextPath": "."}
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^build-TranscoderFunction:", makefile, re.MULTILINE)
    version = re.search(r"^PYTHON_VERSION := (\S+)$", makefile, re.MULTILINE)
    architecture = re.search(r"^ARCHITECTURE := (\S+)$", makefile, re.MULTILINE)
    assert version, "the Makefile names PYTHON_VERSION"
    assert architecture, "the Makefile names ARCHITECTURE"
    assert f"python{version[1]}" == function()["Runtime"]
    assert [architecture[1]] == function()["Architectures"]


def test_every_environment_variable_is_a_setting_the_code_reads() -> None:
    names = set(environment())
    assert names <= settings.NAMES, f"unknown settings: {sorted(names - settings.NAMES)}"
    assert {"TRANSCODER_DESCRIPTORS", "TRANSCODER_BACKENDS", "TRANSCODER_LOG_LEVEL"} <= names


def _parameter_of(value: Any) -> tuple[str, bool] | None:
    """(parameter, omitted when empty) for `Ref P` or `If [c, Ref P, NoValue]`."""
    options = branches(value)
    if len(options) == 1 and isinstance(options[0], dict) and set(options[0]) == {"Ref"}:
        return str(options[0]["Ref"]), options[0] is not value
    return None


MAPPED = [
    pytest.param(name, mapped, id=name)
    for name, value in environment().items()
    if (mapped := _parameter_of(value)) is not None
]


# Example values of the parameters that have no default (the README's deployment commands).
REQUIRED_EXAMPLES = {"Backends": "grpcs://library.internal:443"}


@pytest.mark.parametrize(("variable", "mapped"), MAPPED)
def test_parameter_defaults_and_allowed_values_are_valid_settings(
    variable: str, mapped: tuple[str, bool]
) -> None:
    name, omitted_when_empty = mapped
    spec = parameter(name)
    values = [*([spec["Default"]] if "Default" in spec else []), *spec.get("AllowedValues", [])]
    if not values:
        # Without a default or allowed values, the deployer must give one: the parameter must
        # say so (MinLength), and the README's example value must be a valid setting.
        assert spec.get("MinLength", 0) >= 1, f"{name} has no default, no choices and may be empty"
        values = [REQUIRED_EXAMPLES[name]]
    for value in values:
        if omitted_when_empty and str(value) == "":
            continue  # the template leaves the variable out: the setting keeps its default
        settings.load({variable: str(value)})  # raises ConfigurationError naming the variable


@pytest.mark.parametrize(
    ("parameter_name", "choices"),
    [
        pytest.param("UnknownQueryParameters", UnknownFields, id="unknown-query-parameters"),
        pytest.param("UnknownJsonFields", UnknownFields, id="unknown-json-fields"),
        pytest.param("ErrorFormat", ErrorFormat, id="error-format"),
    ],
)
def test_choice_parameters_offer_exactly_the_settings_choices(
    parameter_name: str, choices: type[UnknownFields | ErrorFormat]
) -> None:
    assert set(parameter(parameter_name)["AllowedValues"]) == {c.value for c in choices}


def test_descriptor_location_is_the_key_or_the_prefix() -> None:
    condition, prefix, key = environment()["TRANSCODER_DESCRIPTORS"]["Fn::If"]
    assert condition == "UsePrefix"
    assert prefix == {"Fn::Sub": "s3://${DescriptorBucket}/${DescriptorPrefix}"}
    assert key["Fn::If"][2] == {"Fn::Sub": "s3://${DescriptorBucket}/${DescriptorKey}"}
    assert descriptor_source.parse_s3("s3://bucket/descriptors/").is_prefix
    assert not descriptor_source.parse_s3("s3://bucket/descriptors/api.binpb").is_prefix
    assert template()["Conditions"]["UsePrefix"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "DescriptorPrefix"}, ""]}]
    }
    assert re.fullmatch(parameter("DescriptorPrefix")["AllowedPattern"], "descriptors/")
    assert not re.fullmatch(parameter("DescriptorPrefix")["AllowedPattern"], "descriptors")
    assert "OneDescriptorLocation" in template()["Rules"]


def _statements() -> list[dict[str, Any]]:
    role = resource("TranscoderRole")["Properties"]
    found: list[dict[str, Any]] = []
    for policy in role["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            found.extend(branches(statement))
    return found


def _actions(statement: dict[str, Any]) -> set[str]:
    actions = statement["Action"]
    return {actions} if isinstance(actions, str) else set(actions)


def test_the_role_grants_only_logs_and_the_descriptor_objects() -> None:
    assert "Policies" not in function(), "permissions belong on TranscoderRole"
    assert function()["Role"] == {"Fn::GetAtt": ["TranscoderRole", "Arn"]}
    statements = _statements()
    assert all(s["Effect"] == "Allow" for s in statements)
    granted = set().union(*(_actions(s) for s in statements))
    assert granted == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:ListBucket",
    }
    (logs,) = [s for s in statements if "logs:PutLogEvents" in _actions(s)]
    assert logs["Resource"] == {"Fn::GetAtt": ["TranscoderLogGroup", "Arn"]}


def test_objects_are_readable_only_at_the_key_or_under_the_prefix() -> None:
    get, config = [s for s in _statements() if _actions(s) == {"s3:GetObject"}]
    assert config["Resource"]["Fn::Sub"].endswith(":s3:::${DescriptorBucket}/${ServiceConfigKey}")
    condition, under_prefix, at_key = get["Resource"]["Fn::If"]
    assert condition == "UsePrefix"
    assert under_prefix["Fn::Sub"].endswith(":s3:::${DescriptorBucket}/${DescriptorPrefix}*")
    assert at_key["Fn::Sub"].endswith(":s3:::${DescriptorBucket}/${DescriptorKey}")


def test_listing_is_allowed_only_under_the_prefix_and_only_with_a_prefix() -> None:
    role = resource("TranscoderRole")["Properties"]
    (read,) = [p for p in role["Policies"] if p["PolicyName"] == "read-descriptors"]
    listing = read["PolicyDocument"]["Statement"][1]
    condition, statement, otherwise = listing["Fn::If"]
    assert (condition, otherwise) == ("UsePrefix", NO_VALUE)
    assert statement["Action"] == "s3:ListBucket"
    assert statement["Resource"]["Fn::Sub"].endswith(":s3:::${DescriptorBucket}")
    assert statement["Condition"] == {
        "StringLike": {"s3:prefix": {"Fn::Sub": "${DescriptorPrefix}*"}}
    }


def test_a_service_config_is_read_only_at_its_key_and_only_when_given() -> None:
    role = resource("TranscoderRole")["Properties"]
    (read,) = [p for p in role["Policies"] if p["PolicyName"] == "read-descriptors"]
    condition, statement, otherwise = read["PolicyDocument"]["Statement"][2]["Fn::If"]
    assert (condition, otherwise, statement["Action"]) == (
        "HasServiceConfig",
        NO_VALUE,
        "s3:GetObject",
    )
    variable = environment()["TRANSCODER_SERVICE_CONFIG"]["Fn::If"]
    assert variable == [
        "HasServiceConfig",
        {"Fn::Sub": "s3://${DescriptorBucket}/${ServiceConfigKey}"},
        NO_VALUE,
    ]
    pattern = re.compile(parameter("ServiceConfigKey")["AllowedPattern"])
    assert pattern.fullmatch("")
    assert pattern.fullmatch("config/library.yaml")
    assert not pattern.fullmatch("config/")
    assert not pattern.fullmatch("library.yaml?versionId=1")
    assert settings.load({"TRANSCODER_SERVICE_CONFIG": "s3://bucket/config/library.yaml"})


def test_vpc_access_only_when_subnets_are_given() -> None:
    conditions = template()["Conditions"]
    assert conditions["InVpc"] == {
        "Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "SubnetIds"}]}, ""]}]
    }
    vpc = function()["VpcConfig"]["Fn::If"]
    assert (vpc[0], vpc[2]) == ("InVpc", NO_VALUE)
    assert vpc[1] == {
        "SubnetIds": {"Ref": "SubnetIds"},
        "SecurityGroupIds": {"Ref": "SecurityGroupIds"},
    }
    managed = resource("TranscoderRole")["Properties"]["ManagedPolicyArns"]["Fn::If"]
    assert (managed[0], managed[2]) == ("InVpc", NO_VALUE)
    (arn,) = managed[1]
    assert arn["Fn::Sub"].endswith(":iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")
    assert parameter("SubnetIds")["Default"] == ""


def test_an_s3_gateway_endpoint_is_created_only_on_request() -> None:
    endpoint = resource("S3GatewayEndpoint")
    assert endpoint["Condition"] == "CreateS3Endpoint"
    properties = endpoint["Properties"]
    assert properties["VpcEndpointType"] == "Gateway"
    assert properties["ServiceName"] == {"Fn::Sub": "com.amazonaws.${AWS::Region}.s3"}
    assert properties["RouteTableIds"] == {"Ref": "S3EndpointRouteTableIds"}
    assert parameter("S3EndpointRouteTableIds")["Default"] == ""


def test_an_http_api_sends_every_path_to_the_live_alias() -> None:
    routes = [resource(name)["Properties"] for name in ("RootRoute", "ProxyRoute")]
    assert {route["RouteKey"] for route in routes} == {"ANY /", "ANY /{proxy+}"}
    assert all(
        route["Target"] == {"Fn::Sub": "integrations/${TranscoderIntegration}"} for route in routes
    )
    integration = resource("TranscoderIntegration")["Properties"]
    assert integration["IntegrationUri"] == {"Ref": "TranscoderFunction.Alias"}
    assert integration["PayloadFormatVersion"] == "2.0"
    permission = resource("ApiInvokePermission")["Properties"]
    assert permission["FunctionName"] == {"Ref": "TranscoderFunction.Alias"}
    assert permission["Principal"] == "apigateway.amazonaws.com"


def _chosen(value: Any, conditions: dict[str, bool], authorization: str) -> Any:
    """`value` with Fn::If, Fn::FindInMap (on Authorization) and NoValue resolved."""
    if isinstance(value, dict) and "Fn::If" in value:
        name, yes, no = value["Fn::If"]
        return _chosen(yes if conditions[name] else no, conditions, authorization)
    if isinstance(value, dict) and "Fn::FindInMap" in value:
        mapping, key, attribute = value["Fn::FindInMap"]
        assert key == {"Ref": "Authorization"}
        return template()["Mappings"][mapping][authorization][attribute]
    return None if value == NO_VALUE else value


@pytest.mark.parametrize(
    ("authorization", "route_type", "authorizer", "openapi_security"),
    [
        ("none", "NONE", None, "none"),
        ("jwt", "JWT", "JwtAuthorizer", "jwt"),
        ("iam", "AWS_IAM", None, "iam"),
        ("lambda", "CUSTOM", "LambdaAuthorizer", "jwt"),
    ],
)
def test_every_route_takes_the_chosen_authorization(
    authorization: str, route_type: str, authorizer: str | None, openapi_security: str
) -> None:
    assert "Default" not in parameter("Authorization"), "the deployer must choose, none included"
    conditions = {"AuthJwt": authorization == "jwt", "AuthLambda": authorization == "lambda"}
    for name in ("RootRoute", "ProxyRoute"):
        route = resource(name)["Properties"]
        assert _chosen(route["AuthorizationType"], conditions, authorization) == route_type
        chosen = _chosen(route["AuthorizerId"], conditions, authorization)
        assert chosen == ({"Ref": authorizer} if authorizer else None)
    if authorizer:
        assert resource(authorizer)["Condition"] == f"Auth{authorization.capitalize()}"
    security = _chosen(environment()["TRANSCODER_OPENAPI_SECURITY"], conditions, authorization)
    assert settings.load({"TRANSCODER_OPENAPI_SECURITY": security}).openapi_security.value == (
        openapi_security
    )


def test_jwt_authorizer_reads_the_bearer_token_of_the_issuer() -> None:
    jwt = resource("JwtAuthorizer")["Properties"]
    assert jwt["AuthorizerType"] == "JWT"
    assert jwt["IdentitySource"] == ["$request.header.Authorization"]
    assert jwt["JwtConfiguration"] == {
        "Issuer": {"Ref": "JwtIssuer"},
        "Audience": {"Ref": "JwtAudiences"},
    }
    rules = template()["Rules"]
    assert rules["JwtNeedsIssuer"]["RuleCondition"] == {
        "Fn::Equals": [{"Ref": "Authorization"}, "jwt"]
    }
    assert rules["LambdaNeedsAuthorizer"]["RuleCondition"] == {
        "Fn::Equals": [{"Ref": "Authorization"}, "lambda"]
    }


def test_the_sam_transform_accepts_the_template_for_every_authorization(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What `sam deploy` sends through CloudFormation's AWS::Serverless transform."""
    from samtranslator.translator.transform import transform

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    for authorization in parameter("Authorization")["AllowedValues"]:
        document = copy.deepcopy(template())
        document["Resources"]["TranscoderFunction"]["Properties"]["CodeUri"] = "s3://b/code.zip"
        values = {
            "DescriptorBucket": "descriptors",
            "DescriptorKey": "api.binpb",
            "Backends": "library.internal:50051",
            "Authorization": authorization,
            "JwtIssuer": "https://issuer.example.com",
            "JwtAudiences": "client",
            "LambdaAuthorizerArn": "arn:aws:lambda:eu-west-1:123456789012:function:authorizer",
        }
        resources = transform(document, values, NoManagedPolicies())["Resources"]
        alias = {"Ref": "TranscoderFunctionAliaslive"}
        assert resources["TranscoderIntegration"]["Properties"]["IntegrationUri"] == alias
        assert resources["ApiInvokePermission"]["Properties"]["FunctionName"] == alias


def test_throttling_access_logs_tracing_and_json_logs() -> None:
    stage = resource("TranscoderStage")["Properties"]
    assert stage["DefaultRouteSettings"] == {
        "ThrottlingBurstLimit": {"Ref": "ThrottlingBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "ThrottlingRateLimit"},
    }
    access = stage["AccessLogSettings"]
    assert access["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert json.loads(access["Format"].replace("$context.", ""))["status"] == "status"
    assert function()["Tracing"] == {"Ref": "Tracing"}
    assert function()["ReservedConcurrentExecutions"]["Fn::If"][0] == "HasReservedConcurrency"
    logging_config = function()["LoggingConfig"]
    assert logging_config["LogFormat"] == "JSON"
    levels = template()["Mappings"]["LambdaLogLevels"]
    assert set(levels) == set(parameter("LogLevel")["AllowedValues"])
    assert levels["WARNING"] == {"Level": "WARN"}


def test_alarms_watch_the_emf_metrics_and_lambdas_own() -> None:
    alarms = {
        name: r["Properties"]
        for name, r in template()["Resources"].items()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }
    assert set(alarms) == {"FaultRateAlarm", "LatencyAlarm", "ErrorsAlarm", "ThrottlesAlarm"}
    namespace = settings.Settings().metrics_namespace
    fault_metrics = {
        m["MetricStat"]["Metric"]["MetricName"]
        for m in alarms["FaultRateAlarm"]["Metrics"]
        if "MetricStat" in m
    }
    assert fault_metrics == {"Faults", "Requests"}
    assert all(
        m["MetricStat"]["Metric"]["Namespace"] == namespace
        for m in alarms["FaultRateAlarm"]["Metrics"]
        if "MetricStat" in m
    )
    assert alarms["LatencyAlarm"]["Namespace"] == namespace
    assert alarms["LatencyAlarm"]["ExtendedStatistic"] == "p99"
    assert {alarms[n]["MetricName"] for n in ("ErrorsAlarm", "ThrottlesAlarm")} == {
        "Errors",
        "Throttles",
    }
    for alarm in alarms.values():
        assert alarm["AlarmActions"]["Fn::If"][0] == "HasAlarmTopic"


def test_a_pinned_descriptor_version_is_readable_and_rolls_back() -> None:
    location = environment()["TRANSCODER_DESCRIPTORS"]["Fn::If"][2]["Fn::If"]
    assert location[0] == "PinnedVersion"
    pinned = location[1]["Fn::Sub"]
    assert pinned == "s3://${DescriptorBucket}/${DescriptorKey}?versionId=${DescriptorVersionId}"
    parsed = descriptor_source.parse_s3("s3://bucket/api.binpb?versionId=3HL4kqtJlcpXroDTDmJ")
    assert parsed.version_id == "3HL4kqtJlcpXroDTDmJ"
    role = resource("TranscoderRole")["Properties"]
    (read,) = [p for p in role["Policies"] if p["PolicyName"] == "read-descriptors"]
    versions = [
        s["Fn::If"]
        for s in read["PolicyDocument"]["Statement"]
        if "Fn::If" in s and s["Fn::If"][0] == "PinnedVersion"
    ]
    assert versions[0][1]["Action"] == "s3:GetObjectVersion"
    assert "VersionNeedsKey" in template()["Rules"]
    assert "SecurityGroupsWithSubnets" in template()["Rules"]


def test_cors_is_configured_only_with_origins_and_in_one_place() -> None:
    cors = resource("TranscoderApi")["Properties"]["CorsConfiguration"]["Fn::If"]
    assert (cors[0], cors[2]) == ("CorsInApi", NO_VALUE)  # on the API itself
    assert cors[1]["AllowOrigins"] == {"Fn::Split": [",", {"Ref": "CorsOrigins"}]}
    conditions = template()["Conditions"]
    assert conditions["UseCors"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "CorsOrigins"}, ""]}]}
    assert parameter("CorsOrigins")["Default"] == ""
    assert set(parameter("CorsHandledBy")["AllowedValues"]) == {"api", "function"}
    # The API and the function never both answer CORS: each needs origins and its own choice.
    for where, condition in (("api", "CorsInApi"), ("function", "CorsInFunction")):
        assert conditions[condition] == {
            "Fn::And": [
                {"Condition": "UseCors"},
                {"Fn::Equals": [{"Ref": "CorsHandledBy"}, where]},
            ]
        }
    for variable, value in (
        ("TRANSCODER_CORS_ORIGINS", "CorsOrigins"),
        ("TRANSCODER_CORS_ALLOW_HEADERS", "CorsAllowHeaders"),
    ):
        assert environment()[variable] == {"Fn::If": ["CorsInFunction", {"Ref": value}, NO_VALUE]}
        settings.load({variable: str(parameter(value)["Default"] or "https://app.example.com")})


def test_logs_go_to_a_log_group_with_retention() -> None:
    assert function()["LoggingConfig"]["LogGroup"] == {"Ref": "TranscoderLogGroup"}
    group = resource("TranscoderLogGroup")["Properties"]
    assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert (
        parameter("LogRetentionDays")["Default"] in parameter("LogRetentionDays")["AllowedValues"]
    )


def test_snapstart_is_optional_and_needs_a_published_version() -> None:
    snapstart = function()["SnapStart"]["Fn::If"]
    assert snapstart == ["UseSnapStart", {"ApplyOn": "PublishedVersions"}, NO_VALUE]
    assert function()["AutoPublishAlias"]
    assert parameter("SnapStart")["Default"] == "false"


def test_outputs_name_the_api_url_and_the_function() -> None:
    outputs = template()["Outputs"]
    assert outputs["ApiUrl"]["Value"]["Fn::Sub"].startswith("https://${TranscoderApi}.execute-api.")
    assert outputs["FunctionName"]["Value"] == {"Ref": "TranscoderFunction"}


def test_the_issue_parameters_exist_with_sizes_in_range() -> None:
    names = set(template()["Parameters"])
    wanted = {"DescriptorBucket", "DescriptorKey", "DescriptorPrefix", "Backends", "SubnetIds"}
    wanted |= {"SecurityGroupIds", "MemorySize", "Timeout", "LogLevel", "CorsOrigins"}
    assert wanted <= names
    for name in ("MemorySize", "Timeout"):
        spec = parameter(name)
        assert spec["MinValue"] <= spec["Default"] <= spec["MaxValue"]
    assert parameter("Timeout")["Default"] < 30, "an HTTP API waits at most 30 s"


def _overrides(environment_name: str) -> dict[str, str]:
    """parameter_overrides as SAM reads them: `Key=Value`, a value maybe in single quotes."""
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    entries = config[environment_name]["deploy"]["parameters"]["parameter_overrides"]
    pairs = (entry.split("=", 1) for entry in entries)
    return {key: value.removeprefix("'").removesuffix("'") for key, value in pairs}


@pytest.mark.parametrize("environment_name", ["default", "private"])
def test_samconfig_environments_deploy_after_sam_build(environment_name: str) -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())[environment_name]
    deploy = config["deploy"]["parameters"]
    assert deploy["resolve_s3"] is True
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert config["global"]["parameters"]["stack_name"]
    overrides = _overrides(environment_name)
    parameters = template()["Parameters"]
    assert set(overrides) <= set(parameters)
    required = {name for name, spec in parameters.items() if "Default" not in spec}
    assert required <= set(overrides)
    assert bool(overrides.get("DescriptorKey")) != bool(overrides.get("DescriptorPrefix"))
    assert any("REPLACE" in value for value in overrides.values()), "placeholders say what to set"


def test_the_example_environment_passes_a_json_backend_map() -> None:
    backends = _overrides("private")["Backends"]
    loaded = settings.load({"TRANSCODER_BACKENDS": backends})
    assert dict(loaded.backends) == {
        "library.v1.*": "library.internal:50051",
        "*": "grpcs://api.internal:443",
    }
