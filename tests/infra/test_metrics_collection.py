"""Metrics collection: an AMP workspace, its managed scraper, and what the scraper is let reach.

The scrape configuration is held to a real Prometheus-compatible scraper: vmagent checks it with
unknown fields refused, and VictoriaMetrics runs it against a stand-in of the pod discovery API
and a real backend, to show it finds the backend's admin port and nothing else. (Debian's
Prometheus, the only other one installable here, is built without Kubernetes discovery: its
promtool refuses `kubernetes_sd_configs` as an unknown field.)
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml

from components.metrics import MIN_SCRAPE_INTERVAL_SECONDS, ScrapeTarget, scrape_configuration
from ops.offline.fakes import ACCOUNT, CLUSTER_SECURITY_GROUP_ID as CLUSTER_SECURITY_GROUP, REGION
from ops.offline.stacks import evaluate_stack
from tests.app.app_server import AppServer, free_port
from tests.support.fake_pod_discovery import FakePodDiscovery, pod
from tests.support.fake_upstream import FakeUpstream
from tests.support.tools import find_tool

WORKSPACE = "aws:amp/workspace:Workspace"
SCRAPER = "aws:amp/scraper:Scraper"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"



def scrape_config_of(evaluation) -> dict:
    return yaml.safe_load(evaluation.one(SCRAPER).inputs["scrapeConfiguration"])



def test_dev_collects_no_metrics_by_default():
    dev = evaluate_stack("dev")
    assert not dev.of_type(WORKSPACE) and not dev.of_type(SCRAPER)


def test_prod_scraper_writes_to_the_stacks_own_workspace(prod):
    workspace, scraper = prod.one(WORKSPACE), prod.one(SCRAPER)
    assert scraper.inputs["destination"] == {"amp": {"workspaceArn": workspace.outputs["arn"]}}
    assert prod.exports["prometheusEndpoint"] == workspace.outputs["prometheusEndpoint"]


def test_prod_scraper_watches_the_stacks_cluster_from_the_nodes_private_subnets(prod):
    cluster_name = prod.one("eks:index:Cluster").inputs["name"]
    source = prod.one(SCRAPER).inputs["source"]["eks"]
    assert source["clusterArn"] == f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{cluster_name}"
    assert source["subnetIds"] == prod.one("awsx:ec2:Vpc").outputs["privateSubnetIds"]
    assert len(source["subnetIds"]) >= 2


def test_workspace_alias_is_the_stacks_cluster_name(prod):
    assert prod.one(WORKSPACE).inputs["alias"] == prod.one("eks:index:Cluster").inputs["name"]


def test_workspace_declares_the_tag_amp_adds_so_an_up_does_not_remove_it(prod):
    assert prod.one(WORKSPACE).inputs["tags"]["AMPAgentlessScraper"] == ""


def test_scraper_has_a_security_group_of_its_own(prod):
    [group] = [g for g in prod.of_type(SECURITY_GROUP) if g.name == "metrics-scraper-sg"]
    assert prod.one(SCRAPER).inputs["source"]["eks"]["securityGroupIds"] == [f"{group.name}-id"]


def test_scraper_reaches_the_cluster_only_on_the_api_and_the_scraped_ports(prod):
    group_id = next(g for g in prod.of_type(SECURITY_GROUP) if g.name == "metrics-scraper-sg").name + "-id"
    egress = [r.inputs for r in prod.of_type(EGRESS) if r.inputs["securityGroupId"] == group_id]
    assert sorted((r["fromPort"], r["toPort"]) for r in egress) == [(443, 443), (8081, 8081), (8085, 8085)]
    assert all(r["referencedSecurityGroupId"] == CLUSTER_SECURITY_GROUP and "cidrIpv4" not in r for r in egress)


def test_nodes_admit_the_scraper_on_exactly_the_ports_it_may_reach(prod):
    group_id = next(g for g in prod.of_type(SECURITY_GROUP) if g.name == "metrics-scraper-sg").name + "-id"
    admitted = [r.inputs for r in prod.of_type(INGRESS) if r.inputs.get("referencedSecurityGroupId") == group_id]
    assert sorted((r["securityGroupId"], r["fromPort"], r["toPort"]) for r in admitted) == [
        (CLUSTER_SECURITY_GROUP, 443, 443), (CLUSTER_SECURITY_GROUP, 8081, 8081), (CLUSTER_SECURITY_GROUP, 8085, 8085)]


def test_the_program_declares_no_access_entry_for_the_scraper_amp_makes_its_own(prod):
    # AMP creates the scraper's access entry itself in API authentication mode; a second one
    # for the same role would fail the `up`.
    assert not prod.of_type("aws:eks/accessEntry:AccessEntry")
    access_entries = prod.one("eks:index:Cluster").inputs.get("accessEntries") or {}
    assert not any("Prometheus" in str(entry.get("principalArn")) for entry in access_entries.values())


def test_scrape_configuration_parses_with_unknown_fields_refused(prod, tmp_path):
    config = tmp_path / "scraper.yml"
    config.write_text(prod.one(SCRAPER).inputs["scrapeConfiguration"])
    checked = subprocess.run([find_tool("vmagent", ".venv"), f"-promscrape.config={config}", "-promscrape.config.strictParse",
                              "-dryRun", "-loggerLevel=ERROR"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_configuration_check_refuses_a_field_prometheus_does_not_know(tmp_path):
    config = tmp_path / "scraper.yml"
    config.write_text("scrape_configs:\n- job_name: j\n  kubernetes_sd_configs: [{role: pod, namespace: x}]\n")
    checked = subprocess.run([find_tool("vmagent", ".venv"), f"-promscrape.config={config}", "-promscrape.config.strictParse",
                              "-dryRun", "-loggerLevel=ERROR"], capture_output=True, text=True)
    assert checked.returncode != 0


def test_scrape_interval_is_one_amp_accepts(prod):
    interval = scrape_config_of(prod)["global"]["scrape_interval"]
    assert interval.endswith("s") and int(interval[:-1]) >= MIN_SCRAPE_INTERVAL_SECONDS


def test_each_job_watches_only_its_own_namespace(prod):
    jobs = {job["job_name"]: job["kubernetes_sd_configs"] for job in scrape_config_of(prod)["scrape_configs"]}
    assert jobs == {
        "nextwork-flask-backend": [{"role": "pod", "namespaces": {"names": [prod.config["backend-on-eks:namespace"]]}}],
        "cluster-autoscaler": [{"role": "pod", "namespaces": {"names": ["kube-system"]}}],
    }


def test_backend_job_keeps_the_port_the_deployment_names_admin_and_serves_metrics_on(prod):
    deployment = prod.one("kubernetes:apps/v1:Deployment", "workload-deployment")
    [container] = deployment.inputs["spec"]["template"]["spec"]["containers"]
    admin = [port for port in container["ports"] if port["name"] == "admin"]
    assert admin == [{"name": "admin", "containerPort": 8081, "protocol": "TCP"}]
    job = next(j for j in scrape_config_of(prod)["scrape_configs"] if j["job_name"] == "nextwork-flask-backend")
    assert {"source_labels": ["__meta_kubernetes_pod_container_port_name"], "regex": "admin", "action": "keep"} \
        in job["relabel_configs"]


def test_cluster_autoscaler_is_scraped_only_when_it_runs():
    without = evaluate_stack("prod", {"backend-on-eks:nodeAutoscaling": False})
    assert [job["job_name"] for job in scrape_config_of(without)["scrape_configs"]] == ["nextwork-flask-backend"]
    assert 8085 not in {r.inputs["fromPort"] for r in without.of_type(EGRESS)}


def test_dev_with_metrics_places_the_scraper_in_the_public_subnets_its_nodes_use():
    dev = evaluate_stack("dev", {"backend-on-eks:metricsCollection": True})
    assert dev.one(SCRAPER).inputs["source"]["eks"]["subnetIds"] == dev.one("awsx:ec2:Vpc").outputs["publicSubnetIds"]


def test_first_preview_declares_the_scraper_before_the_cluster_exists():
    preview = evaluate_stack("prod", preview=True)
    scraper = preview.one(SCRAPER)
    assert scraper.pending and "nextwork-flask-backend" in scraper.inputs["scrapeConfiguration"]


def test_label_values_are_matched_literally():
    config = yaml.safe_load(scrape_configuration(
        [ScrapeTarget(job="j", namespace="n", pod_labels={"app.kubernetes.io/name": "a.b"}, port_name="m", port=1)], 30))
    [job] = config["scrape_configs"]
    assert job["relabel_configs"][0] == {
        "source_labels": ["__meta_kubernetes_pod_label_app_kubernetes_io_name"], "regex": "a\\.b", "action": "keep"}


def test_a_scrape_interval_amp_refuses_is_refused():
    with pytest.raises(ValueError, match="30 s or more"):
        from components.metrics import Metrics, MetricsArgs
        Metrics("m", MetricsArgs(workspace_alias="w", cluster_arn="arn", vpc_id="v", subnet_ids=[],
                                 node_security_group_id="sg", targets=[], scrape_interval_seconds=15))


# A real scraper running the scraper's configuration. Only what the scraper gets from AWS
# differs: the API server (in the cluster, kubernetes.default.svc; here the stand-in) and the
# interval (1 s, so the test waits a second, not thirty).
def _run_scraper(config: dict, workdir: Path):
    path = workdir / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    port = free_port()
    with open(workdir / "prometheus.out", "wb") as out:
        process = subprocess.Popen(
            [find_tool("victoria-metrics", ".venv"), f"-promscrape.config={path}", f"-storageDataPath={workdir / 'data'}",
             f"-httpListenAddr=127.0.0.1:{port}", "-search.latencyOffset=0s"],
            stdout=out, stderr=subprocess.STDOUT)
    return process, f"http://127.0.0.1:{port}"


def _poll(what, deadline_seconds: float = 30):
    deadline = time.monotonic() + deadline_seconds
    while True:
        try:
            found = what()
        except requests.RequestException:
            found = None
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.25)


def test_a_scraper_running_the_configuration_scrapes_the_backends_admin_port_and_nothing_else(
        prod, tmp_path):
    namespace = prod.config["backend-on-eks:namespace"]
    with FakeUpstream() as upstream, AppServer(tmp_path / "app", {"UPSTREAM_URL": upstream.url}) as backend:
        requests.get(f"{backend.url}/contents/python", timeout=5)
        pods = [
            pod("backend-1", namespace, {"app": "nextwork-flask-backend"}, {"http": backend.port, "admin": backend.admin_port}),
            pod("someone-else", namespace, {"app": "other"}, {"admin": backend.admin_port}),
        ]
        config = scrape_config_of(prod)
        config["global"]["scrape_interval"], config["global"]["scrape_timeout"] = "1s", "1s"
        with FakePodDiscovery(pods) as api:
            for job in config["scrape_configs"]:
                for discovery in job["kubernetes_sd_configs"]:
                    discovery["api_server"] = api.url
            process, url = _run_scraper(config, tmp_path)
            try:
                def backend_target_up():
                    targets = requests.get(f"{url}/api/v1/targets", timeout=2).json()["data"]["activeTargets"]
                    return [t for t in targets if t["health"] == "up"] and targets

                targets = _poll(backend_target_up)
                assert targets, (tmp_path / "prometheus.out").read_text()[-3000:]
                assert [(t["labels"]["job"], t["scrapeUrl"], t["labels"]["pod"]) for t in targets] == [
                    ("nextwork-flask-backend", f"http://127.0.0.1:{backend.admin_port}/metrics", "backend-1")]

                def series():
                    answer = requests.get(f"{url}/api/v1/query", params={"query": "http_requests_total"}, timeout=2)
                    return answer.json()["data"]["result"]

                found = _poll(series)
                assert any(s["metric"].get("route") == "/contents/<topic:topic>" and s["metric"]["namespace"] == namespace
                           for s in found), repr([s["metric"] for s in found])
                # What the README says is collected, as the scraper stored it after one search.
                for name in ("http_request_duration_seconds_bucket", "upstream_requests_total",
                             "upstream_request_duration_seconds_bucket", "cache_lookups_total"):
                    def named(name=name):
                        return requests.get(f"{url}/api/v1/query", params={"query": name}, timeout=2).json()["data"]["result"]
                    assert _poll(named, 10), name
                asked = {path.split("?")[0] for path in api.paths}
                assert asked == {f"/api/v1/namespaces/{namespace}/pods", "/api/v1/namespaces/kube-system/pods"}, asked
            finally:
                process.terminate()
                process.wait(timeout=10)


def test_two_stacks_of_one_account_collect_into_workspaces_and_scrapers_of_their_own(prod):
    dev = evaluate_stack("dev", {"backend-on-eks:metricsCollection": True})
    aliases = [(e.one(WORKSPACE).inputs["alias"], e.one(SCRAPER).inputs["alias"]) for e in (dev, prod)]
    assert aliases == [("backend-on-eks-dev", "backend-on-eks-dev"), ("backend-on-eks-prod", "backend-on-eks-prod")]
