"""moto_server with DynamoDB's transaction guarantees that moto lacks. Same arguments.

1. Isolation. moto's transact_write_items backs up the whole table and puts the backup back
   when any step fails: a write another request thread made meanwhile is lost with it (and a
   backup taken while another thread writes fails with "dictionary changed size during
   iteration", a 500). One lock over moto's DynamoDB backend serialises its calls; the GIL
   serialises most of that work anyway.
2. Idempotency tokens. DynamoDB answers a TransactWriteItems retried with the same
   ClientRequestToken (within 10 minutes) with the first call's success instead of applying
   it again; moto ignores the token, so an SDK retry of an attempt whose answer was lost
   fails its own conditions. Successful tokens are remembered here the same way.
3. `GET /moto-api/data.json?service=ses`: the models of the named services only, in the same
   shape as the whole dump. The whole dump walks every tracked instance of every service (each
   DynamoDB item among them), which on a full e2e table takes minutes on a busy host; the tests
   read the emails SES accepted this way.
"""

import functools
import json
import sys
import threading
import time
import urllib.parse

from moto.core.responses import ActionResult
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.responses import DynamoHandler
from moto.server import main

_LOCK = threading.RLock()
_TOKEN_LIFETIME_SECONDS = 600
_succeeded_tokens: dict[str, float] = {}


def _isolated(method):
    @functools.wraps(method)
    def call(*args, **kwargs):
        with _LOCK:
            return method(*args, **kwargs)

    return call


for _name, _attribute in list(vars(DynamoDBBackend).items()):
    if callable(_attribute) and not _name.startswith("_"):
        setattr(DynamoDBBackend, _name, _isolated(_attribute))

_transact_write_items = DynamoHandler.transact_write_items


def _transact_write_items_once(self):
    token = self.body.get("ClientRequestToken")
    with _LOCK:
        now = time.monotonic()
        for old in [t for t, at in _succeeded_tokens.items() if now - at > _TOKEN_LIFETIME_SECONDS]:
            del _succeeded_tokens[old]
        if token and token in _succeeded_tokens:
            return ActionResult({"ConsumedCapacity": [], "ItemCollectionMetrics": {}})
        result = _transact_write_items(self)
        if token:
            _succeeded_tokens[token] = now
        return result


DynamoHandler.transact_write_items = _transact_write_items_once


def _model_data_of_services(request, full_url, headers):
    """moto's `MotoAPIResponse.model_data` (moto 5.2.5), restricted to `?service=` when given."""
    from moto.core.model_instances import model_data

    wanted = urllib.parse.parse_qs(urllib.parse.urlsplit(full_url).query).get("service")
    results: dict = {}
    for service in sorted(model_data):
        if wanted and service not in wanted:
            continue
        results[service] = {}
        for name in sorted(model_data[service]):
            results[service][name] = []
            for instance in model_data[service][name].instances_tracked:
                kept = {}
                for attr in dir(instance):
                    if attr.startswith("_"):
                        continue
                    try:
                        value = getattr(instance, attr)
                        json.dumps(value)
                    except (TypeError, AttributeError, ValueError):
                        continue
                    kept[attr] = value
                results[service][name].append(kept)
    return 200, {"Content-Type": "application/javascript"}, json.dumps(results)


from moto.moto_api._internal import urls as _moto_api_urls  # noqa: E402

_moto_api_urls.url_paths["{0}/moto-api/data.json"] = _model_data_of_services

if __name__ == "__main__":
    sys.exit(main())
