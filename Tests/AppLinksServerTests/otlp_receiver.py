"""An OTLP/HTTP trace receiver, standing in for an OpenTelemetry Collector (a Go program, not available here).

It decodes what arrives with the OpenTelemetry project's own protobuf definitions (PyPI: opentelemetry-proto), and
is as strict as the collector's otlphttp receiver: POST /v1/traces only; Content-Type application/x-protobuf, else
415 (the collector also takes application/json, which AppLinks does not send); a body that parses as
ExportTraceServiceRequest, else 400; and an ExportTraceServiceResponse in reply. Each span is
checked as the collector's pipeline would need it: a 16-byte trace id and 8-byte span id, neither all zero, an
end not before its start. What fails a check is written as a problem, for the test to report.

Usage: otlp_receiver.py OUT_FILE. Prints the port it listens on, then writes one JSON object per span to OUT_FILE.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest, ExportTraceServiceResponse
from opentelemetry.proto.trace.v1.trace_pb2 import Span

OUT = open(sys.argv[1], "a", buffering=1)


def value(v):
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [value(x) for x in v.array_value.values]
    return getattr(v, kind) if kind else None


class Receiver(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", content_type="application/x-protobuf"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.answer(405, b"POST only", "text/plain")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path != "/v1/traces":
            return self.answer(404, b"unknown path", "text/plain")
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/x-protobuf":
            return self.answer(415, b"unsupported content type", "text/plain")
        request = ExportTraceServiceRequest()
        try:
            request.ParseFromString(body)
        except DecodeError as e:
            return self.answer(400, str(e).encode(), "text/plain")
        for resource_spans in request.resource_spans:
            resource = {a.key: value(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    problems = []
                    if len(span.trace_id) != 16 or span.trace_id == bytes(16):
                        problems.append("invalid trace id")
                    if len(span.span_id) != 8 or span.span_id == bytes(8):
                        problems.append("invalid span id")
                    if span.parent_span_id and len(span.parent_span_id) != 8:
                        problems.append("invalid parent span id")
                    if span.end_time_unix_nano < span.start_time_unix_nano or span.start_time_unix_nano == 0:
                        problems.append("end before start")
                    OUT.write(json.dumps({
                        "service": resource.get("service.name"),
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex(),
                        "name": span.name,
                        "kind": Span.SpanKind.Name(span.kind),
                        "status": span.status.code,
                        "attributes": {a.key: value(a.value) for a in span.attributes},
                        "problems": problems,
                    }) + "\n")
        self.answer(200, ExportTraceServiceResponse().SerializeToString())


server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
print(server.server_address[1], flush=True)
server.serve_forever()
