"""One in-process moto, reached two ways: SDK-shaped calls and raw HTTP requests.

moto is the emulator for the AWS services that are not asyncgate's own (SQS, SNS, DynamoDB, Kinesis,
EventBridge, S3). It runs inside the server process, on the server's port; nothing listens elsewhere.

Why this shape:

- **No WSGI server, no Flask.** moto's server mode (``moto.server``) is a Flask app per service behind
  a host dispatcher; wrapping it would add a WSGI→ASGI adapter and Flask's import to every start-up.
  moto's core already has a dispatcher that needs neither: ``BotocoreStubber.process_request`` takes a
  botocore ``AWSPreparedRequest`` for an ``*.amazonaws.com`` URL, finds the service's response class by
  URL pattern and returns ``(status, headers, body)``. Both paths below end there.
- **HTTP** (``handle``): a boto3/CLI request that arrived on our port is re-addressed to the service's
  AWS host (path, query, headers and body unchanged) and handed to the dispatcher, so wire shapes —
  XML for SNS, JSON 1.0/1.1, S3's REST-XML — are moto's, byte for byte. What moto cannot parse is
  refused first with the service's own 400 (``wire.py``); an unimplemented action answers 501.
- **Calls** (``call``): a botocore client per service whose ``before-send`` hook is the dispatcher. The
  SDK's own serializer and parser run, so parameters and results have exactly the SDK's names and
  types, and errors arrive as botocore ``ClientError``s with AWS's codes. No request leaves the
  process, and no process-wide patching (``mock_aws``) is switched on: other botocore clients in the
  same interpreter are untouched.
- **Worker threads.** moto is synchronous, so its calls run on a small thread pool and the event loop
  never blocks on them. A pool, not one thread, because SQS long polling (``WaitTimeSeconds``) waits
  inside moto until a message arrives: on a single thread one idle poller would hold up the very
  ``SendMessage`` it waits for. moto's own server serves its backends from a threaded WSGI server the
  same way, and the SQS backend waits on a ``Condition`` made for it.
- **Lazy.** moto's import costs ~0.5 s and its first request a few hundred ms more. Nothing is
  imported until the first call, so a template with none of these resources starts as fast as before.

State is moto's: **in memory only**. Queued messages, items, records and objects do not survive a
restart; the resources the template declares are created again at start-up (``provision.py``) under
the same names and ARNs. moto reads its account from the ``MOTO_ACCOUNT_ID`` environment variable,
which the first call sets to the runtime's account (process-wide: the server process is ours); the
region is the runtime's.

Example:
    >>> import asyncio
    >>> async def demo():
    ...     aws = AwsServices()
    ...     queue = await aws.call("sqs", "CreateQueue", {"QueueName": "demo"})
    ...     sent = await aws.call("sqs", "SendMessage", {"QueueUrl": queue["QueueUrl"], "MessageBody": "hi"})
    ...     aws.close()
    ...     return queue["QueueUrl"], len(sent["MessageId"])
    >>> asyncio.run(demo())
    ('https://sqs.us-east-1.amazonaws.com/000000000000/demo', 36)
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from asyncgate.local.arns import DEFAULT_ACCOUNT, DEFAULT_REGION

__all__ = ["AwsServices", "HttpAnswer", "ServiceCallError", "aws_host"]

T = TypeVar("T")

#: moto worker threads (started on demand): each SQS long poll holds one for up to 20 s
_WORKERS = 64

#: Step Functions' aws-sdk names -> botocore's service names (EventBridge's API is ``events``)
_BOTOCORE_NAMES = {"eventbridge": "events"}


def aws_host(service: str, region: str = DEFAULT_REGION) -> str:
    """The service's regional AWS endpoint host, which moto's URL patterns recognise.

    Example:
        >>> aws_host("sqs"), aws_host("s3")
        ('sqs.us-east-1.amazonaws.com', 's3.us-east-1.amazonaws.com')
    """
    return f"{service}.{region}.amazonaws.com"


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """moto's answer to a raw HTTP request."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


class ServiceCallError(Exception):
    """A service answered ``call`` with an AWS error (botocore's ``ClientError``, flattened).

    ``code`` is the error code as the SDK reports it; for query-protocol services answering in JSON
    (SQS) the query error code (``QueueDoesNotExist``) is preferred, as that is what SDKs name their
    exception classes after.
    """

    def __init__(self, service: str, code: str, message: str, status: int, request_id: str) -> None:
        super().__init__(f"{service}: {code}: {message}")
        self.service = service
        self.code = code
        self.message = message
        self.status = status
        self.request_id = request_id


