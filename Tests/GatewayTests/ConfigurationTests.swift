import Foundation
import Testing
import Transport

@testable import Gateway

@Suite("Configuration: file, environment, flags")
struct ConfigurationTests {
    func load(_ text: String) throws -> ServerConfiguration {
        try ConfigurationLoader.apply(json: Array(text.utf8), to: ServerConfiguration())
    }

    func error(_ text: String) -> ConfigurationLoader.Error? {
        do {
            _ = try load(text)
            return nil
        } catch let error as ConfigurationLoader.Error {
            return error
        } catch {
            return nil
        }
    }

    @Test func defaultsWorkWithNoConfig() {
        let config = ServerConfiguration()
        #expect(config.host == "127.0.0.1" && config.port == 8080)
        #expect(config.echoEnabled && !config.bench.enabled)
        #expect(config.echo.maxMessageSize == 64 << 10)
    }

    @Test func readsNestedKeysAndIgnoresComments() throws {
        let config = try load(#"{"//port": "doc", "port": 9000, "websocket": {"idle_timeout": 60, "//x": 1}, "bench": {"enabled": true}}"#)
        #expect(config.port == 9000)
        #expect(config.webSocket.idleTimeout == 60)
        #expect(config.bench.enabled)
    }

    @Test func unknownKeyIsNamed() {
        #expect(error(#"{"prot": 1}"#)?.key == "prot")
        #expect(error(#"{"websocket": {"idle_timout": 1}}"#)?.key == "websocket.idle_timout")
    }

    @Test func wrongTypesAndImpossibleValuesAreNamed() {
        #expect(error(#"{"port": "80"}"#)?.key == "port")
        #expect(error(#"{"port": 70000}"#)?.key == "port")
        #expect(error(#"{"echo": {"enabled": 1}}"#)?.key == "echo.enabled")
        #expect(error(#"{"websocket": {"ping_interval": -1}}"#)?.key == "websocket.ping_interval")
        #expect(error(#"{"log_level": "loud"}"#)?.key == "log_level")
        #expect(error(#"{"outbound": {"low_water": 100000, "high_water": 50000}}"#)?.key == "outbound.low_water")
        #expect(error(#"{"websocket": {"ping_interval": 200, "idle_timeout": 100}}"#)?.key == "websocket.idle_timeout")
        #expect(throws: (any Error).self) { try load("not json") }
        // From a file: the file, and for JSON that does not parse, the line and column.
        func fileError(_ text: String) -> ConfigurationLoader.Error? {
            do {
                _ = try ConfigurationLoader.apply(file: "/etc/hometown.json", contents: Array(text.utf8), to: ServerConfiguration())
                return nil
            } catch {
                return error as? ConfigurationLoader.Error
            }
        }
        #expect(fileError("{\n  \"port\": 80,\n  \"host\": ,\n}")?.key == "/etc/hometown.json:3:11")
        #expect(fileError(#"{"port": "x"}"#)?.key == "/etc/hometown.json: port")
    }

    @Test func productionTurnsDevelopmentConveniencesOff() throws {
        var config = ServerConfiguration()
        #expect(config.demoRoomEnabled && config.echoEnabled && config.effectiveDrainGrace == 0)
        config.environment = "production"
        #expect(!config.demoRoomEnabled && !config.echoEnabled && config.effectiveDrainGrace == 5)
        config.rooms.demo = true
        config.drainGrace = 0
        #expect(config.demoRoomEnabled && config.effectiveDrainGrace == 0)
    }

    @Test func clusterSettingsAreChecked() throws {
        #expect(error(#"{"cluster": {"redis": "http://127.0.0.1:6379"}}"#)?.key == "cluster.redis")
        #expect(error(#"{"cluster": {"redis": "redis://127.0.0.1"}}"#)?.key == "cluster.redis")
        #expect(error(#"{"cluster": {"redis": "redis://127.0.0.1:6379/42"}}"#)?.key == "cluster.redis")
        #expect(error(#"{"cluster": {"redis": "redis://127.0.0.1:6379", "node_id": "a b"}}"#)?.key == "cluster.node_id")
        #expect(error(#"{"cluster": {"redis": "redis://127.0.0.1:6379", "node_id": "a|b"}}"#)?.key == "cluster.node_id")
        #expect(error(#"{"cluster": {"lease": 0.1}}"#)?.key == "cluster.lease")
        let config = try load(#"{"cluster": {"redis": "redis://:pw@127.0.0.1:6380/2", "node_id": "node-1", "lease": 3}}"#)
        #expect(config.cluster.enabled && config.cluster.nodeID == "node-1" && config.cluster.lease == 3)
    }

    @Test func orderSettingsAreChecked() throws {
        let hook = #""webhook_url": "http://127.0.0.1:9000/hook""#
        #expect(error(#"{"orders": {\#(hook)}}"#)?.key == "orders.webhook_secret")
        #expect(
            error(#"{"orders": {"webhook_url": "https://shop.example/hook", "webhook_secret": "0123456789abcdef"}}"#)?.key
                == "orders.webhook_url")
        #expect(error(#"{"orders": {"shop_token": "short"}}"#)?.key == "orders.shop_token")
        #expect(error(#"{"orders": {"checkout_url": "https://shop.example/pay"}}"#)?.key == "orders.checkout_url")
        #expect(
            error(#"{"orders": {\#(hook), "webhook_secret": "0123456789abcdef"}, "journal": {"enabled": false}}"#)?.key
                == "orders.webhook_url")
        // A cluster keeps its outboxes in Redis: no journal needed.
        #expect(
            try load(
                #"{"orders": {\#(hook), "webhook_secret": "0123456789abcdef"}, "journal": {"enabled": false}, "cluster": {"redis": "redis://127.0.0.1:6379"}}"#
            ).orders.webhookEnabled)
        #expect(
            error(#"{"orders": {"webhook_retry_base": 10, "webhook_retry_max": 1, \#(hook), "webhook_secret": "0123456789abcdef"}}"#)?.key
                == "orders.webhook_retry_max")
        let config = try load(
            #"{"orders": {"checkout_url": "https://shop.example/pay/{order}", "shop_token": "0123456789abcdef", \#(hook), "webhook_secret": "0123456789abcdef", "webhook_max_attempts": 3}}"#
        )
        #expect(config.rooms.room.checkoutURL == "https://shop.example/pay/{order}" && config.orders.webhookEnabled)
        #expect(config.orders.webhookMaxAttempts == 3 && config.orders.shopToken == "0123456789abcdef")
    }

    @Test func mediaOriginsAreOriginsAndGoIntoThePolicy() throws {
        #expect(error(#"{"stage": {"media_origins": ["https://cdn.example.com/path"]}}"#)?.key == "stage.media_origins")
        #expect(error(#"{"stage": {"media_origins": ["cdn.example.com"]}}"#)?.key == "stage.media_origins")
        #expect(error(#"{"stage": {"media_origins": ["https://x; script-src *"]}}"#)?.key == "stage.media_origins")
        let config = try load(#"{"stage": {"media_origins": ["https://live.example.com", "http://127.0.0.1:8889"]}}"#)
        let policy = StaticFiles.contentSecurityPolicy(mediaOrigins: config.stage.mediaOrigins)
        #expect(policy.contains("media-src 'self' blob: https://live.example.com http://127.0.0.1:8889"))
        #expect(policy.contains("connect-src 'self' ws: wss: https://live.example.com http://127.0.0.1:8889"))
        #expect(policy.contains("script-src 'self'") && !policy.contains("unsafe"))
    }

    @Test func sampleConfigFileHasEveryKeyAtItsDefault() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Config/hometown.json")
        let data = try Data(contentsOf: url)
        #expect(try ConfigurationLoader.apply(json: Array(data), to: ServerConfiguration()) == ServerConfiguration())
    }

    @Test func aReachableAddressWithTheDevelopmentSecretIsRefused() throws {
        for host in ["0.0.0.0", "10.1.2.3", "::"] {
            var config = ServerConfiguration()
            config.host = host
            #expect(throws: ConfigurationLoader.Error.self) { try ConfigurationLoader.validate(config) }
            config.auth.jwtSecret = "a-real-secret-0123456789"
            try ConfigurationLoader.validate(config)
        }
        for host in ["127.0.0.1", "127.0.0.2", "::1", "localhost"] {
            var config = ServerConfiguration()
            config.host = host
            try ConfigurationLoader.validate(config)
        }
    }

    @Test func echoIsOffInProductionUnlessConfigured() throws {
        var config = ServerConfiguration()
        #expect(config.echoEnabled)
        config.environment = "production"
        #expect(!config.echoEnabled)
        config.echo.enabled = true
        #expect(config.echoEnabled)
    }

    @Test func flagsOverrideEnvironmentWhichOverridesFile() throws {
        let options = try CommandLineOptions.parse(["serve", "--port", "9100", "--enable-bench", "--data", "/tmp/x"])
        let config = try options.apply(
            to: try load(#"{"port": 9000, "host": "0.0.0.0", "auth": {"jwt_secret": "a-real-secret-0123456789"}}"#),
            environment: ["HOMETOWN_PORT": "9050", "HOMETOWN_HOST": "127.0.0.2", "HOMETOWN_LOOPS": "3"])
        #expect(config.port == 9100)
        #expect(config.host == "127.0.0.2")
        #expect(config.loops == 3)
        #expect(config.bench.enabled)
        #expect(config.dataDirectory == "/tmp/x")
    }

    @Test func badFlagsAndEnvironmentAreRefused() throws {
        #expect(throws: CommandLineOptions.Error.self) { try CommandLineOptions.parse(["--port", "http"]) }
        #expect(throws: CommandLineOptions.Error.self) { try CommandLineOptions.parse(["--bogus"]) }
        #expect(throws: CommandLineOptions.Error.self) { try CommandLineOptions.parse(["launch"]) }
        #expect(try CommandLineOptions.parse(["--help"]).command == .help)
        #expect(try CommandLineOptions.parse([]).command == .serve)
        // Every way of asking for help or the version.
        #expect(try CommandLineOptions.parse(["--version"]).command == .version)
        #expect(try CommandLineOptions.parse(["version"]).command == .version)
        #expect(try CommandLineOptions.parse(["help", "orders"]).helpTopic == "orders")
        #expect(try CommandLineOptions.parse(["token", "--help"]).helpTopic == "token")
        #expect(try CommandLineOptions.parse(["orders", "--help"]).command == .help)
        #expect(CommandLineOptions.usage(for: "orders").contains("--after ORDER_ID"))
        #expect(CommandLineOptions.usage(for: "token").contains("default 86400"))
        #expect(throws: ConfigurationLoader.Error.self) {
            try CommandLineOptions().apply(to: ServerConfiguration(), environment: ["HOMETOWN_PORT": "x"])
        }
    }
}

@Suite("Admission per address")
struct AdmissionPerAddressTests {
    @Test func eachIPv6ClientHasItsOwnShareOfThePerAddressLimit() {
        let limiter = ConnectionLimiter(maxConnections: 100, maxPerIP: 1, ratePerIP: 0)
        let first = PeerAddress(bytes: [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1])
        let second = PeerAddress(bytes: [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [2])
        #expect(limiter.admit(first, now: 0) == .admit)
        #expect(limiter.admit(second, now: 0) == .admit, "another IPv6 client is not the same address")
        #expect(limiter.admit(first, now: 0) == .full("too many connections from your address"))
        limiter.release(first)
        #expect(limiter.admit(first, now: 0) == .admit)
    }
}
