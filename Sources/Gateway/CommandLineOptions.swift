/// `hometown` command-line parsing, kept out of `main.swift` so tests can drive it.
public struct CommandLineOptions: Equatable {
    public enum Command: Equatable {
        case serve
        case help
        /// Print the build's version.
        case version
        /// List the stored rooms (from `--data`, or Redis in cluster mode).
        case rooms
        /// Print a signed JWT (for testing and the load tool): who, role, optional room, lifetime.
        case token(sub: String, name: String?, role: String, room: String?, ttl: Int)
        /// Print a room's orders from the store in `--data` (read-only; safe while serving).
        case orders(room: String, format: String, after: String?)
    }

    public var command: Command = .serve
    /// With `.help`: the subcommand whose usage to print (nil: all of it).
    public var helpTopic: String?
    public var configFile: String?
    /// Flag overrides, applied after the config file and the environment.
    public var host: String?
    public var port: UInt16?
    public var dataDirectory: String?
    public var redis: String?
    public var nodeID: String?
    public var loops: Int?
    public var enableBench = false
    public var tlsCert: String?
    public var tlsKey: String?
    public var logLevel: Log.Level?

    public struct Error: Swift.Error, CustomStringConvertible, Equatable {
        public let message: String
        public var description: String { self.message }
    }

    public static let usage = """
        usage: hometown [serve] [options]
               hometown token --sub ID [--name NAME] [--role viewer|streamer|moderator|admin] [--room R] [--ttl SECONDS]
               hometown orders (--data DIR | --redis URL) --room R [--format jsonl|csv] [--after ORDER_ID]
               hometown rooms (--data DIR | --redis URL)
               hometown help [COMMAND] | hometown COMMAND --help | hometown --version

        commands:
          serve                 run the server (the default)
          orders                print a room's orders from the store (JSON lines, or CSV with a header)
          token                 print a JWT signed with the configured secret (auth.jwt_secret /
                                HOMETOWN_JWT_SECRET), for trying rooms without an identity provider;
                                it expires after --ttl seconds (default 86400: one day)
          rooms                 list the stored rooms: name, owner, live, orders, title (tab-separated)
          help, --version       this text (or one command's); the build's version

        options:
          --config FILE         JSON config file (see Config/hometown.json for every key)
          --host HOST           address to listen on (default 127.0.0.1)
          --port PORT           port to listen on (default 8080; 0 picks a free one)
          --data DIR            data directory (default ./data)
          --redis URL           cluster mode: redis://[:password@]host:port[/db] (docs/SCALING.md)
          --node-id NAME        this node's name in the cluster (default host:port)
          --loops N             event loops; 0 = one per core (default 0)
          --enable-bench        turn on GET /bench/{channel}, the raw fan-out benchmark
          --tls-cert FILE       PEM certificate chain; with --tls-key the port serves wss:// (TLS 1.2+)
          --tls-key FILE        PEM private key
          --log-level LEVEL     debug, info, warn or error (default info)
          -h, --help            show this text

        environment (overridden by flags): HOMETOWN_HOST, HOMETOWN_PORT, HOMETOWN_DATA,
          HOMETOWN_LOOPS, HOMETOWN_LOG_LEVEL, HOMETOWN_JWT_SECRET, HOMETOWN_REDIS,
          HOMETOWN_ENVIRONMENT, HOMETOWN_SHOP_TOKEN, HOMETOWN_WEBHOOK_SECRET
        """

    public init() {}

    /// One command's usage (`hometown token --help`, `hometown help orders`).
    public static func usage(for topic: String?) -> String {
        switch topic {
        case "token":
            return """
                usage: hometown token --sub ID [--name NAME] [--role viewer|streamer|moderator|admin] [--room R] [--ttl SECONDS]
                  Prints an HS256 JWT signed with the configured secret (auth.jwt_secret, HOMETOWN_JWT_SECRET,
                  or --config FILE). --name defaults to the sub, --role to viewer; --room limits the token to
                  one room; --ttl is its lifetime in seconds (default 86400: one day).
                """
        case "rooms":
            return """
                usage: hometown rooms (--data DIR | --redis URL)
                  Lists every stored room, one a line, tab-separated: name, owner, live (yes/no), orders, title.
                  Read-only, safe while the server runs. To close and archive a room (out of the lobby and
                  the metrics; its orders stay exportable): POST /api/admin/rooms/{room}/close with an admin
                  token, on the node that runs it (docs/OPERATIONS.md).
                """
        case "orders":
            return """
                usage: hometown orders (--data DIR | --redis URL) --room R [--format jsonl|csv] [--after ORDER_ID]
                  Prints a room's orders, oldest first, from the store (read-only; safe while the server runs):
                  the SQLite store in --data, or in cluster mode the room's orders in Redis. --after continues
                  after that order (it must be one of the room's). An unknown room or order: exit status 1.
                """
        default:
            return Self.usage
        }
    }

