"""Production settings: nothing insecure by default, `check --deploy` clean, required settings required."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def manage(*args, **env):
    environment = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "METRICS_TOKEN", "ALLOWED_HOSTS")}
    environment.update({"DJANGO_SETTINGS_MODULE": "config.settings.production", **env})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


PRODUCTION = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "shop.example.com",
    "METRICS_TOKEN": secrets.token_urlsafe(24),
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
}


def test_check_deploy_is_clean_under_production_settings():
    run = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "no issues" in run.stdout


def test_production_refuses_to_start_without_its_secrets():
    for missing in ("SECRET_KEY", "ALLOWED_HOSTS", "METRICS_TOKEN"):
        env = {k: v for k, v in PRODUCTION.items() if k != missing}
        run = manage("check", **env)
        assert run.returncode != 0 and missing in run.stderr, (missing, run.stderr[-500:])


def test_production_serves_https_only_with_hsts_and_secure_cookies():
    run = manage(
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS > 0, "
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.DEBUG, s.CELERY_TASK_TIME_LIMIT)",
        **PRODUCTION,
    )
    assert run.stdout.strip().splitlines()[-1].split() == ["True", "True", "True", "True", "False", "360"], (
        run.stdout + run.stderr
    )


def test_production_talks_to_the_live_gateways_and_has_no_sandbox_ledger():
    probe = (
        "from django.apps import apps; from payments.gateways import get_gateway; "
        "print(apps.is_installed('payments.sandbox'), type(get_gateway('alipay')).__name__)"
    )
    live = manage("shell", "-c", probe, **PRODUCTION)
    assert live.stdout.strip().splitlines()[-1] == "False AlipayGateway", live.stdout + live.stderr
    staging = manage("shell", "-c", probe, PAYMENTS_SANDBOX="true", **PRODUCTION)
    assert staging.stdout.strip().splitlines()[-1] == "True SandboxAlipay", staging.stdout + staging.stderr
