import Glibc
import JSON
import Transport
import WebSocketClient

/// The shop's side of a load test with a payment window: buyers who pay have the shop call
/// `POST /api/orders/{id}/paid` when they do (a few threads, blocking HTTP, off the client loops).
/// Prompt payers must get 200 (paid); late payers pay after their deadline and must get 409 with
/// the order expired — the room's clock, not the tool's, decides, and both sides must agree.
final class Payer: @unchecked Sendable {
    enum Kind { case never, late, prompt }

    struct Payment {
        var order: String
        var due: Double
        var late: Bool
        /// The order's deadline (ms since 1970).
        var payBy: Int64 = 0
    }

    private let targets: [(host: String, port: UInt16)]
    private let token: String
    private let lock = Lock()
    private var queue: [Payment] = []
    private var inFlight = 0
    private var stopping = false
    private var threads: [pthread_t] = []
    private var outcomes: [String: Int] = [:]

    init(targets: [(host: String, port: UInt16)], token: String, threads: Int = 4) {
        self.targets = targets
        self.token = token
        for _ in 0..<threads { self.threads.append(Threads.start { self.work() }) }
    }

    /// Which kind of buyer viewer `index` is: fixed per viewer, so worker processes agree.
    static func kind(of index: Int, _ scenario: Scenario) -> Kind {
        let draw = Double((UInt64(index) &* 2_654_435_761) % 10_000) / 10_000
        if draw < scenario.neverPay { return .never }
        if draw < scenario.neverPay + scenario.payLate { return .late }
        return .prompt
    }

    /// An accepted order of a buyer of `kind`; `payBy` is the deadline the room gave (ms since 1970).
    func accepted(order: String, payBy: Int64, kind: Kind, scenario: Scenario) {
        let now = MonotonicClock.seconds()
        let untilDeadline = Double(payBy - WallClock.nowMillis()) / 1000
        switch kind {
        case .never:
            self.count("never_paid")
        case .late:
            self.add(Payment(order: order, due: now + max(0, untilDeadline) + 1.5, late: true, payBy: payBy))
        case .prompt:
            self.add(Payment(order: order, due: now + Double.random(in: 0...max(0, scenario.payWithin)), late: false, payBy: payBy))
        }
    }

    private func add(_ payment: Payment) {
        self.lock.withLock { self.queue.append(payment) }
    }

    private func count(_ outcome: String) {
        self.lock.withLock { self.outcomes[outcome, default: 0] += 1 }
    }

    /// Waits (at most `timeout` s) until every payment was made, then stops the threads.
    func finish(timeout: Double) -> [String: Int] {
        let deadline = MonotonicClock.seconds() + timeout
        while MonotonicClock.seconds() < deadline && self.lock.withLock({ !self.queue.isEmpty || self.inFlight > 0 }) {
            usleep(20_000)
        }
        self.lock.withLock {
            self.stopping = true
            if !self.queue.isEmpty { self.outcomes["not_made", default: 0] += self.queue.count }
        }
        for thread in self.threads { pthread_join(thread, nil) }
        return self.lock.withLock { self.outcomes }
    }

    private func work() {
        while true {
            let next: Payment? = self.lock.withLock {
                if self.stopping { return nil }
                let now = MonotonicClock.seconds()
                guard let index = self.queue.firstIndex(where: { $0.due <= now }) else { return Payment(order: "", due: 0, late: false) }
                self.inFlight += 1
                return self.queue.remove(at: index)
            }
            guard let payment = next else { return }
            if payment.order.isEmpty {
                usleep(5_000)
                continue
            }
            self.count(self.pay(payment))
            self.lock.withLock { self.inFlight -= 1 }
        }
    }

    /// Calls the shop API; the outcome's name (paid, late_refused_as_expired, or what went wrong).
    /// A node that does not answer (killed in a failure test) or a room that is moving (503) is
    /// retried on the next node for about 10 s, as a shop's client would.
    private func pay(_ payment: Payment) -> String {
        let start = abs(payment.order.hashValue)
        for attempt in 0..<20 {
            let target = self.targets[(start + attempt) % self.targets.count]
            guard let client = try? BlockingWebSocketClient(host: target.host, port: target.port, timeout: 5, upgrade: false) else {
                usleep(500_000)
                continue
            }
            let request =
                "POST /api/orders/\(payment.order)/paid HTTP/1.1\r\nHost: \(target.host)\r\nAuthorization: Bearer \(self.token)\r\nContent-Length: 0\r\n\r\n"
            guard (try? client.sendRaw(Array(request.utf8))) != nil, let response = try? client.readHTTPResponse() else { continue }
            let status = Int(response.split(separator: " ").dropFirst().first ?? "") ?? 0
            let body = response.firstRange(of: "\r\n\r\n").map { Array(response[$0.upperBound...].utf8) } ?? []
            let order = (try? JSONParser.parse(body))?["order"]
            switch (status, payment.late) {
            case (200, false) where order?["state"]?.stringValue == "paid": return "paid"
            case (409, true) where order?["reason"]?.stringValue == "expired": return "late_refused_as_expired"
            case (409, false) where order?["reason"]?.stringValue == "expired" && WallClock.nowMillis() >= payment.payBy:
                // In time when sent, but the room could not be reached until after the deadline
                // (it was moving between nodes): refused like any late payment — both sides agree.
                return "retried_past_deadline_refused"
            case (503, _), (0, _):
                // The room is moving, or no answer came (the node died with the request): the same
                // payment again, on the next node — paying is idempotent.
                usleep(500_000)
            default: return "unexpected: late=\(payment.late) HTTP \(status) state=\(order?["state"]?.stringValue ?? "-")"
            }
        }
        return "unexpected: no answer"
    }
}
