"""`python -m app`: uvicorn on HOST and PORT (by default 127.0.0.1:8000), no reload, no debug.

uvicorn's access log is off (it prints query strings; app.security logs each path instead). The
caller's address comes from X-Forwarded-For only when sent by a proxy uvicorn trusts
(FORWARDED_ALLOW_IPS, by default 127.0.0.1 and ::1: a reverse proxy on this host)."""

import sys

import uvicorn

from app.main import create_app
from app.settings import SettingsError, load_settings


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        access_log=False,
        server_header=False,
        proxy_headers=True,
        # Idle connections outlive those of proxies (60 s at nginx's upstreams, AWS load balancers)
        # and client pools: none reuses a connection just closed here (it would get a reset).
        timeout_keep_alive=75,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
