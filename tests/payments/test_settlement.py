"""Bulk reconciliation from a gateway's settlement file: Alipay's GBK bill, WeChat Pay's backticked bill and a
plain CSV; each paid line applied through the callback path once (imported twice: applied once), mismatches
and unknown references listed, the whole import kept; only finance may import."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from orders.models import Order
from payments.models import Payment, SettlementImport
from payments.settlement import SettlementFileInvalid, settlement_import
from tests.conftest import order_body
from tests.factories import UserFactory


def alipay_bill(rows) -> bytes:
    head = (
        "#支付宝业务明细查询\n#账号：[20880000000000000156]\n"
        "#起始日期：[2026年12月01日 00:00:00]   终止日期：[2026年12月02日 00:00:00]\n"
        "#-----------------------------------------业务明细列表----------------------------------------\n"
        "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,"
        "商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,"
        "卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注\n"
    )
    body = "".join(
        f"{trade},{ref},{kind},茶具,2026-12-01 10:00:00,2026-12-01 10:00:05,,,,,buyer@example.com,{amount},{amount},"
        "0.00,0.00,0.00,0.00,0.00,,0.00,0.00,,-0.59,0.00,\n"
        for trade, ref, kind, amount in rows
    )
    tail = "#-----------------------------------------业务明细列表结束-----------------------\n#交易合计：1笔\n"
    return (head + body + tail).encode("gb18030")


def wechat_bill(rows) -> bytes:
    head = (
        "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,"
        "应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,"
        "手续费,费率,订单金额,申请退款金额,费率备注\n"
    )
    body = "".join(
        f"`2026-12-01 10:00:00,`wx8888888888888888,`1900000109,`0,`,`{txn},`{ref},`oUpF8uMuAJO,`NATIVE,`{state},"
        f"`CMC,`CNY,`{amount},`0.00,`0,`0,`0.00,`0.00,`,`,`茶具,`,`0.59,`0.60%,`{amount},`0.00,`\n"
        for txn, ref, state, amount in rows
    )
    tail = (
        "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n"
        "`1,`1.00,`0.00,`0.00,`0.01,`1.00,`0.00\n"
    )
    return (head + body + tail).encode()


@pytest.fixture
def pending(api, place, product):
    """Three orders with a pending payment each, through the given gateway."""

    def make(gateway):
        refs = []
        for i in range(3):
            number = place(order_body(customer={**order_body()["customer"], "id": f"s-{gateway}-{i}"})).json()["number"]
            payment = api.post(f"/api/v1/orders/{number}/payments/", {"gateway": gateway}, format="json").json()
            refs.append((payment["reference"], Decimal(payment["amount"])))
        return refs

    return make


@pytest.mark.django_db
@pytest.mark.parametrize("source", ["alipay", "wechatpay", "plain"])
def test_a_settlement_file_pays_once_and_lists_what_does_not_match(pending, source):
    gateway = {"alipay": "alipay", "wechatpay": "wechatpay", "plain": "stripe"}[source]
    (ok, total), (wrong, wrong_total), (untouched, _t) = pending(gateway)
    lines = [("T1", ok, total), ("T2", wrong, wrong_total + 1), ("T3", "P-NOT-OURS", Decimal("5.00"))]
    if source == "alipay":
        content = alipay_bill([(t, r, "交易", f"{a:.2f}") for t, r, a in lines] + [("T4", untouched, "退款", "1.00")])
    elif source == "wechatpay":
        content = wechat_bill(
            [(t, r, "SUCCESS", f"{a:.2f}") for t, r, a in lines] + [("T4", untouched, "REFUND", "1.00")]
        )
    else:
        content = (
            "reference,amount,currency,transaction_id\n" + "".join(f"{r},{a:.2f},CNY,{t}\n" for t, r, a in lines)
        ).encode()
    finance = UserFactory(username="fin", group="Finance")

    first = settlement_import(source=source, file_name="bill.csv", content=content, actor=finance)
    again = settlement_import(source=source, file_name="bill.csv", content=content, actor=finance)

    by_ref = {r["reference"]: r for r in first.results}
    assert by_ref[ok]["outcome"] == "applied" and Payment.objects.get(reference=ok).status == "paid"
    assert Order.objects.get(payments__reference=ok).status == "confirmed"
    assert by_ref[wrong]["outcome"] == "flagged" and Payment.objects.get(reference=wrong).status == "pending"
    assert "mismatch" in Payment.objects.get(reference=wrong).attention
    assert by_ref["P-NOT-OURS"]["outcome"] == "unmatched"
    if source != "plain":
        assert (
            by_ref[untouched]["outcome"] == "skipped" and Payment.objects.get(reference=untouched).status == "pending"
        )
    assert {r["reference"]: r["outcome"] for r in again.results}[ok] == "duplicate"  # applied once
    assert Payment.objects.get(reference=ok).events.filter(kind="settlement").count() == 2
    assert SettlementImport.objects.count() == 2 and first.actor == "fin"


@pytest.mark.django_db
def test_a_malformed_file_changes_nothing(pending):
    (ref, _total), *_ = pending("alipay")
    with pytest.raises(SettlementFileInvalid):
        settlement_import(
            source="wechatpay", file_name="x.csv", content=alipay_bill([("T", ref, "交易", "1.00")]), actor="t"
        )
    bad_amount = f"reference,amount,currency,transaction_id\n{ref},12e3,CNY,T\n".encode()
    with pytest.raises(SettlementFileInvalid):
        settlement_import(source="plain", file_name="x.csv", content=bad_amount, actor="t")
    with pytest.raises(SettlementFileInvalid):
        settlement_import(source="plain", file_name="x.csv", content=b"\xff\xfe\x00garbage", actor="t")
    assert not SettlementImport.objects.exists() and Payment.objects.get(reference=ref).status == "pending"


@pytest.mark.django_db
def test_finance_uploads_in_the_admin_and_customer_service_may_not(client, pending):
    (ref, total), *_ = pending("stripe")
    content = f"reference,amount,currency,transaction_id\n{ref},{total:.2f},CNY,ch_1\nP-NOPE,1.00,CNY,ch_2\n".encode()
    url = reverse("admin:payments_settlementimport_add")
    client.force_login(UserFactory(username="cs", group="Customer service"))
    assert client.get(url).status_code == 403
    client.force_login(UserFactory(username="fin", group="Finance"))
    response = client.post(url, {"source": "plain", "file": SimpleUploadedFile("bill.csv", content)})
    imported = SettlementImport.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{imported.pk}/change/")
    page = client.get(response["Location"]).content.decode()
    assert 'data-outcome="unmatched"' in page and "P-NOPE" in page and 'data-outcome="applied"' in page
    bad = client.post(url, {"source": "alipay", "file": SimpleUploadedFile("bill.csv", content)})
    assert bad.status_code == 200 and SettlementImport.objects.count() == 1  # refused on the form, nothing kept
