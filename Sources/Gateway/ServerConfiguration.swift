import LiveRoom
import Transport

/// Everything the server can be told, as plain values with working defaults: with no config file
/// at all Hometown listens on 127.0.0.1:8080 with the echo endpoint on.
public struct ServerConfiguration: Equatable, Sendable {
    public var host = "127.0.0.1"
    public var port: UInt16 = 8080
    /// Where durable state lives (orders journal, later issues).
    public var dataDirectory = "./data"
    /// Event loops (threads); 0 means one per core.
    public var loops = 0
    public var logLevel = Log.Level.info
    /// `logfmt` (default) or `json` (one object per line).
    public var logFormat = "logfmt"
    /// Seconds a graceful drain (SIGTERM/SIGINT) may take before the process exits anyway.
    public var drainTimeout = 10.0
    /// Seconds a drain keeps serving with `/readyz` at 503 before it stops accepting (the load
    /// balancer's time to notice). nil: 5 in production, 0 elsewhere.
    public var drainGrace: Double?
    public var webSocket = WebSocketSettings()
    public var outbound = OutboundSettings()
    public var echo = EchoSettings()
    public var bench = BenchSettings()
    public var auth = AuthSettings()
    public var rooms = RoomsSettings()
    public var journal = JournalSettings()
    public var limits = LimitSettings()
    public var tls = TLSSettings()
    public var cluster = ClusterSettings()
    public var admin = AdminSettings()
    public var orders = OrdersSettings()
    public var stage = StageSettings()
    /// "development" or "production". Production refuses the development JWT secret.
    public var environment = "development"

    public init() {}

    public struct WebSocketSettings: Equatable, Sendable {
        /// Largest frame a live-room client may send: room messages are small JSON.
        public var maxFrameSize = 16 * 1024
        /// Largest reassembled message on live endpoints. Raising it lets one client make the
        /// server hold that much per connection.
        public var maxMessageSize = 16 * 1024
        /// Largest HTTP request head before the upgrade (431 beyond); small, as nobody is
        /// authenticated yet.
        public var maxHandshakeSize = 8 * 1024
        /// Seconds a client gets to send a complete request head (slowloris defence).
        public var handshakeTimeout = 10.0
        /// Seconds without any inbound byte before the server sends a ping.
        public var pingInterval = 30.0
        /// Seconds without any inbound byte (pongs count) before the connection is closed.
        public var idleTimeout = 120.0
        /// Seconds to finish a close handshake before the socket is dropped.
        public var closeTimeout = 5.0
    }

    public struct OutboundSettings: Equatable, Sendable {
        public var lowWater = 32 * 1024
        public var highWater = 64 * 1024
        public var hardLimit = 1 << 20

        public var limits: OutboundLimits {
            OutboundLimits(lowWaterMark: self.lowWater, highWaterMark: self.highWater, hardLimit: self.hardLimit)
        }
    }

    public struct EchoSettings: Equatable, Sendable {
        /// `GET /echo`, the conformance-suite target: unauthenticated, so nil (not set) means on
        /// in development and off in production; set it to decide either way.
        public var enabled: Bool?
        /// Largest echoed message (and, doubled, the echo connection's outbound allowance). The
        /// conformance run raises it to 16 MiB for Autobahn's 9.* cases; nobody else needs that.
        public var maxMessageSize = 64 * 1024
    }

    public struct BenchSettings: Equatable, Sendable {
        /// `GET /bench/{channel}`: raw fan-out, every message to every connection on the channel.
        public var enabled = false
    }

    public struct AuthSettings: Equatable, Sendable {
        /// The development secret: fine on a laptop; `environment: production` refuses to start
        /// with it (`ConfigurationLoader.validate`).
        public static let developmentSecret = "hometown-development-secret"
        /// HS256 secret for JWTs (`HOMETOWN_JWT_SECRET` overrides the file).
        public var jwtSecret = AuthSettings.developmentSecret
        /// Connections without a token join as anonymous viewers who may watch but not comment
        /// or buy. Off: they get 401.
        public var allowAnonymous = true
        /// `GET /api/dev/token` hands out viewer and streamer tokens for a chosen name, so a
        /// newcomer can try the pages without an identity provider. Never in production.
        public var devLogin = true
    }

    public struct TLSSettings: Equatable, Sendable {
        /// PEM certificate chain and private key. With both set, the port serves `wss://`
        /// (TLS 1.2 or newer) instead of `ws://`.
        public var cert = ""
        public var key = ""
        public var enabled: Bool { !self.cert.isEmpty && !self.key.isEmpty }
    }

    public struct LimitSettings: Equatable, Sendable {
        /// Open connections in all; more get 503 before the upgrade. Size it to the file
        /// descriptor limit (each connection is one descriptor) minus headroom.
        public var maxConnections = 100_000
        /// Open connections per client address (0 = off: behind a load balancer one address is
        /// many people).
        public var maxConnectionsPerIP = 0
        /// New connections per second per address (0 = off); faster ones get 429.
        public var connectionRatePerIP = 0.0
        /// Messages per second one room connection may send (every type), with a burst: beyond
        /// it a message is refused with `rate_limited`. People running the room (owner,
        /// moderators, admins) get 16 times as much. 0 = no limit.
        public var messagesPerSecond = 20.0
        public var messageBurst = 40.0
        /// A connection refused this many messages within 10 seconds is closed with 1008: a
        /// client that ignores `rate_limited` is a flood, not a fast typist.
        public var closeAfterRefusals = 200
        /// Browser `Origin`s allowed to open WebSockets (empty = any). Requests without an
        /// `Origin` header (non-browser clients) are not affected.
        public var allowedOrigins: [String] = []
    }

