import Foundation
import Gateway
import TestSupport
import Testing
import WebSocket
import WebSocketClient

@Suite("WebSocket echo and protocol errors, over real sockets", .serialized)
struct EchoEndToEndTests {
    @Test func theDefaultEchoLimitIs64KiB() throws {
        try withServer { server in
            let client = try BlockingWebSocketClient(port: server.port)
            let fits = [UInt8](repeating: 1, count: 64 << 10)
            try client.send(.binary, fits)
            #expect(try client.receiveMessage().payload == fits)
            try client.send(.binary, fits + [1])
            #expect(try client.receiveClose() == .messageTooBig)
        }
    }

    @Test func echoesTextAndBinary() throws {
        try withServer { server in
            let client = try BlockingWebSocketClient(port: server.port)
            try client.send(text: "冬笋 hello")
            #expect(try client.receiveMessage() == WebSocketMessage(text: "冬笋 hello"))
            try client.send(.binary, [0, 1, 2, 255])
            #expect(try client.receiveMessage() == WebSocketMessage(kind: .binary, payload: [0, 1, 2, 255]))
        }
    }

    @Test func largeAndFragmentedMessages() throws {
        // As the conformance run configures it: messages up to 16 MiB.
        try withServer({ $0.echo.maxMessageSize = 16 << 20 }) { server in
            let client = try BlockingWebSocketClient(port: server.port)
            let big = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
            try client.send(.binary, big)
            #expect(try client.receiveMessage().payload == big)
            // 1,000 fragments with a ping in the middle.
            let piece = Array("0123456789".utf8)
            for index in 0..<1000 {
                try client.send(index == 0 ? .text : .continuation, piece, fin: index == 999)
                if index == 500 { try client.send(.ping, [7]) }
            }
            #expect(try client.receive() == .pong([7]))
            #expect(try client.receiveMessage().payload == Array(repeating: piece, count: 1000).flatMap { $0 })
        }
    }

    @Test func closeIsEchoedAndTheServerClosesTCP() throws {
        try withServer { server in
            let client = try BlockingWebSocketClient(port: server.port)
            try client.sendClose(.goingAway, reason: "bye")
            #expect(try client.receiveClose() == .goingAway)
            #expect(client.waitForEOF())
        }
    }

    @Test(arguments: [
        ([0x81, 0x02, 0x68, 0x69] as [UInt8], WebSocketCloseCode.protocolError),  // unmasked
        (WebSocketFrameEncoder.frame(opcode: .text, payload: [0xC0, 0xAF], maskKey: 1), .invalidPayloadData),
        (WebSocketFrameEncoder.frame(opcode: .continuation, payload: [1], maskKey: 1), .protocolError),
        ([0xC1, 0x80, 0, 0, 0, 0] as [UInt8], .protocolError),  // RSV1 without an extension
        ([0x83, 0x80, 0, 0, 0, 0] as [UInt8], .protocolError),  // reserved opcode
        (WebSocketFrameEncoder.frame(opcode: .close, payload: [0x03, 0xEE], maskKey: 1), .protocolError),  // 1006
    ])
    func protocolErrorsCloseWithTheRightCode(frame: [UInt8], code: WebSocketCloseCode) throws {
        try withServer { server in
            let client = try BlockingWebSocketClient(port: server.port)
            try client.sendRaw(frame)
            #expect(try client.receiveClose() == code)
            #expect(client.waitForEOF())
            // The server is still there for everyone else.
            let other = try BlockingWebSocketClient(port: server.port)
            try other.send(text: "still up")
            #expect(try other.receiveMessage().text == "still up")
        }
    }

    @Test func messageOverTheLimitCloses1009() throws {
        try withServer({ $0.echo.maxMessageSize = 1000 }) { server in
            let client = try BlockingWebSocketClient(port: server.port)
            try client.send(.binary, [UInt8](repeating: 1, count: 1001))
            #expect(try client.receiveClose() == .messageTooBig)
        }
    }

    @Test func manyConcurrentClients() throws {
        try withServer { server in
            let clients = 64
            let rounds = 50
            let failures = Counter()
            DispatchQueue.concurrentPerform(iterations: clients) { index in
                do {
                    let client = try BlockingWebSocketClient(port: server.port)
                    for round in 0..<rounds {
                        let text = "client \(index) round \(round) " + String(repeating: "x", count: round * 40)
                        try client.send(text: text)
                        if try client.receiveMessage().text != text { failures.increment() }
                    }
                    try client.sendClose()
                    _ = try client.receiveClose()
                } catch {
                    failures.increment()
                }
            }
            #expect(failures.value == 0)
            #expect(eventually { server.connectionCount == 0 })
        }
    }

    @Test func abruptDisconnectsMidFrameCostNothing() throws {
        try withServer { server in
            for cut in [1, 2, 5, 9, 100] {
                let client = try BlockingWebSocketClient(port: server.port)
                let frame = WebSocketFrameEncoder.frame(opcode: .binary, payload: [UInt8](repeating: 9, count: 500), maskKey: 5)
                try client.sendRaw(Array(frame.prefix(cut)))
            }  // each client is deinitialised here: its socket closes mid-frame
            #expect(eventually { server.connectionCount == 0 })
            let client = try BlockingWebSocketClient(port: server.port)
            try client.send(text: "ok")
            #expect(try client.receiveMessage().text == "ok")
        }
    }

    @Test func idlePeerIsPingedThenClosed() throws {
        try withServer({
            $0.webSocket.pingInterval = 1
            $0.webSocket.idleTimeout = 2.5
        }) { server in
            let client = try BlockingWebSocketClient(port: server.port)
            client.setTimeout(8)
            #expect(try client.receive() == .ping([]))
            // We do not answer: the server gives up with its idle-timeout code.
            #expect(try client.receiveClose() == .idleTimeout)
        }
    }
}
