import gettext
from pathlib import Path

import pytest
from django.urls import reverse

from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent


def entries(text: str) -> list[tuple[str, str]]:
    """(msgid, msgstr) of every entry of a .po file, multi-line strings joined."""
    result = []
    for block in text.split("\n\n"):
        parts = {"msgid": [], "msgstr": []}
        current = None
        for line in block.splitlines():
            if line.startswith(("msgid ", "msgstr ")):
                current = line.split(" ", 1)[0]
                parts[current].append(line.split(" ", 1)[1][1:-1])
            elif line.startswith('"') and current:
                parts[current].append(line[1:-1])
            elif line.startswith("msgid_plural"):
                current = None
        msgid = "".join(parts["msgid"])
        if msgid:
            result.append(
                (
                    msgid.encode().decode("unicode_escape").encode("latin-1").decode("utf-8"),
                    "".join(parts["msgstr"]).encode().decode("unicode_escape").encode("latin-1").decode("utf-8"),
                )
            )
    return result


@pytest.mark.parametrize("po", sorted(ROOT.glob("*/locale/zh_Hans/LC_MESSAGES/django.po")), ids=str)
def test_every_string_has_a_zh_hans_translation_and_a_compiled_catalogue(po):
    text = po.read_text()
    found = entries(text)
    assert found
    assert [msgid for msgid, msgstr in found if not msgstr] == []
    assert "#, fuzzy" not in text
    with po.with_suffix(".mo").open("rb") as mo:
        catalog = gettext.GNUTranslations(mo)
    for msgid, msgstr in found:
        assert catalog.gettext(msgid) == msgstr, f"{po.with_suffix('.mo')} is stale: compile the .po again"


@pytest.mark.django_db
def test_admin_follows_the_browser_language(client):
    client.force_login(UserFactory(username="boss", is_superuser=True))
    page = client.get(reverse("admin:orders_order_changelist"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert "订单" in page.content.decode()
    page = client.get(reverse("admin:orders_order_changelist"), HTTP_ACCEPT_LANGUAGE="en")
    assert "Select order to change" in page.content.decode()


@pytest.mark.django_db
def test_api_errors_speak_the_callers_language(api):
    response = api.post("/api/v1/orders/", {}, format="json", HTTP_ACCEPT_LANGUAGE="zh-Hans")
    assert response.json() == {
        "code": "idempotency_key_missing",
        "detail": "请发送由 1-255 个可见 ASCII 字符组成的 Idempotency-Key 请求头。",
    }
