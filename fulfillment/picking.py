"""The warehouse's printed papers as PDFs: the picking list and the parcel label (reportlab: no system
libraries needed)."""

from collections.abc import Iterable
from io import BytesIO

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .models import Shipment

pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))  # built-in CJK font: product names are often Chinese


def _styles():
    styles = getSampleStyleSheet()
    for style in styles.byName.values():
        style.fontName = "STSong-Light"
    return styles


def picking_lists_pdf(shipments: Iterable[Shipment]) -> bytes:
    """One A4 page (or more) per shipment, lines in picking-route order."""
    styles = _styles()
    story = []
    for shipment in shipments:
        story += [*_picking_list(shipment, styles), PageBreak()]
    return _build(story[:-1], pagesize=A4, title="Picking lists")


def parcel_labels_pdf(shipments: Iterable[Shipment]) -> bytes:
    """One 100 x 150 mm thermal label per shipment: the tracking number as a Code 128 barcode, then what the
    carrier's e-waybill said (route code, recipient), or the order's address for a hand-typed number."""
    styles = _styles()
    story = []
    for shipment in shipments:
        story += [*_parcel_label(shipment, styles), PageBreak()]
    margin = 5 * mm
    return _build(story[:-1], pagesize=(100 * mm, 150 * mm), title="Parcel labels", margin=margin)


def _build(story: list, *, pagesize, title: str, margin: float = 72) -> bytes:
    buffer = BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=pagesize,
        title=title,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin,
        bottomMargin=margin,
    )
    doc.build(story)
    return buffer.getvalue()


def _picking_list(shipment: Shipment, styles) -> list:
    order = shipment.order
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
    return [
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


def _parcel_label(shipment: Shipment, styles) -> list:
    order, warehouse = shipment.order, shipment.warehouse
    lines = shipment.label.splitlines() or [
        f"To: {order.customer_name} {order.customer_phone}",
        f"{order.province} {order.city} {order.street} {order.postal_code}".strip(),
    ]
    if any(line.fragile for line in shipment.lines.all()):
        lines.append("FRAGILE · 易碎")
    sender = f"From: {warehouse.contact_name or warehouse.name} {warehouse.phone} {warehouse.city} {warehouse.street}"
    return [
        Paragraph(f"{shipment.get_carrier_display()} · {shipment.tracking_number}", styles["Heading2"]),
        Code128(shipment.tracking_number, barHeight=18 * mm, barWidth=0.3 * mm, humanReadable=True),
        Spacer(1, 4 * mm),
        *(Paragraph(line, styles["BodyText"]) for line in lines),
        Spacer(1, 3 * mm),
        Paragraph(sender.strip(), styles["BodyText"]),
        Paragraph(f"Order {order.number} · S{shipment.pk}", styles["BodyText"]),
    ]
