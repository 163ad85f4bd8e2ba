# SPDX-License-Identifier: GPL-2.0
"""Run moto's server (python3 -m moto.server ARGS) with one fix: the SigV4
check of moto 5.1 (with Debian bookworm's werkzeug 2.2 and botocore 1.29)
builds the canonical URI from werkzeug's re-quoted request URL, which leaves
+ ' ( ) * ! : , ; and non-ASCII characters unencoded.  A client that signs
as AWS specifies (RFC 3986 encoding of everything but A-Za-z0-9-_.~ and /)
then gets SignatureDoesNotMatch for such object keys (e.g. sha256:<hex>);
and it parses the URL with urlparse(), which cuts ";..." off the last path
segment.  Here the canonical URI is the whole path decoded and encoded the
AWS way: keys without such characters are signed exactly as before.

Usage (by moto-helper.py): PYTHONPATH=<moto> python3 moto-server.py ARGS
"""

import sys
import urllib.parse

from moto.core import responses
from moto.iam import access_control
import moto.server

# urlsplit: like urlparse without splitting ";params" off the path (moto
# uses .scheme .netloc .path .query only).
responses.urlparse = urllib.parse.urlsplit

_create_aws_request = access_control.IAMRequestBase._create_aws_request


def create_aws_request(self):
    saved = self._path
    path, sep, query = saved.partition("?")
    self._path = urllib.parse.quote(urllib.parse.unquote(path), safe="/~") + sep + query
    try:
        return _create_aws_request(self)
    finally:
        self._path = saved


access_control.IAMRequestBase._create_aws_request = create_aws_request

if __name__ == "__main__":
    moto.server.main(sys.argv[1:])
