import Gateway
import Glibc
import OrderJournal
@_exported import TestSupport
import WebSocket
import WebSocketClient

/// Starts a real server on 127.0.0.1:0 with the given tweaks and stops it after `body`.
func withServer<T>(
    _ configure: (inout ServerConfiguration) -> Void = { _ in }, wrapStore: ((any OrderStore) -> any OrderStore)? = nil,
    _ body: (HometownServer) throws -> T
) throws -> T {
    var config = ServerConfiguration()
    config.port = 0
    config.loops = 2
    config.logLevel = .warn
    config.dataDirectory = makeTemporaryDirectory()
    configure(&config)
    Log.level = config.logLevel
    let server = try HometownServer(config: config, wrapStore: wrapStore)
    try server.start()
    defer { server.stop() }
    return try body(server)
}

/// Sends raw bytes on a fresh TCP connection and returns the whole plain-HTTP answer.
func rawHTTP(_ server: HometownServer, _ request: String) throws -> String {
    let client = try BlockingWebSocketClient(port: server.port, timeout: 5, upgrade: false)
    try client.sendRaw(Array(request.utf8))
    return try client.readHTTPResponse()
}
