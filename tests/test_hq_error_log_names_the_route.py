"""HQ's log of a request that failed names its route, not the path asked for: Flask's own line was
"Exception on /prereg/manage/<the household's secret> [GET]", putting a family's secret management link (or an
Individual Number typed into a path, 番号法 §20) in HQ's log.  The real HQ app on its database."""
from __future__ import annotations

import logging

SECRET = "s3cr3t-link-of-a-household-0123456789"


def test_an_unhandled_error_is_logged_by_its_route(hq_app, caplog):
    hq_app.config.update(TESTING=False, PROPAGATE_EXCEPTIONS=False)

    def boom(secret):
        raise RuntimeError("a bug")
    hq_app.add_url_rule("/test-only/manage/<secret>", "test_only_boom", boom)
    with caplog.at_level(logging.ERROR):
        resp = hq_app.test_client().get(f"/test-only/manage/{SECRET}")
    assert resp.status_code == 500
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Exception on /test-only/manage/<secret> [GET]" in logged, logged
    assert SECRET not in logged and SECRET not in caplog.text
