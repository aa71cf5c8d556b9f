"""Administration from the command line: `python -m app.manage --help`.

    python -m app.manage issue-key USER    # prints a new API key for USER, once
    python -m app.manage revoke-key USER   # revokes every key of USER
"""

from __future__ import annotations

import argparse
import sys

from app import apikeys
from app.db import Database
from app.settings import SettingsError, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.manage", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    issue = sub.add_parser("issue-key", help="print a new API key for USER (shown once)")
    issue.add_argument("user")
    revoke = sub.add_parser("revoke-key", help="revoke every API key of USER")
    revoke.add_argument("user")
    args = parser.parse_args(argv)

    try:
        db = Database(load_settings().database_url)
        if args.command == "issue-key":
            key = apikeys.issue_key(db, args.user)
            print(key)
            print(
                f"This is {args.user}'s API key; it is shown only now. They paste it into ChatGPT "
                "when installing the plugin.",
                file=sys.stderr,
            )
        else:
            n = apikeys.revoke_keys(db, args.user)
            print(f"revoked {n} key(s) of {args.user}", file=sys.stderr)
    except (SettingsError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
