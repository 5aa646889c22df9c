"""A stand-in for AWS CLI v2 answering `aws eks describe-cluster-versions`, `describe-addon-versions` and
`aws pricing get-products` the way the real CLI does, from a scenario file ($AWS_STAND_IN_SCENARIO,
JSON), for `ops catalog` tests.

What it copies from the real one (botocore's EKS model and paginators-1.json, aws-cli v2's
paginate.py, timestampformat.py, return-codes.rst, errorformat.py):
  - output keys and nesting of DescribeClusterVersions (clusterVersions[]) and DescribeAddonVersions
    (addons[].addonVersions[].compatibilities[]), status spelled STANDARD_SUPPORT / EXTENDED_SUPPORT;
  - timestamps as CLI v2 prints them by default (cli_timestamp_format iso8601): the wire's epoch
    seconds turned into the machine's local time zone, e.g. 2025-11-25T16:00:00-08:00;
  - pagination with --max-items: the result key truncated and a top-level "NextToken" (base64 of
    {"boto_truncate_amount": n}) to pass back as --starting-token;
  - `--addon-name` of an add-on EKS does not have: `{"addons": []}` and exit 0;
  - errors on stderr in the enhanced format of CLI >= 2.34 with the documented exit codes:
    254 for a service error (ThrottlingException ... (reached max retries: 2): Rate exceeded),
    253 for missing credentials, 252 for a parameter it does not know.
  - GetProducts (the AWS Price List Query API): `--filters` as JSON, TERM_MATCH on a product's
    attributes (regionCode among them), the answer {"FormatVersion", "PriceList": [JSON *strings*]}
    with product.attributes and terms.OnDemand.<sku>.<offer>.priceDimensions.<rate>.pricePerUnit.USD,
    from the scenario's "products" ({serviceCode, attributes, unit, usd}).
The scenario can also make a page fail, answer text that is not JSON, or answer with a field left
out, to stand for the unkind answers. Every call is appended to $AWS_STAND_IN_LOG.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import sys

OPERATIONS = {
    "describe-cluster-versions": ("DescribeClusterVersions", "clusterVersions"),
    "describe-addon-versions": ("DescribeAddonVersions", "addons"),
    "get-products": ("GetProducts", "PriceList"),
}
SERVICES = {"eks": ("describe-cluster-versions", "describe-addon-versions"), "pricing": ("get-products",)}
COMMON = {"--output", "--region", "--max-items", "--starting-token", "--addon-name", "--kubernetes-version",
          "--page-size", "--include-all", "--cluster-type", "--service-code", "--filters", "--format-version"}
# The Price List Query API's endpoints (the CLI fails to connect anywhere else).
PRICING_REGIONS = ("us-east-1", "eu-central-1", "ap-south-1")
TIMESTAMPS = ("releaseDate", "endOfStandardSupportDate", "endOfExtendedSupportDate")


def fail(code: int, message: str) -> None:
    sys.stderr.write(f"\naws: [ERROR]: {message}\n")
    sys.exit(code)


def parse(argv: list[str]) -> tuple[str, str, dict[str, str]]:
    if len(argv) < 2 or argv[1] not in SERVICES.get(argv[0], ()):
        fail(252, f"argument operation: Invalid choice: {' '.join(argv[:2])!r}")
    options: dict[str, str] = {}
    rest = argv[2:]
    while rest:
        name = rest.pop(0)
        if name not in COMMON:
            fail(252, f"Unknown options: {name}")
        if name == "--include-all":
            options[name] = "true"
            continue
        if not rest:
            fail(252, f"argument {name}: expected one argument")
        options[name] = rest.pop(0)
    return argv[0], argv[1], options


def iso(epoch: float, offset_hours: int) -> str:
    zone = datetime.timezone(datetime.timedelta(hours=offset_hours))
    return datetime.datetime.fromtimestamp(epoch, zone).isoformat()


def price_list(products: list[dict], service_code: str, filters: list[dict]) -> list[str]:
    """The products matching every TERM_MATCH filter, each as the JSON string the API answers."""
    answer = []
    for index, product in enumerate(products):
        attributes = product["attributes"]
        if product["serviceCode"] != service_code or not all(
                f["Type"] == "TERM_MATCH" and attributes.get(f["Field"]) == f["Value"] for f in filters):
            continue
        sku = f"SKU{index:08d}"
        offer = f"{sku}.JRTCKXETXF"
        answer.append(json.dumps({
            "product": {"productFamily": attributes.get("productFamily", ""), "attributes": attributes, "sku": sku},
            "serviceCode": service_code,
            "terms": {"OnDemand": {offer: {"priceDimensions": {f"{offer}.6YS6EN2CT7": {
                "unit": product["unit"], "endRange": "Inf", "beginRange": "0",
                "description": f"${product['usd']} per {product['unit']}",
                "rateCode": f"{offer}.6YS6EN2CT7", "appliesTo": [],
                "pricePerUnit": {"USD": f"{product['usd']:.10f}"}}},
                "sku": sku, "effectiveDate": "2026-11-01T00:00:00Z", "offerTermCode": "JRTCKXETXF",
                "termAttributes": {}}}},
            "version": "20261101000000", "publicationDate": "2026-11-01T00:00:00Z",
        }))
    return answer


def result_items(scenario: dict, operation: str, options: dict) -> list:
    """Every item the operation answers, before --max-items pages them."""
    if operation == "describe-cluster-versions":
        items = []
        for entry in scenario["clusterVersions"]:
            entry = dict(entry)
            for key in TIMESTAMPS:
                if isinstance(entry.get(key), (int, float)):
                    entry[key] = iso(entry[key], scenario.get("utcOffsetHours", -8))
            items.append(entry)
        return items
    if operation == "get-products":
        return price_list(scenario.get("products", []), options.get("--service-code", ""),
                          json.loads(options.get("--filters", "[]")))
    name = options.get("--addon-name")
    return [addon for addon in scenario["addons"] if name is None or addon["addonName"] == name]


def main() -> None:
    scenario = json.loads(open(os.environ["AWS_STAND_IN_SCENARIO"], encoding="utf-8").read())
    _, operation, options = parse(sys.argv[1:])
    with open(os.environ["AWS_STAND_IN_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps(sys.argv[1:]) + "\n")
    api_name, result_key = OPERATIONS[operation]
    if not scenario.get("credentials", True):
        fail(253, 'An error occurred (NoCredentials): Unable to locate credentials. '
                  'You can configure credentials by running "aws login".')
    if "--region" not in options and not os.environ.get("AWS_REGION"):
        fail(253, 'You must specify a region. You can also configure your region by running "aws configure".')

    if operation == "get-products" and options.get("--region", os.environ.get("AWS_REGION")) not in PRICING_REGIONS:
        fail(255, f'Could not connect to the endpoint URL: "https://api.pricing.{options.get("--region")}.amazonaws.com/"')
    call = {"describe-cluster-versions": operation,
            "get-products": f"{operation}:{options.get('--service-code', '')}"}.get(
        operation, f"{operation}:{options.get('--addon-name', '')}")
    start = 0
    if "--starting-token" in options:
        start = json.loads(base64.b64decode(options["--starting-token"]))["boto_truncate_amount"]
    page_number = start // int(options.get("--max-items", "1000000"))
    for failure in scenario.get("failures", []):
        if failure["call"] == call and failure.get("page", 0) == page_number:
            if failure["kind"] == "throttle":
                fail(254, f"An error occurred (ThrottlingException) when calling the {api_name} operation "
                          "(reached max retries: 2): Rate exceeded")
            if failure["kind"] == "not-json":
                sys.stdout.write("<html><body>Service Unavailable</body></html>\n")
                sys.exit(0)

    items = result_items(scenario, operation, options)
    answer: dict = {result_key: items}
    if "--max-items" in options:
        size = int(options["--max-items"])
        answer[result_key] = items[start:start + size]
        if start + size < len(items):
            answer["NextToken"] = base64.b64encode(
                json.dumps({"nextToken": None, "boto_truncate_amount": start + size}).encode()).decode()
    for failure in scenario.get("failures", []):
        if failure["call"] == call and failure.get("page", 0) == page_number and failure["kind"] == "drop-key":
            del answer[result_key]
    sys.stdout.write(json.dumps(answer, indent=4) + "\n")


if __name__ == "__main__":
    main()
