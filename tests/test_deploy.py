"""deploy/: the Prometheus alert rules and the Grafana dashboard are well-formed and use only metrics that
/metrics serves (promtool is not on this machine; this checks the shape and every metric name)."""

import json
import re
from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
METRIC = re.compile(r"\b(shop_[a-z_]+)")


def served_names(client) -> set[str]:
    text = client.get("/metrics").content.decode()
    names = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}
    return {re.sub(r"_total$", "", name) for name in names}


def used(expr: str) -> set[str]:
    return {re.sub(r"_(bucket|count|sum|total)$", "", name) for name in METRIC.findall(expr)}


@pytest.mark.django_db
def test_alert_rules_are_well_formed_and_use_served_metrics(client):
    rules = [rule for group in yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())["groups"]
             for rule in group["rules"]]  # fmt: skip
    assert {"ShopCallbackFailureRate", "ShopQueueBacklog", "ShopOrdersStuck", "ShopNoWorkerHeartbeat"} <= {
        r["alert"] for r in rules
    }
    served = served_names(client)
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert rule["labels"]["severity"] in ("info", "warning", "critical") and rule["annotations"]["summary"]
        assert re.fullmatch(r"\d+[smh]", rule.get("for", "0m")), rule["alert"]
        assert rule["expr"].count("(") == rule["expr"].count(")"), rule["alert"]
        assert used(rule["expr"]) and used(rule["expr"]) <= served, (rule["alert"], used(rule["expr"]) - served)


@pytest.mark.django_db
def test_the_grafana_dashboard_uses_served_metrics(client):
    dashboard = json.loads((DEPLOY / "grafana" / "order-health.json").read_text())
    served = served_names(client)
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert len(exprs) >= 10 and len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    for expr in exprs:
        assert used(expr) and used(expr) <= served, (expr, used(expr) - served)