    public static func parse(_ arguments: [String]) throws -> CommandLineOptions {
        var options = CommandLineOptions()
        var rest = arguments[...]
        var tokenCommand = false
        var ordersCommand = false
        var format = "jsonl"
        var after: String?
        if let first = rest.first, !first.hasPrefix("-") {
            switch first {
            case "serve": break
            case "token": tokenCommand = true
            case "orders": ordersCommand = true
            case "version": options.command = .version
            case "rooms": options.command = .rooms
            case "help":
                options.command = .help
                options.helpTopic = rest.dropFirst().first
                return options
            default: throw Error(message: "unknown command '\(first)'\n\n\(usage)")
            }
            rest = rest.dropFirst()
        }
        var sub: String?
        var name: String?
        var role = "viewer"
        var room: String?
        var ttl = 86_400
        func value(_ flag: String) throws -> String {
            guard let next = rest.first else { throw Error(message: "\(flag) needs a value") }
            rest = rest.dropFirst()
            return next
        }
        func flag<Value>(_ flag: String, _ rule: SettingRules.Rule<Value>) throws -> Value {
            let text = try value(flag)
            guard let parsed = rule.parse(text) else { throw Error(message: "\(flag): '\(text)' \(rule.problem)") }
            return parsed
        }
        while let argument = rest.first {
            rest = rest.dropFirst()
            switch argument {
            case "-h", "--help":
                options.command = .help
                options.helpTopic = tokenCommand ? "token" : ordersCommand ? "orders" : options.command == .rooms ? "rooms" : nil
            case "--version": options.command = .version
            case "--config": options.configFile = try value(argument)
            case "--host": options.host = try value(argument)
            case "--port": options.port = try flag(argument, SettingRules.port)
            case "--data": options.dataDirectory = try value(argument)
            case "--redis": options.redis = try value(argument)
            case "--node-id": options.nodeID = try value(argument)
            case "--loops": options.loops = try flag(argument, SettingRules.loops)
            case "--enable-bench": options.enableBench = true
            case "--tls-cert": options.tlsCert = try value(argument)
            case "--tls-key": options.tlsKey = try value(argument)
            case "--sub" where tokenCommand: sub = try value(argument)
            case "--name" where tokenCommand: name = try value(argument)
            case "--role" where tokenCommand: role = try value(argument)
            case "--room" where tokenCommand || ordersCommand: room = try value(argument)
            case "--format" where ordersCommand:
                format = try value(argument)
                guard format == "jsonl" || format == "csv" else { throw Error(message: "orders: --format must be jsonl or csv") }
            case "--after" where ordersCommand: after = try value(argument)
            case "--ttl" where tokenCommand:
                let text = try value(argument)
                guard let seconds = Int(text), seconds > 0 else { throw Error(message: "--ttl: '\(text)' is not a number of seconds") }
                ttl = seconds
            case "--log-level": options.logLevel = try flag(argument, SettingRules.logLevel)
            default:
                throw Error(message: "unknown option '\(argument)'\n\n\(usage)")
            }
        }
        if ordersCommand && options.command != .help {
            guard let room, !room.isEmpty else { throw Error(message: "orders: --room is required") }
            options.command = .orders(room: room, format: format, after: after)
        }
        if tokenCommand && options.command != .help {
            guard let sub, !sub.isEmpty else { throw Error(message: "token: --sub is required") }
            guard ["viewer", "streamer", "moderator", "admin"].contains(role) else {
                throw Error(message: "token: --role must be viewer, streamer, moderator or admin")
            }
            options.command = .token(sub: sub, name: name, role: role, room: room, ttl: ttl)
        }
        return options
    }

    /// Applies environment variables, then these flags, on top of `config`.
    public func apply(to config: ServerConfiguration, environment: [String: String]) throws -> ServerConfiguration {
        var config = config
        if let host = environment["HOMETOWN_HOST"] { config.host = host }
        if let text = environment["HOMETOWN_PORT"] { config.port = try SettingRules.port.value(text, key: "HOMETOWN_PORT") }
        if let data = environment["HOMETOWN_DATA"] { config.dataDirectory = data }
        if let redis = environment["HOMETOWN_REDIS"] { config.cluster.redis = redis }
        if let value = environment["HOMETOWN_ENVIRONMENT"] {
            config.environment = try SettingRules.environment.value(value, key: "HOMETOWN_ENVIRONMENT")
        }
        if let text = environment["HOMETOWN_LOOPS"] { config.loops = try SettingRules.loops.value(text, key: "HOMETOWN_LOOPS") }
        if let text = environment["HOMETOWN_LOG_LEVEL"] {
            config.logLevel = try SettingRules.logLevel.value(text, key: "HOMETOWN_LOG_LEVEL")
        }
        if let secret = environment["HOMETOWN_JWT_SECRET"], !secret.isEmpty {
            // The secret itself is not repeated in the error.
            guard SettingRules.jwtSecret.parse(secret) != nil else {
                throw ConfigurationLoader.Error(key: "HOMETOWN_JWT_SECRET", problem: SettingRules.jwtSecret.problem)
            }
            config.auth.jwtSecret = secret
        }
        if let token = environment["HOMETOWN_SHOP_TOKEN"], !token.isEmpty { config.orders.shopToken = token }
        if let secret = environment["HOMETOWN_WEBHOOK_SECRET"], !secret.isEmpty { config.orders.webhookSecret = secret }
        if let host = self.host { config.host = host }
        if let port = self.port { config.port = port }
        if let data = self.dataDirectory { config.dataDirectory = data }
        if let redis = self.redis { config.cluster.redis = redis }
        if let node = self.nodeID { config.cluster.nodeID = node }
        if let loops = self.loops { config.loops = loops }
        if self.enableBench { config.bench.enabled = true }
        if let cert = self.tlsCert { config.tls.cert = cert }
        if let key = self.tlsKey { config.tls.key = key }
        if let level = self.logLevel { config.logLevel = level }
        try ConfigurationLoader.validate(config)
        return config
    }
}