class AwsServices:
    """The emulated AWS services (moto), one instance per server process."""

    def __init__(self, *, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT) -> None:
        self.region = region
        self.account = account
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._stubber: Any = None
        self._clients: dict[str, Any] = {}

    @property
    def loaded(self) -> bool:
        """Whether moto has been imported (the first call does it)."""
        return self._stubber is not None

    # -- the two entry points ------------------------------------------------------------------------
    async def call(self, service: str, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """Run ``action`` (``SendMessage`` or ``sendMessage``) with SDK-shaped ``params``.

        Returns botocore's parsed response (``ResponseMetadata`` included: ``RequestId``,
        ``HTTPStatusCode``, ``HTTPHeaders``). Raises ``ServiceCallError`` for an AWS error and
        botocore's ``ParamValidationError`` for parameters the SDK refuses before sending.
        """
        return await self._run(self._call, service, action, params)

    async def handle(
        self,
        service: str,
        method: str,
        path: str,
        query_string: str,
        headers: Iterable[tuple[str, str]],
        body: bytes,
    ) -> HttpAnswer:
        """Answer a raw HTTP request for ``service`` (its SigV4 signing name) as AWS would."""
        return await self._run(self._handle, service, method, path, query_string, list(headers), body)

    async def service_model(self, service: str) -> Any:
        """botocore's ``ServiceModel`` for ``service`` (shapes of parameters, results and errors)."""
        return await self._run(lambda: self._client(service).meta.service_model)

    def close(self) -> None:
        """Stop the worker thread (moto's in-memory state goes with the process)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    # -- on the moto thread --------------------------------------------------------------------------
    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="moto")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _load(self) -> Any:
        with self._lock:
            if self._stubber is None:
                # moto reads the account at request time: PRIO 1 is this variable (moto/core/responses.py)
                os.environ["MOTO_ACCOUNT_ID"] = self.account
                from moto.core.botocore_stubber import BotocoreStubber

                stubber = BotocoreStubber()
                stubber.enabled = True
                self._stubber = stubber
        return self._stubber

    def _client(self, service: str) -> Any:
        name = _BOTOCORE_NAMES.get(service, service)
        client = self._clients.get(name)
        if client is None:
            stubber = self._load()
            client = self._new_client(name, stubber)
        return client

    def _new_client(self, name: str, stubber: Any) -> Any:
        import botocore.session
        from botocore.config import Config

        with self._lock:
            if name in self._clients:
                return self._clients[name]
            session = botocore.session.get_session()
            client = session.create_client(
                name,
                region_name=self.region,
                aws_access_key_id="asyncgate",
                aws_secret_access_key="asyncgate",
                config=Config(retries={"max_attempts": 0}),
            )
            client.meta.events.register("before-send", stubber)
            self._clients[name] = client
        return client

    def _call(self, service: str, action: str, params: dict[str, Any]) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        client = self._client(service)
        operation = action[:1].upper() + action[1:]
        if operation not in client.meta.service_model.operation_names:
            raise ServiceCallError(
                service, "UnknownOperationException", f"{service} has no operation {operation}", 400, ""
            )
        try:
            return dict(client._make_api_call(operation, params))
        except ClientError as exc:
            error = exc.response.get("Error", {})
            meta = exc.response.get("ResponseMetadata", {})
            code = str(error.get("QueryErrorCode") or error.get("Code") or "UnknownError")
            raise ServiceCallError(
                service,
                code,
                str(error.get("Message", "")),
                int(meta.get("HTTPStatusCode", 400)),
                str(meta.get("RequestId", "")),
            ) from None

    def _handle(
        self,
        service: str,
        method: str,
        path: str,
        query_string: str,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> HttpAnswer:
        from botocore.awsrequest import AWSPreparedRequest
        from botocore.compat import HTTPHeaders

        from .wire import check_request, json_error

        refused = check_request(
            self._client(service).meta.service_model,
            {k.lower(): v for k, v in headers},
            body,
            query_string,
        )
        if refused is not None:
            return HttpAnswer(*refused)
        stubber = self._load()
        host = aws_host(service, self.region)
        prepared_headers = HTTPHeaders()
        for key, value in headers:
            if key.lower() != "host":
                prepared_headers[key] = value
        prepared_headers["Host"] = host
        url = f"https://{host}{path}" + (f"?{query_string}" if query_string else "")
        request = AWSPreparedRequest(method, url, prepared_headers, body, stream_output=False)
        try:
            answer = stubber.process_request(request)
        except NotImplementedError as exc:  # a moto gap, said plainly rather than as a crash
            content_type = dict((k.lower(), v) for k, v in headers).get("content-type", "application/json")
            message = f"Not emulated locally (moto): {exc}"
            return HttpAnswer(*json_error("NotImplemented", message, content_type, 501))
        if answer is None:
            message = f"No emulated {service} operation matches {method} {path}"
            return HttpAnswer(404, [("Content-Type", "text/plain")], message.encode())
        status, response_headers, response_body = answer
        raw = response_body.encode() if isinstance(response_body, str) else bytes(response_body or b"")
        # a HEAD answer keeps the entity's Content-Length (S3 HeadObject reports the object size in it)
        # Date and Server are the HTTP server's to send (uvicorn does), not moto's
        dropped = {"transfer-encoding", "status", "date", "server"}
        if method != "HEAD":
            dropped.add("content-length")
        out = [(str(k), str(v)) for k, v in dict(response_headers or {}).items() if k.lower() not in dropped]
        return HttpAnswer(int(status), out, b"" if method == "HEAD" else raw)
