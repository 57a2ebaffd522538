import JSON
import RedisClient
import Webhooks

/// Reads `ServerConfiguration` from a JSON file, then `HOMETOWN_*` environment variables, then
/// command-line flags, each overriding the last. Refuses unknown keys, wrong types and impossible
/// values, always naming the key, so a typo stops startup instead of being silently ignored.
///
/// Keys starting with `//` are comments (JSON has none), which lets `Config/hometown.json`
/// document every setting next to its default.
public enum ConfigurationLoader {
    public struct Error: Swift.Error, CustomStringConvertible, Equatable {
        public let key: String
        public let problem: String
        public var description: String { "config error: \(self.key): \(self.problem)" }

        public init(key: String, problem: String) {
            self.key = key
            self.problem = problem
        }
    }

    /// Reads the config file at `path` into `base`. Errors name the file, and for JSON that does
    /// not parse, the line and column (`config error: /etc/hometown.json:12:5: …`).
    public static func apply(file path: String, contents data: [UInt8], to base: ServerConfiguration) throws -> ServerConfiguration {
        do {
            return try Self.apply(json: data, to: base)
        } catch let error as JSONParser.Error {
            let before = data.prefix(min(error.offset, data.count))
            let line = before.reduce(1) { $0 + ($1 == 10 ? 1 : 0) }
            let column = before.count - (before.lastIndex(of: 10).map { $0 + 1 } ?? 0) + 1
            throw Error(key: "\(path):\(line):\(column)", problem: "not valid JSON: \(error.reason)")
        } catch let error as Error {
            throw Error(key: "\(path): \(error.key)", problem: error.problem)
        }
    }

