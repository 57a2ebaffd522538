import Auth
import BuildInfo
import Cluster
import Foundation
import Gateway
import LiveRoom
import OrderJournal
import RedisClient

// The `hometown` executable: read the configuration, start the loops, wait for a signal.

// A peer that vanishes mid-write must cost an EPIPE on that socket, not the process.
signal(SIGPIPE, SIG_IGN)

let options: CommandLineOptions
do {
    options = try CommandLineOptions.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    FileHandle.standardError.write("hometown: \(error)\n".data(using: .utf8)!)
    exit(2)
}
if options.command == .help {
    print(CommandLineOptions.usage(for: options.helpTopic))
    exit(0)
}
if options.command == .version {
    print("hometown \(BuildInfo.version)")
    exit(0)
}

/// The configuration: defaults, then the file, the environment and the flags.
func loadConfiguration(_ options: CommandLineOptions) throws -> ServerConfiguration {
    var config = ServerConfiguration()
    if let path = options.configFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationLoader.Error(key: "--config", problem: "cannot read '\(path)'")
        }
        config = try ConfigurationLoader.apply(file: path, contents: Array(data), to: config)
    }
    return try options.apply(to: config, environment: ProcessInfo.processInfo.environment)
}

var config = ServerConfiguration()
do {
    config = try loadConfiguration(options)
} catch {
    FileHandle.standardError.write("hometown: \(error)\n".data(using: .utf8)!)
    exit(2)
}
Log.level = config.logLevel
Log.json = config.logFormat == "json"

if case .orders(let room, let format, let after) = options.command {
    var cursor = after
    var first = true
    do {
        while true {
            let page: [LiveRoom.Order]
            if config.cluster.enabled {
                // Cluster mode: the room's orders from Redis, whichever node took them.
                guard let found = try OrderExport.page(redis: config.cluster.redis, room: room, after: cursor, limit: OrderExport.maxLimit)
                else { throw ConfigurationLoader.Error(key: "room", problem: "no room '\(room)' in Redis") }
                page = found.orders
            } else {
                page = try OrderExport.page(dataDirectory: config.dataDirectory, room: room, after: cursor, limit: OrderExport.maxLimit)
            }
            if page.isEmpty { break }
            let bytes = OrderExport.render(page, format: format == "csv" ? .csv : .jsonLines, header: first)
            FileHandle.standardOutput.write(Data(bytes))
            first = false
            cursor = page.last?.id
        }
        if first && format == "csv" { print(OrderExport.csvHeader) }
    } catch {
        let source = config.cluster.enabled ? config.cluster.redis : config.dataDirectory
        FileHandle.standardError.write("hometown: cannot read orders from \(source): \(error)\n".data(using: .utf8)!)
        exit(1)
    }
    exit(0)
}

if options.command == .rooms {
    do {
        var lines: [String] = []
        if config.cluster.enabled {
            let client = try BlockingRedisClient(url: try RedisURL(config.cluster.redis))
            let names = (try client.command(["SMEMBERS", ClusterKeys.rooms]).array ?? []).compactMap(\.string).sorted()
            for name in names {
                let replies = try client.pipeline([["GET", ClusterKeys.state(name)], ["LLEN", ClusterKeys.orders(name)]])
                guard case .bulkString(let state?) = replies[0], let snapshot = try? ClusterCodec.decodeSnapshot(state) else { continue }
                lines.append(
                    [name, snapshot.owner, snapshot.live ? "yes" : "no", String(replies[1].integer ?? 0), snapshot.title].joined(
                        separator: "\t"))
            }
        } else {
            let store = try SQLiteOrderStore(path: config.dataDirectory + "/" + SQLiteOrderStore.fileName, readOnly: true)
            for room in try store.roomSummaries() {
                lines.append([room.id, room.owner, room.live ? "yes" : "no", String(room.orders), room.title].joined(separator: "\t"))
            }
        }
        print("room\towner\tlive\torders\ttitle")
        for line in lines { print(line) }
    } catch {
        let source = config.cluster.enabled ? config.cluster.redis : config.dataDirectory
        FileHandle.standardError.write("hometown: cannot read rooms from \(source): \(error)\n".data(using: .utf8)!)
        exit(1)
    }
    exit(0)
}

if case .token(let sub, let name, let role, let room, let ttl) = options.command {
    let exp = Int64(Date().timeIntervalSince1970) + Int64(ttl)
    print(JWT.sign(JWT.Claims(sub: sub, name: name ?? sub, role: role, room: room, exp: exp), secret: config.auth.jwtSecret))
    exit(0)
}

// Block the signals we handle before any loop thread exists, so only sigwait below receives them.
var stopSignals = sigset_t()
sigemptyset(&stopSignals)
sigaddset(&stopSignals, SIGTERM)
sigaddset(&stopSignals, SIGINT)
sigaddset(&stopSignals, SIGHUP)
pthread_sigmask(SIG_BLOCK, &stopSignals, nil)

let server: HometownServer
do {
    server = try HometownServer(config: config)
    try server.start()
} catch {
    Log.error("cannot start", ["error": error])
    exit(1)
}

var received: Int32 = 0
while true {
    sigwait(&stopSignals, &received)
    guard received == SIGHUP else { break }
    // SIGHUP reloads what can change safely while serving: the log level. Everything else (ports,
    // TLS files, limits, the store) needs a restart; drain first (docs/OPERATIONS.md).
    do {
        let reloaded = try loadConfiguration(options)
        Log.level = reloaded.logLevel
        Log.info("SIGHUP: configuration re-read; log level applied, other changes need a restart", ["log_level": reloaded.logLevel])
    } catch {
        Log.error("SIGHUP: configuration not reloaded", ["error": error])
    }
}
Log.info("stopping", ["signal": received == SIGTERM ? "SIGTERM" : "SIGINT"])
// A second signal during the drain ends the process at once.
pthread_sigmask(SIG_UNBLOCK, &stopSignals, nil)
server.drain(timeout: config.drainTimeout)
Log.info("stopped")
exit(0)
