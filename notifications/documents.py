"""The order confirmation PDF attached to the payment-confirmed e-mail."""

from io import BytesIO

from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))


def order_confirmation_pdf(order) -> bytes:
    styles = getSampleStyleSheet()
    for style in styles.byName.values():
        style.fontName = "STSong-Light"
    buffer = BytesIO()
    rows = [[_("SKU"), _("Name"), _("Qty"), _("Unit price"), _("Total")]] + [
        [i.sku, Paragraph(i.name, styles["BodyText"]), i.quantity, f"{i.unit_price:.2f}", f"{i.total_price:.2f}"]
        for i in order.items.all()
    ]
    for label, amount in (
        (_("Subtotal"), order.subtotal),
        (_("Shipping"), order.shipping),
        (_("Discount"), -order.discount),
        (_("Tax"), order.tax),
        (_("Total"), order.total),
    ):
        rows.append(["", "", "", label, f"{amount:.2f} {order.currency}"])
    table = Table(rows, colWidths=[80, 200, 40, 80, 100])
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), "STSong-Light"),
                ("GRID", (0, 0), (-1, len(order.items.all())), 0.5, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
            ]
        )
    )
    SimpleDocTemplate(buffer, pagesize=A4, title=f"{order.number}").build(
        [
            Paragraph(_("Order confirmation %(number)s") % {"number": order.number}, styles["Title"]),
            Paragraph(f"{order.customer_name} · {order.street}, {order.city} {order.postal_code}", styles["Normal"]),
            Spacer(1, 12),
            table,
        ]
    )
    return buffer.getvalue()