    /// Parses a config file's contents into `base`.
    public static func apply(json data: [UInt8], to base: ServerConfiguration) throws -> ServerConfiguration {
        // A parse error is thrown as it is (`JSONParser.Error`, with its byte offset): `apply(file:)`
        // turns it into a line and column.
        let root = try JSONParser.parse(data)
        guard case .object(let object) = root else { throw Error(key: "(file)", problem: "top level must be an object") }
        var config = base
        var reader = ObjectReader(object, path: "")
        try reader.string("host") { config.host = $0 }
        try reader.int("port", in: SettingRules.portRange) { config.port = UInt16($0) }
        try reader.string("data") { config.dataDirectory = $0 }
        try reader.int("loops", in: SettingRules.loopsRange) { config.loops = $0 }
        try reader.string("log_level") { config.logLevel = try SettingRules.logLevel.value($0, key: "log_level") }
        try reader.seconds("drain_timeout") { config.drainTimeout = $0 }
        try reader.number("drain_grace", in: 0...600) { config.drainGrace = $0 }
        try reader.string("log_format") { format in
            guard format == "logfmt" || format == "json" else {
                throw Error(key: "log_format", problem: "must be logfmt or json, not '\(format)'")
            }
            config.logFormat = format
        }
        try reader.string("environment") { config.environment = try SettingRules.environment.value($0, key: "environment") }
        try reader.object("tls") { tls in
            try tls.string("cert") { config.tls.cert = $0 }
            try tls.string("key") { config.tls.key = $0 }
        }
        try reader.object("limits") { limits in
            try limits.int("max_connections", in: 0...10_000_000) { config.limits.maxConnections = $0 }
            try limits.int("max_connections_per_ip", in: 0...10_000_000) { config.limits.maxConnectionsPerIP = $0 }
            try limits.number("connection_rate_per_ip", in: 0...1_000_000) { config.limits.connectionRatePerIP = $0 }
            try limits.strings("allowed_origins") { config.limits.allowedOrigins = $0 }
            try limits.number("messages_per_second", in: 0...1_000_000) { config.limits.messagesPerSecond = $0 }
            try limits.number("message_burst", in: 1...1_000_000) { config.limits.messageBurst = $0 }
            try limits.int("close_after_refusals", in: 1...1_000_000) { config.limits.closeAfterRefusals = $0 }
        }
        try reader.object("websocket") { ws in
            try ws.int("max_frame_size", in: 126...(1 << 30)) { config.webSocket.maxFrameSize = $0 }
            try ws.int("max_message_size", in: 126...(1 << 30)) { config.webSocket.maxMessageSize = $0 }
            try ws.int("max_handshake_size", in: 256...(1 << 20)) { config.webSocket.maxHandshakeSize = $0 }
            try ws.seconds("handshake_timeout") { config.webSocket.handshakeTimeout = $0 }
            try ws.seconds("ping_interval") { config.webSocket.pingInterval = $0 }
            try ws.seconds("idle_timeout") { config.webSocket.idleTimeout = $0 }
            try ws.seconds("close_timeout") { config.webSocket.closeTimeout = $0 }
        }
        try reader.object("outbound") { out in
            try out.int("low_water", in: 0...(1 << 30)) { config.outbound.lowWater = $0 }
            try out.int("high_water", in: 1...(1 << 30)) { config.outbound.highWater = $0 }
            try out.int("hard_limit", in: 1...(1 << 31)) { config.outbound.hardLimit = $0 }
        }
        try reader.object("echo") { echo in
            try echo.bool("enabled") { config.echo.enabled = $0 }
            try echo.int("max_message_size", in: 126...(1 << 30)) { config.echo.maxMessageSize = $0 }
        }
        try reader.object("bench") { bench in
            try bench.bool("enabled") { config.bench.enabled = $0 }
        }
        try reader.object("auth") { auth in
            try auth.string("jwt_secret") { config.auth.jwtSecret = try SettingRules.jwtSecret.value($0, key: "auth.jwt_secret") }
            try auth.bool("allow_anonymous") { config.auth.allowAnonymous = $0 }
            try auth.bool("dev_login") { config.auth.devLogin = $0 }
        }
        try reader.object("admin") { admin in
            try admin.int("port", in: SettingRules.portRange) { config.admin.port = UInt16($0) }
            try admin.string("host") { config.admin.host = $0 }
        }
        try reader.object("cluster") { cluster in
            try cluster.string("redis") { config.cluster.redis = $0 }
            try cluster.string("node_id") { config.cluster.nodeID = $0 }
            try cluster.number("lease", in: 1...600) { config.cluster.lease = $0 }
            try cluster.int("wait_replicas", in: 0...16) { config.cluster.waitReplicas = $0 }
        }
        try reader.object("orders") { orders in
            try orders.string("checkout_url") { config.rooms.room.checkoutURL = $0 }
            try orders.int("max_payment_window", in: 0...604_800) { config.rooms.room.maxPaymentWindow = $0 }
            try orders.string("shop_token") { config.orders.shopToken = $0 }
            try orders.string("webhook_url") { config.orders.webhookURL = $0 }
            try orders.string("webhook_secret") { config.orders.webhookSecret = $0 }
            try orders.int("webhook_max_attempts", in: 1...1000) { config.orders.webhookMaxAttempts = $0 }
            try orders.number("webhook_retry_base", in: 0.01...3600) { config.orders.webhookRetryBase = $0 }
            try orders.number("webhook_retry_max", in: 0.01...86_400) { config.orders.webhookRetryMax = $0 }
            try orders.seconds("webhook_timeout") { config.orders.webhookTimeout = $0 }
            try orders.int("webhook_workers", in: 1...64) { config.orders.webhookWorkers = $0 }
        }
        try reader.object("stage") { stage in
            try stage.strings("media_origins") { config.stage.mediaOrigins = $0 }
        }
        try reader.object("journal") { journal in
            try journal.bool("enabled") { config.journal.enabled = $0 }
        }
        try reader.object("rooms") { rooms in
            try rooms.int("max_rooms_per_owner", in: 0...1_000_000) { config.rooms.maxRoomsPerOwner = $0 }
            try rooms.number("unload_after", in: 0...31_536_000) { config.rooms.unloadAfter = $0 }
            try rooms.bool("demo") { config.rooms.demo = $0 }
            try rooms.number("comment_budget", in: 0.1...100_000) { config.rooms.room.commentBudgetPerSecond = $0 }
            try rooms.number("comment_rate", in: 0.01...1000) { config.rooms.room.commentRate = $0 }
            try rooms.number("comment_burst", in: 1...10_000) { config.rooms.room.commentBurst = $0 }
            try rooms.int("max_comment_length", in: 1...4096) { config.rooms.room.maxCommentLength = $0 }
            try rooms.strings("blocked_words") { config.rooms.room.blockedWords = $0 }
            try rooms.int("history_size", in: 1...100_000) { config.rooms.room.historySize = $0 }
            try rooms.int("welcome_comments", in: 0...1000) { config.rooms.room.welcomeComments = $0 }
            try rooms.int("max_order_quantity", in: 1...1_000_000) { config.rooms.room.maxOrderQuantity = $0 }
        }
        try reader.finish()
        try validate(config)
        return config
    }

