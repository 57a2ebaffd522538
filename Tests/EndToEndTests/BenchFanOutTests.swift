import Foundation
import Gateway
import Testing
import WebSocket
import WebSocketClient

@Suite("Broadcast fan-out and the slow-consumer policy, over real sockets", .serialized)
struct BenchFanOutTests {
    @Test func everyMessageReachesEverySubscriberAcrossLoops() throws {
        try withServer({ $0.bench.enabled = true }) { server in
            let subscribers = try (0..<20).map { _ in try BlockingWebSocketClient(port: server.port, path: "/bench/room1") }
            let elsewhere = try BlockingWebSocketClient(port: server.port, path: "/bench/room2")
            elsewhere.setTimeout(0.3)
            let publisher = subscribers[0]
            for index in 0..<100 { try publisher.send(text: "message \(index)") }
            for subscriber in subscribers {
                for index in 0..<100 {
                    #expect(try subscriber.receiveMessage().text == "message \(index)")
                }
            }
            // Channels are separate.
            #expect(throws: BlockingWebSocketClient.Error.timeout) { try elsewhere.receiveMessage() }
        }
    }

    @Test func aSubscriberThatNeverReadsIsCutOffWhileOthersKeepReceiving() throws {
        try withServer({
            $0.bench.enabled = true
            $0.outbound.lowWater = 16 * 1024
            $0.outbound.highWater = 32 * 1024
            $0.outbound.hardLimit = 256 * 1024
        }) { server in
            // A small receive window keeps the kernel's buffering small, so the server's own
            // queue bound is what the test trips.
            let stalled = try BlockingWebSocketClient(port: server.port, path: "/bench/hot", receiveBufferSize: 32 * 1024)
            let reader = try BlockingWebSocketClient(port: server.port, path: "/bench/hot")
            let publisher = try BlockingWebSocketClient(port: server.port, path: "/bench/hot")
            let payload = String(repeating: "p", count: 8000)
            let messages = 2000  // 16 MB: far beyond the stalled peer's window plus the hard limit
            var received = 0
            for _ in 0..<messages {
                try publisher.send(text: payload)
                // The reader and the publisher keep up.
                if try reader.receiveMessage().text.count == 8000 { received += 1 }
                _ = try publisher.receiveMessage()
            }
            #expect(received == messages)
            #expect(server.metrics.slowConsumerDisconnects.value == 1)
            // The stalled peer, when it finally reads, finds the slow-consumer close after what it had.
            stalled.setTimeout(5)
            #expect(try stalled.receiveClose() == .slowConsumer)
            #expect(stalled.waitForEOF())
        }
    }
}
