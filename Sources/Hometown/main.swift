import Auth
import Foundation
import Gateway

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
    print(CommandLineOptions.usage)
    exit(0)
}

var config = ServerConfiguration()
do {
    if let path = options.configFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationLoader.Error(key: "--config", problem: "cannot read '\(path)'")
        }
        config = try ConfigurationLoader.apply(json: Array(data), to: config)
    }
    config = try options.apply(to: config, environment: ProcessInfo.processInfo.environment)
} catch {
    FileHandle.standardError.write("hometown: \(error)\n".data(using: .utf8)!)
    exit(2)
}
Log.level = config.logLevel

if case .token(let sub, let name, let role, let room, let ttl) = options.command {
    let exp = Int64(Date().timeIntervalSince1970) + Int64(ttl)
    print(JWT.sign(JWT.Claims(sub: sub, name: name ?? sub, role: role, room: room, exp: exp), secret: config.auth.jwtSecret))
    exit(0)
}

// Block the stop signals before any loop thread exists, so only sigwait below receives them.
var stopSignals = sigset_t()
sigemptyset(&stopSignals)
sigaddset(&stopSignals, SIGTERM)
sigaddset(&stopSignals, SIGINT)
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
sigwait(&stopSignals, &received)
Log.info("stopping", ["signal": received == SIGTERM ? "SIGTERM" : "SIGINT"])
server.stop()
Log.info("stopped")
exit(0)