    /// 127.0.0.0/8, ::1 and localhost.
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// Cross-key checks that no single key can make.
    public static func validate(_ config: ServerConfiguration) throws {
        let out = config.outbound
        if out.lowWater > out.highWater {
            throw Error(key: "outbound.low_water", problem: "must not exceed outbound.high_water (\(out.highWater))")
        }
        if out.highWater > out.hardLimit {
            throw Error(key: "outbound.high_water", problem: "must not exceed outbound.hard_limit (\(out.hardLimit))")
        }
        if config.environment == "production" && config.auth.jwtSecret == ServerConfiguration.AuthSettings.developmentSecret {
            throw Error(
                key: "auth.jwt_secret", problem: "production refuses the development secret; set auth.jwt_secret or HOMETOWN_JWT_SECRET")
        }
        if config.environment != "production" && config.auth.jwtSecret == ServerConfiguration.AuthSettings.developmentSecret
            && !Self.isLoopback(config.host)
        {
            // The development secret is public (it is in this repository): on a reachable address
            // anyone could sign a streamer or admin token. Refuse rather than warn.
            throw Error(
                key: "host",
                problem:
                    "'\(config.host)' is reachable from other machines, and the development JWT secret is public; set auth.jwt_secret (or HOMETOWN_JWT_SECRET), or listen on 127.0.0.1"
            )
        }
        if config.cluster.enabled {
            do {
                _ = try RedisURL(config.cluster.redis)
            } catch {
                throw Error(key: "cluster.redis", problem: error.description)
            }
            let node = config.cluster.nodeID
            if !node.isEmpty && (!Names.isPrintableIdentifier(node, maxBytes: 64) || node.contains("|") || node.contains(" ")) {
                throw Error(key: "cluster.node_id", problem: "1-64 printable bytes, no spaces and no '|'")
            }
        }
        try Self.validateOrders(config)
        for origin in config.stage.mediaOrigins where !Self.isOrigin(origin) {
            throw Error(
                key: "stage.media_origins", problem: "'\(origin)' is not an origin like https://cdn.example.com or http://127.0.0.1:8889")
        }
        if config.tls.cert.isEmpty != config.tls.key.isEmpty {
            throw Error(key: config.tls.cert.isEmpty ? "tls.cert" : "tls.key", problem: "set both tls.cert and tls.key, or neither")
        }
        if config.webSocket.idleTimeout <= config.webSocket.pingInterval {
            throw Error(key: "websocket.idle_timeout", problem: "must be longer than websocket.ping_interval")
        }
    }

