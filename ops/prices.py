"""catalog/prices.json: the AWS prices the cost model (ops/cost.py) uses, and their refresh from AWS.

`python -m ops catalog refresh-prices` asks the AWS Price List Query API (`aws pricing
get-products`, read-only, `pricing:GetProducts`) for each price the model needs, in every region a
stack of the repository uses (and every region the file already holds), and rewrites the file with
the day it asked; every entry it wrote says `"source": "price-list-api"`. A sibling of `catalog
refresh` rather than a part of it: it needs another permission, and a failure of one must not hold
up the other.

The Price List API is served from a few regions only (us-east-1 among them), whatever region is
priced: the priced region is a filter (`regionCode`), the endpoint is `--region us-east-1`.
Each answer's PriceList is a list of JSON *strings*, one product each, with `product.attributes`
and `terms.OnDemand.<offer>.priceDimensions.<rate>.pricePerUnit.USD`; a filter may match several
products (the hourly and the per-GB charge of a NAT gateway), so each query also names the
usagetype suffix (the region prefix, USE1-, varies) and the unit it expects. A query that matches
no product or several, or prices another unit, fails the refresh and names the query: no file is
written.
"""

from __future__ import annotations

import datetime
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent
PRICES_FILE = PROJECT_DIR / "catalog" / "prices.json"
PRICE_LIST_REGION = "us-east-1"
PRICE_LIST_SOURCE = "price-list-api"
COMMENT = ("USD prices the cost model (ops/cost.py) uses; written by `python -m ops catalog refresh-prices` "
           "from the AWS Price List API. An entry whose source starts with 'aws-docs' was copied by hand "
           "from that AWS price page before a refresh ran; 'price-list-api' ones were answered by AWS.")


class PriceError(Exception):
    """The price file is unreadable, or AWS's answer is not one the file can trust."""


@dataclass(frozen=True)
class Query:
    service_code: str
    filters: tuple[tuple[str, str], ...]
    usagetype_suffix: str
    unit: str
    """The Price List's own unit of the dimension (Hrs, GB-Mo, ...): another one fails the refresh."""


def _general(service: str, suffix: str, unit: str, *filters: tuple[str, str]) -> Query:
    return Query(service, filters, suffix, unit)


# Every price key but the instances', with the query that answers it. What each costs per unit
# is in the file; what the model counts of it (hours, GB, keys) is ops/cost.py's business.
QUERIES: dict[str, Query] = {
    "eks.cluster.standard": _general("AmazonEKS", "AmazonEKS-Hours:perCluster", "Hrs"),
    "eks.cluster.extended": _general("AmazonEKS", "AmazonEKS-Hours:extendedSupport", "Hrs"),
    "ebs.gp3": _general("AmazonEC2", "EBS:VolumeUsage.gp3", "GB-Mo", ("volumeApiName", "gp3"), ("productFamily", "Storage")),
    "vpc.nat-gateway": _general("AmazonEC2", "NatGateway-Hours", "Hrs", ("productFamily", "NAT Gateway")),
    "vpc.public-ipv4": _general("AmazonVPC", "PublicIPv4:InUseAddress", "Hrs"),
    "elb.nlb": _general("AWSELB", "LoadBalancerUsage", "Hrs", ("productFamily", "Load Balancer-Network")),
    "elb.nlcu": _general("AWSELB", "LCUUsage", "LCU-Hrs", ("productFamily", "Load Balancer-Network")),
    "kms.key": _general("awskms", "KMS-Keys", "Keys"),
    "logs.ingestion": _general("AmazonCloudWatch", "DataProcessing-Bytes", "GB"),
    "logs.storage": _general("AmazonCloudWatch", "TimedStorage-ByteHrs", "GB-Mo"),
    "ecr.storage": _general("AmazonECR", "TimedStorage-ByteHrs", "GB-Mo"),
    "amp.samples": _general("AmazonPrometheus", "AMP:MetricSampleCount", "Samples"),
}
INSTANCE_PREFIX = "ec2.instance."


def instance_key(instance_type: str) -> str:
    return f"{INSTANCE_PREFIX}{instance_type}"


