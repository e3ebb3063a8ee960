"""The printable picking list as a PDF (reportlab: no system libraries needed)."""

from io import BytesIO

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .models import Shipment

pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))  # built-in CJK font: product names are often Chinese


def picking_list_pdf(shipment: Shipment) -> bytes:
    styles = getSampleStyleSheet()
    for style in styles.byName.values():
        style.fontName = "STSong-Light"
    order = shipment.order
    buffer = BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, title=f"Picking list {order.number}")
    rows = [["Bin", "SKU", "Name", "Qty", "Weight (g)", "Fragile"]] + [
        [
            line.location,
            line.sku,
            Paragraph(line.name, styles["BodyText"]),
            line.quantity,
            line.weight_grams,
            "FRAGILE" if line.fragile else "",
        ]
        for line in shipment.lines.all()
    ]
    table = Table(rows, colWidths=[60, 90, 200, 35, 60, 55], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), "STSong-Light"),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
            ]
        )
    )
    doc.build(
        [
            Paragraph(f"Picking list — order {order.number}", styles["Title"]),
            Paragraph(
                f"Warehouse {shipment.warehouse.code} · shipment S{shipment.pk} · priority {shipment.priority} · "
                f"{order.shipping_method}",
                styles["Normal"],
            ),
            Paragraph(
                f"Ship to: {order.customer_name}, {order.street}, {order.city} {order.postal_code}, "
                f"{order.country} · {order.customer_phone}",
                styles["Normal"],
            ),
            Spacer(1, 12),
            table,
        ]
    )
    return buffer.getvalue()