    /// `http(s)://host[:port]`, nothing after it: it goes into the Content-Security-Policy as it is.
    static func isOrigin(_ text: String) -> Bool {
        guard let rest = text.hasPrefix("https://") ? text.dropFirst(8) : text.hasPrefix("http://") ? text.dropFirst(7) : nil,
            !rest.isEmpty
        else { return false }
        return rest.allSatisfy {
            $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == ":" || $0 == "[" || $0 == "]")
        }
    }

    private static func validateOrders(_ config: ServerConfiguration) throws {
        let orders = config.orders
        if !orders.shopToken.isEmpty && orders.shopToken.utf8.count < 16 {
            throw Error(key: "orders.shop_token", problem: "at least 16 characters (it lets the holder mark orders paid)")
        }
        let template = config.rooms.room.checkoutURL
        if !template.isEmpty && (!template.contains("{order}") || !(template.hasPrefix("https://") || template.hasPrefix("http://"))) {
            throw Error(key: "orders.checkout_url", problem: "an http(s) URL with {order} in it, e.g. https://shop.example/pay/{order}")
        }
        guard orders.webhookEnabled else { return }
        if !config.cluster.enabled && !config.journal.enabled {
            throw Error(
                key: "orders.webhook_url", problem: "needs the journal (journal.enabled: true): the outbox is stored with the orders")
        }
        do {
            _ = try WebhookEndpoint(orders.webhookURL)
        } catch {
            throw Error(key: "orders.webhook_url", problem: "\(error)")
        }
        if orders.webhookSecret.utf8.count < 16 {
            throw Error(key: "orders.webhook_secret", problem: "set a secret of at least 16 characters (or HOMETOWN_WEBHOOK_SECRET)")
        }
        if orders.webhookRetryMax < orders.webhookRetryBase {
            throw Error(key: "orders.webhook_retry_max", problem: "must not be less than orders.webhook_retry_base")
        }
    }

    /// Walks one JSON object, remembering which keys were read so `finish` can reject the rest.
    struct ObjectReader {
        let fields: [(key: String, value: JSONValue)]
        let path: String
        var seen: Set<String> = []

        init(_ fields: [(key: String, value: JSONValue)], path: String) {
            self.fields = fields
            self.path = path
        }

        func name(_ key: String) -> String { self.path.isEmpty ? key : "\(self.path).\(key)" }

        mutating func value(_ key: String) -> JSONValue? {
            self.seen.insert(key)
            return self.fields.last(where: { $0.key == key })?.value
        }

        mutating func string(_ key: String, _ set: (String) throws -> Void) throws {
            guard let raw = self.value(key) else { return }
            guard let value = raw.stringValue else { throw Error(key: self.name(key), problem: "must be a string, not \(raw.typeName)") }
            try set(value)
        }

        mutating func bool(_ key: String, _ set: (Bool) -> Void) throws {
            guard let raw = self.value(key) else { return }
            guard let value = raw.boolValue else { throw Error(key: self.name(key), problem: "must be true or false, not \(raw.typeName)") }
            set(value)
        }

        mutating func int(_ key: String, in range: ClosedRange<Int>, _ set: (Int) -> Void) throws {
            guard let raw = self.value(key) else { return }
            guard let value = raw.intValue else { throw Error(key: self.name(key), problem: "must be an integer, not \(raw.typeName)") }
            guard value >= range.lowerBound && value <= range.upperBound else {
                throw Error(key: self.name(key), problem: "must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
            }
            set(Int(value))
        }

        mutating func number(_ key: String, in range: ClosedRange<Double>, _ set: (Double) -> Void) throws {
            guard let raw = self.value(key) else { return }
            guard let value = raw.doubleValue else { throw Error(key: self.name(key), problem: "must be a number, not \(raw.typeName)") }
            guard range.contains(value) else {
                throw Error(key: self.name(key), problem: "must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
            }
            set(value)
        }

        mutating func strings(_ key: String, _ set: ([String]) -> Void) throws {
            guard let raw = self.value(key) else { return }
            guard let values = raw.arrayValue else { throw Error(key: self.name(key), problem: "must be an array of strings") }
            var strings: [String] = []
            for value in values {
                guard let text = value.stringValue else { throw Error(key: self.name(key), problem: "must be an array of strings") }
                strings.append(text)
            }
            set(strings)
        }

        mutating func seconds(_ key: String, _ set: (Double) -> Void) throws {
            guard let raw = self.value(key) else { return }
            guard let value = raw.doubleValue else {
                throw Error(key: self.name(key), problem: "must be a number of seconds, not \(raw.typeName)")
            }
            guard value > 0, value <= 86_400 else {
                throw Error(key: self.name(key), problem: "must be more than 0 and at most 86400 seconds, got \(value)")
            }
            set(value)
        }

        mutating func object(_ key: String, _ body: (inout ObjectReader) throws -> Void) throws {
            guard let raw = self.value(key) else { return }
            guard let fields = raw.objectFields else { throw Error(key: self.name(key), problem: "must be an object, not \(raw.typeName)") }
            var reader = ObjectReader(fields, path: self.name(key))
            try body(&reader)
            try reader.finish()
        }

        func finish() throws {
            for field in self.fields where !self.seen.contains(field.key) && !field.key.hasPrefix("//") {
                throw Error(key: self.name(field.key), problem: "unknown key")
            }
        }
    }
}