def query_for(key: str) -> Query:
    if key.startswith(INSTANCE_PREFIX):
        instance_type = key[len(INSTANCE_PREFIX):]
        # Linux, shared tenancy, no pre-installed software, on-demand capacity in use: what a
        # managed node group with an AL2023 AMI runs.
        return Query("AmazonEC2", (("instanceType", instance_type), ("operatingSystem", "Linux"),
                                   ("tenancy", "Shared"), ("preInstalledSw", "NA"), ("capacitystatus", "Used"),
                                   ("licenseModel", "No License required")), f"BoxUsage:{instance_type}", "Hrs")
    return QUERIES[key]


@dataclass(frozen=True)
class Price:
    usd: float
    unit: str
    source: str


@dataclass(frozen=True)
class PriceBook:
    retrieved: str
    hours_per_month: int
    regions: dict[str, dict[str, Price]]

    def price(self, region: str, key: str) -> Price:
        """KeyError with the reason, for the model to list the resource as unpriced."""
        if region not in self.regions:
            raise KeyError(f"catalog/prices.json has no prices for region {region} "
                           f"(it has {', '.join(sorted(self.regions)) or 'none'}): run `python -m ops catalog refresh-prices`")
        if key not in self.regions[region]:
            raise KeyError(f"catalog/prices.json has no {key} price in {region}: "
                           "run `python -m ops catalog refresh-prices`")
        return self.regions[region][key]


def load(path: Path = PRICES_FILE) -> PriceBook:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        regions = {
            region: {key: Price(float(entry["usd"]), str(entry["unit"]), str(entry["source"]))
                     for key, entry in entries.items()}
            for region, entries in document["regions"].items()
        }
        return PriceBook(str(document["retrieved"]), int(document["hoursPerMonth"]), regions)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise PriceError(f"{path.name}: not a price file ({type(error).__name__}: {error})") from None