    public struct AdminSettings: Equatable, Sendable {
        /// A second, plain-HTTP port for the operator's endpoints (`/metrics`, `/healthz`,
        /// `/readyz`, `/api/cluster`, the order export). 0: off, everything on the main port. When
        /// set, `/metrics` and `/api/cluster` are no longer served on the main port.
        public var port: UInt16 = 0
        /// Where the admin port listens; keep it private (loopback, or an internal network).
        public var host = "127.0.0.1"
        public var enabled: Bool { self.port != 0 }
    }

    public struct ClusterSettings: Equatable, Sendable {
        /// `redis://[:password@]host:port[/db]`: run as one node of a cluster whose rooms, orders
        /// and comment history live in this Redis (docs/SCALING.md). Empty: a single node with
        /// SQLite in the data directory (the default).
        public var redis = ""
        /// This node's name in the cluster (unique per node); empty: host name + ":" + port.
        public var nodeID = ""
        /// Seconds a room's owner holds its lease without renewing; a dead owner's rooms are
        /// taken over after about this long.
        public var lease = 5.0
        /// Replicas each durable write must reach (Redis WAIT) before it is acknowledged; 0: the
        /// primary's own fsync (`appendfsync always`) is the durability.
        public var waitReplicas = 0
        public var enabled: Bool { !self.redis.isEmpty }
    }

    /// Orders after the room (docs/ORDERS.md): where buyers pay, the shop's calls, the webhook.
    /// The payment window itself is per sale (`sale.start`'s `payment_window`); `checkout_url`
    /// and the longest window a sale may have are room rules (`rooms.room`).
    public struct OrdersSettings: Equatable, Sendable {
        /// Bearer token the shop's server sends on `POST /api/orders/{id}/paid|cancel`
        /// (`HOMETOWN_SHOP_TOKEN`). Empty: those endpoints answer 404.
        public var shopToken = ""
        /// Every order event (accepted, paid, cancelled) is POSTed here, signed. Empty: no
        /// webhook, no outbox.
        public var webhookURL = ""
        /// The HMAC-SHA256 key of the signature (`HOMETOWN_WEBHOOK_SECRET`); required with a URL.
        public var webhookSecret = ""
        /// Attempts before an event is parked (kept, listed and replayable by an admin).
        public var webhookMaxAttempts = 12
        /// Seconds before the first retry, doubling (with jitter) up to `webhookRetryMax`.
        public var webhookRetryBase = 1.0
        public var webhookRetryMax = 300.0
        /// Seconds one delivery attempt may take.
        public var webhookTimeout = 10.0
        /// Delivery threads: rooms delivered side by side (one event in flight per room).
        public var webhookWorkers = 4
        public var webhookEnabled: Bool { !self.webhookURL.isEmpty }
    }

    /// The live room as viewers see it (docs/STREAMING.md).
    public struct StageSettings: Equatable, Sendable {
        /// Origins (`https://cdn.example.com`, `http://127.0.0.1:8889`) the pages may load video,
        /// posters and product pictures from, and reach for WebRTC (WHEP): the streamer's media
        /// server or CDN. Empty: only this server (the Content-Security-Policy says so).
        public var mediaOrigins: [String] = []
    }

    public struct JournalSettings: Equatable, Sendable {
        /// Orders are acknowledged only after they are committed to the SQLite store in the data
        /// directory. Off: orders live in memory only and are lost on restart (benchmarks only).
        public var enabled = true
    }

    public struct RoomsSettings: Equatable, Sendable {
        /// Create the `demo` room, live, with products, at startup. nil: only outside production.
        public var demo: Bool?
        /// Rooms one streamer may own (0 = no cap; admins have none): a token cannot be used to
        /// open rooms without end.
        public var maxRoomsPerOwner = 20
        /// Seconds a room stays in memory once closed and empty (0 = forever). Its state stays
        /// in the store and it comes back when someone asks for it.
        public var unloadAfter = 600.0
        /// The rules every room follows.
        public var room = RoomSettings()
    }

    public var effectiveDrainGrace: Double { self.drainGrace ?? (self.environment == "production" ? 5 : 0) }

    /// The demo room is created at startup: as configured, else only outside production.
    public var demoRoomEnabled: Bool { self.rooms.demo ?? (self.environment != "production") }

    /// `/echo` is served: as configured, else only outside production.
    public var echoEnabled: Bool { self.echo.enabled ?? (self.environment != "production") }

    /// Development login is on only outside production, whatever the file says.
    public var devLoginEnabled: Bool { self.auth.devLogin && self.environment != "production" }

    /// Resolved event-loop count.
    public var loopCount: Int {
        if self.loops > 0 { return self.loops }
        return max(1, Int(sysconfCores()))
    }
}

#if canImport(Glibc)
    import Glibc
    private func sysconfCores() -> Int { sysconf(Int32(_SC_NPROCESSORS_ONLN)) }
#endif
