"""The confirmation PDF's QR code: the tracking link's modules, drawn as one path of dark runs."""

from notifications.documents import _qr, _qr_drawing


def test_the_pdf_qr_code_covers_exactly_the_dark_modules_of_the_link():
    url = "https://shop.example.com/track/P261206ABCDEF/Zm9vYmFyYmF6"
    expected = [[bool(v) for v in row] for row in _qr(url).matrix_iter(scale=1, border=4)]
    size = 110
    (path,) = _qr_drawing(url, size=size).contents
    cell = size / len(expected)
    drawn = [[False] * len(expected) for _ in expected]
    corners = list(zip(path.points[::2], path.points[1::2], strict=True))
    assert len(corners) % 4 == 0
    for i in range(0, len(corners), 4):  # each subpath: a rectangle one row high
        xs, ys = {round(x / cell) for x, _ in corners[i : i + 4]}, {round(y / cell) for _, y in corners[i : i + 4]}
        (left, right), (bottom, top) = sorted(xs), sorted(ys)
        assert top - bottom == 1
        row = len(expected) - top
        for x in range(left, right):
            assert not drawn[row][x], "a module drawn twice"
            drawn[row][x] = True
    assert drawn == expected
