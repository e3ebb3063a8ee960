import functools

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Core")

    def ready(self):
        from unfold.templatetags import unfold_list

        unfold_list.result_headers = headers_once_per_page(unfold_list.result_headers)


def headers_once_per_page(result_headers):
    """django-unfold 0.91 builds a list page's column headers again for every row (each column's label, sort
    links and query strings): a quarter of rendering a 100-row page (tests.bench.admin, cProfile). Fixed
    upstream in 0.102 (commit e31f11fa), which needs Python 3.12; until then each page builds them once and
    every row reuses them, the HTML unchanged."""

    @functools.wraps(result_headers)
    def headers(cl):
        if "_unfold_headers" not in cl.__dict__:
            cl._unfold_headers = list(result_headers(cl))
        return iter(cl._unfold_headers)

    return headers
