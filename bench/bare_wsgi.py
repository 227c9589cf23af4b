"""The floor the framework is compared with: a WSGI app that answers every request with
a small JSON body and does nothing else (no Django, no database). `bench/floor.py` serves
it with gunicorn beside the tracker and loads both the same way.

    .venv/bin/gunicorn bench.bare_wsgi:application --bind 127.0.0.1:8124 --workers 4
"""

BODY = b'{"ok": true}'


def application(environ, start_response):
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]
    )
    return [BODY]
