"""The order confirmation PDF attached to the payment-confirmed e-mail, and the tracking link's QR code."""

import functools
import itertools
from io import BytesIO

import segno
from django.utils.translation import gettext as _
from reportlab.graphics.shapes import Drawing, Path
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))


@functools.lru_cache(maxsize=16)
def _qr(url: str) -> segno.QRCode:
    """Encoded once for the e-mail's image and the PDF's drawing of the same link. With one fixed mask: trying
    all eight and scoring each (segno's default) was four fifths of the encoding (4.7 of 5.7 ms), the largest
    single cost of the follow-ups worker; scanners read every mask (the tests decode the e-mail's image)."""
    return segno.make(url, error="m", mask=0)


def qr_png(url: str) -> bytes:
    buffer = BytesIO()
    _qr(url).save(buffer, kind="png", scale=5, border=4)
    return buffer.getvalue()


def _qr_drawing(url: str, size: float = 110) -> Drawing:
    """The QR code as vector squares, so the PDF needs no image library: one path of each row's dark runs
    (a shape per module made the confirmation PDF cost ~50 ms, nine tenths of it the QR code)."""
    matrix = list(_qr(url).matrix_iter(scale=1, border=4))
    cell = size / len(matrix)
    path = Path(fillColor=colors.black, strokeColor=None, strokeWidth=0)
    for y, row in enumerate(matrix):
        top, bottom, x = size - y * cell, size - (y + 1) * cell, 0
        for dark, run in itertools.groupby(row):
            end = x + len(list(run))
            if dark:
                path.moveTo(x * cell, bottom)
                path.lineTo(end * cell, bottom)
                path.lineTo(end * cell, top)
                path.lineTo(x * cell, top)
                path.closePath()
            x = end
    drawing = Drawing(size, size)
    drawing.add(path)
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
