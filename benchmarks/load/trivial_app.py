"""A constant RSGI app: the fastest server granian can be, to measure the load generator alone."""

BODY = b'{"id":"p","status":"succeeded","output":1}'
HEADERS = [("content-type", "application/json")]


async def app(scope, proto):
    if scope.proto == "http":
        await proto()  # read the request body, as a server would
        proto.response_bytes(200, HEADERS, BODY)
