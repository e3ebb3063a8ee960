"""The order confirmation PDF attached to the payment-confirmed e-mail, and the tracking link's QR code."""

from io import BytesIO

import segno
from django.utils.translation import gettext as _
from reportlab.graphics.shapes import Drawing, Rect
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))


def qr_png(url: str) -> bytes:
    buffer = BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=5, border=4)
    return buffer.getvalue()


def _qr_drawing(url: str, size: float = 110) -> Drawing:
    """The QR code as vector squares, so the PDF needs no image library."""
    matrix = [list(row) for row in segno.make(url, error="m").matrix_iter(scale=1, border=4)]
    cell = size / len(matrix)
    drawing = Drawing(size, size)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                drawing.add(Rect(x * cell, size - (y + 1) * cell, cell, cell, fillColor=colors.black, strokeColor=None))
    return drawing


def order_confirmation_pdf(order, *, tracking_url: str) -> bytes:
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
            Spacer(1, 18),
            Paragraph(_("Follow your order: %(url)s") % {"url": tracking_url}, styles["Normal"]),
            _qr_drawing(tracking_url),
        ]
    )
    return buffer.getvalue()
