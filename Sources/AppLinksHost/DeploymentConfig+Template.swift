import AppLinksCore

extension DeploymentConfig {
    /// The commented file that `applinks init` writes.
    public static func template(name: String, baseURL: String, listen: String) -> String {
        func q(_ s: String) -> String {
            "\"" + TextEscaping.backslashed(s, ["\""]) + "\""
        }
        return """
            # AppLinks deployment configuration.
            # Any key can be overridden by an environment variable: APPLINKS_ and the key path in upper case, with
            # '.' written as '_'. For example APPLINKS_BASE_URL, or APPLINKS_STATUS_TIMEOUT_SECONDS for status.timeout_seconds.

            # The name other applications see in this instance's manifest.
            name: \(q(name))

            # The public URL of this instance, as remote applications and browsers reach it (behind any proxy).
            base_url: \(q(baseURL))

            # The address `applinks serve` listens on (HOST:PORT).
            listen: \(q(listen))

            # The store. sqlite:FILE is relative to this home and is the embedded default. For several nodes over one
            # database, postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE (or set APPLINKS_DATABASE_URL).
            database: "sqlite:applinks.db"

            # The master key that seals secrets lives in master.key beside this file (mode 0600).
            # To keep it out of the home, set APPLINKS_MASTER_KEY to its base64 instead.

            plugins:
              # Extra plugin files or directories. The home's plugins/ directory is always searched, and so is the
              # directory of the applinks executable (for libAppLinksLinkType*.so) unless the next key is false.
              paths: []
              search_executable_directory: true
              # Optional sha256 pins, one ID=HASH per link type: a pinned type loads only from a file with that hash.
              pins: []
              # Refuse, before opening it, any plugin file whose hash is not pinned above.
              require_pins: false
              # Run link types in a runner process of their own, one ID=process per type (*=process for all): a
              # plugin that crashes or hangs then turns only its own links to UNKNOWN, and is restarted with backoff.
              # A call costs a little more (see Benchmarks/plugin-calls.sh).
              isolation: []

            status:
              # How long one link's check may take before it reports UNKNOWN/TIMEOUT.
              timeout_seconds: 10
              # How many links are checked at once.
              concurrency: 8
              # How often a running server refreshes every link's status.
              interval_seconds: 600

            wizard:
              # How long a wizard step that waits for a browser (an OAuth redirect) waits before leaving a draft.
              timeout_seconds: 300

            oauth2:
              # The OAuth 2.0 provider (link type oauth2-incoming). An authorization code lasts this long (at most 600).
              code_lifetime_seconds: 60
              access_token_lifetime_seconds: 3600
              refresh_token_lifetime_seconds: 7776000
              # Require PKCE (S256) from confidential clients too; public clients always need it.
              require_pkce: false
              # Whether an admin may view a client secret again later; off, it is shown once, at creation.
              allow_viewing_secrets: true
              # The scopes applications may ask for; empty means the default set, modelled on Bitbucket's.
              scopes: []

            http:
              # Whether link types may reach loopback, private and link-local addresses. Off, a URL that an admin
              # types or a remote sends cannot make this host probe its own machine or network.
              allow_private_addresses: false

            log:
              # text for people, or json: one object per line (timestamp, level, message, request_id, link_id)
              # for a log shipper.
              format: text
              # trace, debug, info, notice, warning, error or critical; and per module, MODULE=LEVEL entries
              # such as AppLinksServer=warning (the access log) or AppLinksHost=debug.
              level: info
              modules: []

            # HTTPS: give both PEM files (relative to this home, or absolute), and serve speaks TLS only. SIGHUP
            # reloads them without a restart. redirect_from adds a plain-HTTP listener that sends every request to
            # base_url. Behind a TLS proxy, leave them out, set server.trusted_proxies, and server.redirect_http: true
            # sends what the proxy received as plain HTTP (X-Forwarded-Proto: http) to base_url.
            # tls:
            #   certificate: tls/fullchain.pem
            #   private_key: tls/privkey.pem
            #   redirect_from: 0.0.0.0:80

            # OpenTelemetry traces, off unless a collector is named: a span for each request, plugin call, status
            # check and outbound HTTP request, sent over OTLP/HTTP to otlp_endpoint/v1/traces. The OTEL_* variables
            # (such as OTEL_EXPORTER_OTLP_HEADERS) refine the exporter.
            # tracing:
            #   otlp_endpoint: http://127.0.0.1:4318
            #   service_name: applinks
            #   sample_ratio: 1.0

            """
    }
}
