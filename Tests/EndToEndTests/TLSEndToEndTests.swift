import Foundation
import Gateway
import Testing
import WebSocketClient

/// A self-signed certificate for localhost, made by the openssl command line tool.
func makeCertificate() throws -> (cert: String, key: String) {
    let directory = makeTemporaryDirectory()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    process.arguments = [
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem",
    ]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return (directory + "/cert.pem", directory + "/key.pem")
}

/// Runs a Python script (the standard library's ssl module: a real, independent TLS client).
func python(_ script: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["timeout", "30", "python3", "-c", script] + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, output)
}

/// wss:// client: TLS handshake (verifying our certificate), WebSocket upgrade, one masked text
/// frame, its echo. argv: port cafile [max_tls]
let wssEchoScript = #"""
    import os, socket, ssl, sys, base64, struct
    port, cafile = int(sys.argv[1]), sys.argv[2]
    context = ssl.create_default_context(cafile=cafile)
    if len(sys.argv) > 3 and sys.argv[3] == "tls1.1":
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    sock = context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5), server_hostname="localhost")
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(("GET /echo HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % key).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            sys.exit("connection closed before the 101")
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    payload = "安全 hello over TLS".encode()
    mask = os.urandom(4)
    frame = bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    sock.sendall(frame)
    data = head.split(b"\r\n\r\n", 1)[1]
    while len(data) < 2 + len(payload):
        chunk = sock.recv(4096)
        if not chunk:
            sys.exit("connection closed before the echo")
        data += chunk
    assert data[0] == 0x81 and data[2:2 + len(payload)] == payload, data
    print("echo ok", sock.version())
    """#

@Suite("TLS (wss://) with a real client", .serialized)
struct TLSEndToEndTests {
    @Test func wssEchoWithPythonsSSLClientAndBadClientsCostNothing() throws {
        let (cert, key) = try makeCertificate()
        try withServer({
            $0.tls.cert = cert
            $0.tls.key = key
        }) { server in
            let first = try python(wssEchoScript, [String(server.port), cert])
            #expect(first.status == 0, "\(first.output)")
            #expect(first.output.contains("echo ok TLSv1.3"))

            // Plain HTTP to the TLS port: a failed handshake for that socket only.
            let plain = try BlockingWebSocketClient(port: server.port, timeout: 3, upgrade: false)
            try plain.sendRaw(Array("GET /healthz HTTP/1.1\r\n\r\n".utf8))
            #expect(plain.waitForEOF())
            // TLS 1.1 is refused.
            let old = try python(wssEchoScript, [String(server.port), cert, "tls1.1"])
            #expect(old.status != 0)
            // And the server carries on.
            let again = try python(wssEchoScript, [String(server.port), cert])
            #expect(again.status == 0, "\(again.output)")
            // The plain-HTTP attempt (and the refused TLS 1.1 one) were counted.
            let failures = parseMetrics(server.renderMetrics())["hometown_tls_handshake_failures_total"] ?? 0
            #expect(failures >= 1)
        }
    }

    @Test func unreadableCertificateStopsStartupNamingTheKey() throws {
        var config = ServerConfiguration()
        config.port = 0
        config.journal.enabled = false
        config.tls.cert = "/nonexistent/cert.pem"
        config.tls.key = "/nonexistent/key.pem"
        #expect(throws: ConfigurationLoader.Error.self) { try HometownServer(config: config) }
        #expect(throws: ConfigurationLoader.Error.self) {
            try ConfigurationLoader.apply(json: Array(#"{"tls": {"cert": "a.pem"}}"#.utf8), to: ServerConfiguration())
        }
    }
}
