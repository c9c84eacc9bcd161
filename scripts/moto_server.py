"""moto_server with every DynamoDB call isolated from the others, as DynamoDB isolates them.

moto's transact_write_items backs up the whole table and puts the backup back when any step
fails. A write another request thread made meanwhile is lost with it: concurrent tests, or 20
duplicate orders at once, would then see a flaky local stack that real DynamoDB never is.
One lock over moto's DynamoDB backend serialises its calls (the GIL serialises most of that
work anyway). Same arguments as `moto_server`.
"""

import functools
import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

_LOCK = threading.RLock()


def _isolated(method):
    @functools.wraps(method)
    def call(*args, **kwargs):
        with _LOCK:
            return method(*args, **kwargs)

    return call


for _name, _attribute in list(vars(DynamoDBBackend).items()):
    if callable(_attribute) and not _name.startswith("_"):
        setattr(DynamoDBBackend, _name, _isolated(_attribute))

if __name__ == "__main__":
    sys.exit(main())
