"""`python -m ops catalog refresh-prices`: catalog/prices.json from the AWS Price List API, asked through
the stand-in CLI (tests/support/aws_cli_stand_in.py), which answers GetProducts' real shape."""

from __future__ import annotations

import datetime
import json
import shutil

import pytest

from ops import catalog, cost, prices
from ops.__main__ import main
from tests.ops.test_catalog import PROJECT, StandIn
from tests.support.clock import SUITE_TODAY

DAY = datetime.date(2026, 12, 1)


def product(key: str, region: str, usd: float, usagetype_prefix: str = "USE1-") -> dict:
    query = prices.query_for(key)
    return {"serviceCode": query.service_code, "unit": query.unit, "usd": usd,
            "attributes": {**dict(query.filters), "regionCode": region, "servicecode": query.service_code,
                           "usagetype": usagetype_prefix + query.usagetype_suffix}}


def aws_prices(**moved: float) -> list[dict]:
    """Every price the refresh asks for in us-east-1, at the committed file's rates unless `moved`
    (key with '_' for '.', e.g. ec2_instance_t3_small=0.03), and decoys each query's filters also match."""
    book = prices.load()
    products = []
    for key, price in book.regions["us-east-1"].items():
        products.append(product(key, "us-east-1", moved.get(key.replace(".", "_").replace("-", "_"), price.usd)))
    # The per-GB charge of a NAT gateway matches its filter too; the same product in another region.
    bytes_charge = product("vpc.nat-gateway", "us-east-1", 0.045)
    bytes_charge["attributes"]["usagetype"] = "USE1-NatGateway-Bytes"
    bytes_charge["unit"] = "GB"
    return products + [bytes_charge, product("vpc.nat-gateway", "eu-west-1", 0.048, "EU-")]


@pytest.fixture
def project(tmp_path, monkeypatch):
    copy = tmp_path / "project"
    (copy / "catalog").mkdir(parents=True)
    for name in ["Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml", "catalog/prices.json"]:
        shutil.copy(PROJECT / name, copy / name)
    monkeypatch.setattr(catalog, "PROJECT_DIR", copy)
    return copy


@pytest.fixture
def aws(tmp_path, monkeypatch):
    stand_in = StandIn(tmp_path, monkeypatch)
    stand_in.answer({"products": aws_prices()})
    return stand_in


def refresh_prices(*extra: str) -> int:
    return main(["catalog", "refresh-prices", "--today", DAY.isoformat(), *extra])


def test_the_refresh_writes_aws_prices_with_the_retrieval_date_and_their_source(project, aws):
    aws.answer({"products": aws_prices(ec2_instance_t3_small=0.0232)})
    assert refresh_prices() == 0
    book = prices.load(project / "catalog" / "prices.json")
    assert book.retrieved == DAY.isoformat()
    assert book.regions["us-east-1"]["ec2.instance.t3.small"] == prices.Price(0.0232, "Hrs", "price-list-api")
    assert {price.source for price in book.regions["us-east-1"].values()} == {"price-list-api"}
    assert set(book.regions["us-east-1"]) == set(prices.load().regions["us-east-1"])


def test_the_cost_model_prices_with_what_the_refresh_wrote(project, aws):
    aws.answer({"products": aws_prices(ec2_instance_t3_small=0.0232)})
    assert refresh_prices() == 0
    before = cost.estimate_stack("dev", today=SUITE_TODAY, book=prices.load())
    after = cost.estimate_stack("dev", today=SUITE_TODAY, book=prices.load(project / "catalog" / "prices.json"))
    assert round(after.total[1] - before.total[1], 2) == pytest.approx(2 * 730 * (0.0232 - 0.0208), abs=0.011)


def test_the_refresh_asks_the_price_list_endpoint_in_us_east_1_for_the_stacks_region(project, aws):
    assert refresh_prices() == 0
    calls = aws.calls
    assert calls and all(call[:2] == ["pricing", "get-products"] for call in calls)
    assert all(call[call.index("--region") + 1] == "us-east-1" for call in calls)
    filters = [json.loads(call[call.index("--filters") + 1]) for call in calls]
    assert all({"Type": "TERM_MATCH", "Field": "regionCode", "Value": "us-east-1"} in f for f in filters)


def test_the_refresh_follows_the_answers_pages(project, aws, monkeypatch):
    monkeypatch.setattr(catalog, "PAGE_ITEMS", 1)
    assert refresh_prices() == 0
    assert any("--starting-token" in call for call in aws.calls)


def test_a_price_aws_does_not_answer_fails_naming_it_and_writes_nothing(project, aws, capsys):
    aws.answer({"products": [p for p in aws_prices() if not p["attributes"]["usagetype"].endswith("BoxUsage:t3.small")]})
    before = (project / "catalog" / "prices.json").read_bytes()
    assert refresh_prices() == 1
    assert "ec2.instance.t3.small in us-east-1: 0 products" in capsys.readouterr().err
    assert (project / "catalog" / "prices.json").read_bytes() == before


def test_a_price_in_another_unit_than_expected_fails_the_refresh(project, aws, capsys):
    products = aws_prices()
    next(p for p in products if p["attributes"]["usagetype"].endswith("EBS:VolumeUsage.gp3"))["unit"] = "GB-Hrs"
    aws.answer({"products": products})
    assert refresh_prices() == 1
    assert "priced per GB-Hrs, expected per GB-Mo" in capsys.readouterr().err


def test_a_throttled_answer_fails_the_refresh_and_writes_nothing(project, aws, capsys):
    aws.answer({"products": aws_prices(), "failures": [{"call": "get-products:AmazonEKS", "kind": "throttle"}]})
    before = (project / "catalog" / "prices.json").read_bytes()
    assert refresh_prices() == 1
    assert "ThrottlingException" in capsys.readouterr().err
    assert (project / "catalog" / "prices.json").read_bytes() == before


def test_the_stand_in_refuses_a_pricing_endpoint_aws_does_not_serve(aws):
    import subprocess
    answer = subprocess.run(["aws", "pricing", "get-products", "--service-code", "AmazonEC2", "--region", "eu-west-1"],
                            capture_output=True, text=True)
    assert answer.returncode == 255 and "Could not connect to the endpoint URL" in answer.stderr


def test_the_committed_price_file_says_its_entries_were_copied_from_aws_price_pages():
    book = prices.load()
    sources = {price.source for region in book.regions.values() for price in region.values()}
    assert all(source == "price-list-api" or source.startswith("aws-docs https://aws.amazon.com/") for source in sources)


def test_the_committed_price_file_prices_every_region_and_instance_type_the_stacks_use():
    regions, types = prices.stack_needs()
    book = prices.load()
    for region in regions:
        assert set(prices.QUERIES) | {prices.instance_key(t) for t in types} <= set(book.regions[region])


def test_the_price_file_agrees_with_the_control_plane_rates_eks_versions_warns_about():
    import eks_versions
    us = prices.load().regions["us-east-1"]
    assert (us["eks.cluster.standard"].usd, us["eks.cluster.extended"].usd) == (
        eks_versions.STANDARD_USD_PER_CLUSTER_HOUR, eks_versions.EXTENDED_USD_PER_CLUSTER_HOUR)
