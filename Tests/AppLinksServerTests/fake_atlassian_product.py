"""Stands in for an Atlassian product (Jira) behind a moved base URL, for the atlassian-oauth1 wizard's detection.

It reproduces two behaviours of a real Jira that this machine cannot run: the application-links manifest served
as Atlassian's XML (application/xml, one element per authentication type), and a base URL that redirects (301)
to where the product now lives. It prints its port on the first line and serves until killed.

  GET /old/rest/applinks/1.0/manifest  -> 301 to /jira/rest/applinks/1.0/manifest
  GET /jira/rest/applinks/1.0/manifest -> 200, the manifest XML
  anything else                        -> 404"""
import http.server
import signal
import sys

signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
MANIFEST = "/rest/applinks/1.0/manifest"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        port = self.server.server_address[1]
        if self.path == "/old" + MANIFEST:
            self.send_response(301)
            self.send_header("Location", f"http://127.0.0.1:{port}/jira{MANIFEST}")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/jira" + MANIFEST:
            auth = "com.atlassian.applinks.api.auth.types."
            body = (
                "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><manifest>"
                "<id>6f1c2a52-5f6b-3a4e-9b1e-0c6b1b3c9d10</id><name>Fake Jira</name><typeId>jira</typeId>"
                "<version>9.12.2</version><buildNumber>912002</buildNumber><applinksVersion>9.1.3</applinksVersion>"
                f"<iconUrl>http://127.0.0.1:{port}/jira/favicon.ico</iconUrl><url>http://127.0.0.1:{port}/jira</url>"
                "<publicSignup>false</publicSignup>"
                f"<incomingAuthenticationType>{auth}OAuthAuthenticationProvider</incomingAuthenticationType>"
                f"<incomingAuthenticationType>{auth}TwoLeggedOAuthAuthenticationProvider</incomingAuthenticationType>"
                f"<outgoingAuthenticationType>{auth}OAuthAuthenticationProvider</outgoingAuthenticationType>"
                "</manifest>"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/xml;charset=UTF-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
