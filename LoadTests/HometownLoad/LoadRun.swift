import Auth
import Glibc
import JSON
import Transport
import WebSocket

/// Every simulated client is a descriptor: raise the soft open-file limit to the hard one.
func raiseOpenFileLimit() {
    var limit = rlimit()
    getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    limit.rlim_cur = limit.rlim_max
    setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
}

/// Client event loops, started; nil (after saying why, prefixed with `command`) if they cannot
/// be made. Stop them with `stopClientLoops`.
func startClientLoops(_ count: Int, command: String) -> [EventLoop]? {
    do {
        let loops = try (0..<count).map { try EventLoop(index: $0) }
        for loop in loops { loop.start() }
        return loops
    } catch {
        print("\(command): \(error)")
        return nil
    }
}

func stopClientLoops(_ loops: [EventLoop]) {
    for loop in loops { loop.stop() }
    for loop in loops { loop.join() }
}

/// What one loop measured. Written only on its loop; read through `snapshot` (a copy made on the
/// loop) or after the loops stopped.
final class LoopStats {
    var connect = LatencyHistogram()
    var commentFanout = LatencyHistogram()
    var orderAck = LatencyHistogram()
    var timeToSellOut = LatencyHistogram()
    var messagesIn = 0
    var messagesOut = 0
    var ordersAnswered = 0
    var errors: [String: Int] = [:]
    var closeCodes: [String: Int] = [:]
    var lostComments = 0
    var reorderedComments = 0
    /// Orders sent again with the same ref (after a reconnect, or an `unavailable` answer).
    var ordersResent = 0
    var unavailableAnswers = 0
    var reconnects = 0
    /// `order.update`s buyers received, by outcome (paid, expired, shop, buyer).
    var orderUpdates: [String: Int] = [:]

    func copy() -> LoopStats {
        let copy = LoopStats()
        copy.connect = self.connect
        copy.commentFanout = self.commentFanout
        copy.orderAck = self.orderAck
        copy.timeToSellOut = self.timeToSellOut
        copy.messagesIn = self.messagesIn
        copy.messagesOut = self.messagesOut
        copy.ordersAnswered = self.ordersAnswered
        copy.errors = self.errors
        copy.closeCodes = self.closeCodes
        copy.lostComments = self.lostComments
        copy.reorderedComments = self.reorderedComments
        copy.ordersResent = self.ordersResent
        copy.unavailableAnswers = self.unavailableAnswers
        copy.reconnects = self.reconnects
        copy.orderUpdates = self.orderUpdates
        return copy
    }

    func merge(_ other: LoopStats) {
        self.connect.merge(other.connect)
        self.commentFanout.merge(other.commentFanout)
        self.orderAck.merge(other.orderAck)
        self.timeToSellOut.merge(other.timeToSellOut)
        self.messagesIn += other.messagesIn
        self.messagesOut += other.messagesOut
        self.ordersAnswered += other.ordersAnswered
        self.errors.merge(other.errors, uniquingKeysWith: +)
        self.closeCodes.merge(other.closeCodes, uniquingKeysWith: +)
        self.lostComments += other.lostComments
        self.reorderedComments += other.reorderedComments
        self.ordersResent += other.ordersResent
        self.unavailableAnswers += other.unavailableAnswers
        self.reconnects += other.reconnects
        self.orderUpdates.merge(other.orderUpdates, uniquingKeysWith: +)
    }
}

/// One simulated viewer. Loop-confined.
final class Viewer {
    let index: Int
    let room: Int
    let user: String
    let loop: Int
    let buyer: Bool
    var session: ClientSession?
    var connectStartedAt = 0.0
    var welcomed = false
    var closed = false
    var lastSeq: UInt64?
    var epoch: String?
    /// Reconnect attempts since the last welcome (for the backoff).
    var attempts = 0
    var reconnects = 0
    var nextComment = Double.infinity
    var nextLike = Double.infinity
    var lastViewerCount: Int?
    /// This buyer's orders, one ref each, in the order placed.
    var orders: [OrderAttempt] = []
    var ordered: Bool { !self.orders.isEmpty }
    /// Saw the sale go live and will tap after its spread delay.
    var waitingToBuy = false

    init(index: Int, room: Int, loop: Int, buyer: Bool) {
        self.index = index
        self.room = room
        self.user = "load-viewer-\(index)"
        self.loop = loop
        self.buyer = buyer
    }
}

/// One order (one ref) and every answer it got: the first, then one per retry of the same ref.
struct OrderAttempt {
    var ref: String
    var sentAt: Double
    var answers: [(status: String, id: String?)] = []
    var retriesLeft: Int

    var first: (status: String, id: String?)? { self.answers.first }
    /// A refusal does not bind a ref: a retry of a sold-out ref may be accepted once units came
    /// back (a payment window), so the ref's order is its first accepted answer.
    var acceptedAnswer: (status: String, id: String?)? { self.answers.first { $0.status == "accepted" } }
    var accepted: Bool { self.acceptedAnswer != nil }
    var acceptedID: String? { self.acceptedAnswer?.id }
}

/// The streamer of one room. Loop-confined.
final class Streamer {
    let room: Int
    let loop: Int
    var session: ClientSession?
    var ready = false
    var saleStartedAt = 0.0
    var soldOutAt = 0.0
    var streamedOrders: Set<String> = []
    var attempts = 0
    var welcomes = 0

    init(room: Int, loop: Int) {
        self.room = room
        self.loop = loop
    }
}
