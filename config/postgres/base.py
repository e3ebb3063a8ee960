"""Django's PostgreSQL backend, with a health check that costs no round trip while the connection is quiet.

CONN_HEALTH_CHECKS sends `SELECT 1` before the first query of every request and task: one round trip more than
a callback's answer makes (it makes two) and than a placement (eight). A server that ends a connection (a
restart, a failover, pg_terminate_backend, an idle timeout) sends its error and closes the socket, so an idle
connection with nothing to read is taken as sound, and only one with something waiting gets Django's check,
which replaces it before the request's first query, as before.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def close_if_health_check_failed(self):
        pending = self.connection is not None and self.health_check_enabled and not self.health_check_done
        if pending and self._quiet():
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def _quiet(self) -> bool:
        """Open, and nothing from the server since the last query's answer was read."""
        conn = self.connection
        if conn.closed or conn.broken:
            return False
        try:
            poller = select.poll()
            poller.register(conn.fileno(), select.POLLIN | select.POLLPRI)
            return not poller.poll(0)
        except (OSError, ValueError):
            return False
