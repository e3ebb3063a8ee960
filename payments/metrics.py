import time
from datetime import timedelta

from django.conf import settings
from django.db.models import Count
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, Histogram

from core.metrics import ScrapeGauge

from .models import PaymentEvent

CALLBACKS = Counter(
    "shop_payment_callbacks_total", "Gateway callbacks answered, by gateway and outcome", ["gateway", "outcome"]
)
CALLBACK_SECONDS = Histogram(
    "shop_callback_seconds",
    "Time to answer a gateway callback",
    ["gateway"],
    buckets=(0.01, 0.025, 0.05, 0.08, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


def payment_gauges(registry: CollectorRegistry) -> None:
    callbacks = ScrapeGauge(
        "shop_payment_callbacks_stored",
        "Stored gateway callbacks by gateway and outcome",
        ["gateway", "outcome"],
        registry=registry,
    )
    inbound = PaymentEvent.objects.filter(direction="in")
    for row in inbound.values("gateway", "outcome").annotate(n=Count("id")).order_by():
        callbacks.labels(row["gateway"], row["outcome"]).set(row["n"])


def orders_awaiting_payment_news() -> int:
    """Orders still pending whose payment attempt is older than the stale-payment query's threshold: paid at
    the gateway perhaps, with the callback lost."""
    from .models import Payment

    cutoff = timezone.now() - timedelta(minutes=settings.PAYMENTS_QUERY_AFTER_MINUTES)
    return (
        Payment.objects.filter(status="pending", order__status="pending", created_at__lt=cutoff)
        .values("order_id")
        .distinct()
        .count()
    )


LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.08, 0.1, 0.25, 0.5, 1, 2.5, 5, float("inf"))


def callback_latency_record(gateway: str, seconds: float) -> None:
    """One callback's answer time, in an hourly histogram every web process adds to (sent within a second)."""
    from core.counters import counters_incr_soon

    bucket = next(i for i, bound in enumerate(LATENCY_BUCKETS) if seconds <= bound)
    counters_incr_soon([f"callback-seconds:{int(time.time()) // 3600}:{gateway}:{bucket}"], 8 * 24 * 3600)


def callback_p95(since, gateway: str) -> str:
    """The upper bound of the bucket holding the 95th percentile of the range's answer times."""
    from core.counters import counter_get_many

    hours = range(int(since.timestamp()) // 3600, int(time.time()) // 3600 + 1)
    keys = [f"callback-seconds:{h}:{gateway}:{b}" for h in hours for b in range(len(LATENCY_BUCKETS))]
    counts = counter_get_many(keys)
    per_bucket = [
        sum(counts.get(f"callback-seconds:{h}:{gateway}:{b}", 0) for h in hours) for b in range(len(LATENCY_BUCKETS))
    ]
    total, seen = sum(per_bucket), 0
    for bound, n in zip(LATENCY_BUCKETS, per_bucket, strict=True):
        seen += n
        if total and seen >= 0.95 * total:
            return "> 5 s" if bound == float("inf") else f"≤ {bound * 1000:.0f} ms"
    return "—"


def callback_success(since) -> list[dict]:
    """Per gateway: the share of callbacks received in the range that were applied (replays count as applied),
    and the p95 of their answer times."""
    from django.urls import reverse

    rows = (
        PaymentEvent.objects.filter(direction="in", kind="callback", received_at__gte=since)
        .values("gateway", "outcome")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_gateway: dict[str, dict[str, int]] = {}
    for row in rows:
        by_gateway.setdefault(row["gateway"], {})[row["outcome"]] = row["n"]
    url = reverse("admin:payments_paymentevent_changelist")
    result = []
    for gateway, outcomes in sorted(by_gateway.items()):
        total = sum(n for outcome, n in outcomes.items() if outcome != "received")  # queued: not yet judged
        ok = outcomes.get("applied", 0) + outcomes.get("duplicate", 0)
        result.append(
            {
                "label": gateway,
                "value": f"{100 * ok / max(total, 1):.1f}% of {total} · p95 {callback_p95(since, gateway)}",
                "url": f"{url}?gateway__exact={gateway}",
                "warn": total and ok / total < 0.95,
            }
        )
    return result


def health_panels_register() -> None:
    from django.utils.translation import gettext_lazy

    from core.health import Panel, advice_add, panel_add

    panel_add(Panel("callbacks", gettext_lazy("Gateway callbacks applied, by gateway"), callback_success, rank=40))
    advice_add(callback_advice)


def callback_advice(since) -> list[str]:
    """Per gateway whose callbacks failed more than 2% in the range (of at least 10): the main cause and what
    to do about it."""
    from django.db.models import Q
    from django.utils.translation import gettext as _

    from .models import Gateway

    events = PaymentEvent.objects.filter(direction="in", kind="callback", received_at__gte=since)
    causes = {
        "signature": (
            Q(outcome="rejected", signature_valid=False),
            _("signature errors: check the platform certificate or public key in the settings"),
        ),
        "reference": (
            Q(outcome="rejected", error="unknown reference"),
            _("unknown references: check the storefront sends our payment reference"),
        ),
        "amount": (Q(outcome="flagged"), _("amount mismatches: work through Payments needing attention")),
    }
    rows = events.values("gateway").annotate(
        total=Count("id"),
        failed=Count("id", filter=Q(outcome__in=["rejected", "flagged", "error"])),
        **{cause: Count("id", filter=query) for cause, (query, _text) in causes.items()},
    )
    advice = inbox_advice()
    for row in rows.order_by("gateway"):
        if row["total"] < 10 or row["failed"] / row["total"] <= 0.02:
            continue
        cause = max(causes, key=lambda c: row[c])
        what = causes[cause][1] if row[cause] else _("other errors: read the rejected payment events")
        advice.append(
            _("Callbacks from %(gateway)s failed %(rate).1f%% (%(failed)d of %(total)d), mostly %(what)s.")
            % {
                "gateway": Gateway(row["gateway"]).label,
                "rate": 100 * row["failed"] / row["total"],
                "failed": row["failed"],
                "total": row["total"],
                "what": what,
            }
        )
    return advice


INBOX_LATE_SECONDS = 60


def inbox_advice() -> list[str]:
    """Callbacks answered but not applied for a minute: the gateway was told yes, the order still waits."""
    from django.db.models import Min
    from django.utils import timezone
    from django.utils.translation import gettext as _

    from .services import INBOX

    waiting = PaymentEvent.objects.filter(INBOX).aggregate(n=Count("id"), oldest=Min("received_at"))
    if not waiting["n"] or (timezone.now() - waiting["oldest"]).total_seconds() < INBOX_LATE_SECONDS:
        return []
    return [
        _(
            "%(n)d gateway callbacks were answered but are not applied yet, the oldest since %(since)s: "
            "check the workers consuming the callbacks queue."
        )
        % {"n": waiting["n"], "since": timezone.localtime(waiting["oldest"]).strftime("%H:%M:%S")}
    ]