def render(book: PriceBook) -> str:
    document = {
        "comment": COMMENT,
        "retrieved": book.retrieved,
        "hoursPerMonth": book.hours_per_month,
        "regions": {region: {key: {"usd": price.usd, "unit": price.unit, "source": price.source}
                             for key, price in sorted(prices.items())}
                    for region, prices in sorted(book.regions.items())},
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


# --- refresh ---------------------------------------------------------------------------------------

def stack_needs(project_dir: Path = PROJECT_DIR) -> tuple[set[str], set[str]]:
    """(regions, instance types) the repository's stacks use, from their files and Pulumi.yaml's defaults."""
    schema = yaml.safe_load((project_dir / "Pulumi.yaml").read_text(encoding="utf-8"))["config"]
    regions, types = set(), set(schema["nodeInstanceTypes"]["default"])
    for stack_file in sorted(project_dir.glob("Pulumi.*.yaml")):
        config = (yaml.safe_load(stack_file.read_text(encoding="utf-8")) or {}).get("config") or {}
        if "aws:region" in config:
            regions.add(str(config["aws:region"]))
        types.update(config.get("backend-on-eks:nodeInstanceTypes") or ())
    return regions, types


def _on_demand_price(product_text: Any, call: str) -> tuple[dict, str, float]:
    """(attributes, unit, USD) of one PriceList entry: its first-tier on-demand dimension."""
    try:
        # Not a string: None, whose subscript below raises the TypeError the caller is told of.
        product: Any = json.loads(product_text) if isinstance(product_text, str) else None
        attributes = product["product"]["attributes"]
        dimensions = [dimension for term in product["terms"]["OnDemand"].values()
                      for dimension in term["priceDimensions"].values()]
        first = [d for d in dimensions if str(d.get("beginRange", "0")) == "0"]
        if len(first) != 1:
            raise ValueError(f"{len(first)} first-tier on-demand prices")
        return attributes, str(first[0]["unit"]), float(first[0]["pricePerUnit"]["USD"])
    except (TypeError, ValueError, KeyError, AttributeError) as error:
        raise PriceError(f"{call}: a PriceList entry without one on-demand USD price ({error})") from None


AwsCall = Callable[[list[str], str, str | None], list[Any]]


def ask(key: str, region: str, aws: AwsCall) -> Price:
    query = query_for(key)
    filters = [{"Type": "TERM_MATCH", "Field": name, "Value": value}
               for name, value in (*query.filters, ("regionCode", region))]
    arguments = ["pricing", "get-products", "--service-code", query.service_code,
                 "--format-version", "aws_v1", "--filters", json.dumps(filters, separators=(",", ":"))]
    call = f"`aws pricing get-products --service-code {query.service_code}` for {key} in {region}"
    found = []
    for entry in aws(arguments, "PriceList", PRICE_LIST_REGION):
        attributes, unit, usd = _on_demand_price(entry, call)
        if str(attributes.get("usagetype", "")).endswith(query.usagetype_suffix):
            found.append((unit, usd))
    if len(found) != 1:
        raise PriceError(f"{call}: {len(found)} products of usagetype *{query.usagetype_suffix}, expected one")
    unit, usd = found[0]
    if unit != query.unit:
        raise PriceError(f"{call}: priced per {unit}, expected per {query.unit}")
    return Price(usd, unit, PRICE_LIST_SOURCE)


def refresh(today: datetime.date, aws: AwsCall, project_dir: Path = PROJECT_DIR) -> tuple[str, list[str]]:
    """The price file's new text and one line per price that moved; asks everything before writing."""
    path = project_dir / "catalog" / "prices.json"
    previous = load(path) if path.exists() else PriceBook("", 730, {})
    regions, types = stack_needs(project_dir)
    regions |= set(previous.regions)
    keys = set(QUERIES) | {instance_key(t) for t in types}
    for prices in previous.regions.values():
        keys |= {key for key in prices if key.startswith(INSTANCE_PREFIX)}
    answered = {region: {key: ask(key, region, aws) for key in sorted(keys)} for region in sorted(regions)}
    changes = []
    for region, prices in answered.items():
        for key, price in prices.items():
            old = previous.regions.get(region, {}).get(key)
            if old is None or old.usd != price.usd:
                changes.append(f"{region} {key}: {f'${old.usd:g}' if old else 'none'} -> ${price.usd:g} per {price.unit}")
    return render(PriceBook(today.isoformat(), previous.hours_per_month, answered)), changes


def write(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.refresh")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


# --- command line ----------------------------------------------------------------------------------

def register_refresh(actions) -> None:
    """`python -m ops catalog refresh-prices`, beside the catalog's own refresh."""
    parser = actions.add_parser(
        "refresh-prices", help="ask the AWS Price List API, rewrite catalog/prices.json, print what moved",
        description="Ask `aws pricing get-products` (endpoint us-east-1; credentials allowing pricing:GetProducts) "
                    "for every price ops/cost.py uses, in every region the stacks use and the file holds, and "
                    "rewrite catalog/prices.json. Nothing is written unless every answer was read and checked.")
    parser.add_argument("--summary", type=Path, metavar="PATH", help="also write the summary here (Markdown)")
    parser.add_argument("--today", type=datetime.date.fromisoformat, default=None, metavar="YYYY-MM-DD",
                        help="the retrieval date written into the file (default: today, UTC)")
    parser.set_defaults(handler=run_refresh)


def run_refresh(args) -> int:
    import sys

    import eks_versions
    from ops import EXIT_FAILED, EXIT_OK, catalog

    today = args.today or eks_versions.utc_today()
    path = catalog.PROJECT_DIR / "catalog" / "prices.json"
    try:
        text, changes = refresh(today, catalog.aws, catalog.PROJECT_DIR)
    except (catalog.CallFailed, PriceError) as error:
        print(f"catalog refresh-prices: {error}; no file was changed", file=sys.stderr)
        return EXIT_FAILED
    write(path, text)
    lines = changes or ["No price moved."]
    summary = "\n".join([f"Price refresh on {today} (AWS Price List API)", "", *[f"- {line}" for line in lines]]) + "\n"
    sys.stdout.write(summary)
    if args.summary is not None:
        args.summary.write_text(summary, encoding="utf-8")
    return EXIT_OK
