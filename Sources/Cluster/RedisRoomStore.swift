import LiveRoom
import OrderJournal
import RESP
import RedisClient

/// Rooms and orders durable in Redis, every write fenced: each script first checks that the
/// caller's token is still the room's fence, so a deposed owner's late write is refused (FENCED)
/// rather than recorded. Completions run on the Redis connection's loop.
public final class RedisRoomStore: LeaseStore {
    /// The outcome of a fenced write.
    public enum WriteResult: Equatable, Sendable {
        /// In Redis (and, with `appendfsync always`, on its disk).
        case stored
        /// Certainly not stored: Redis was down, refused, or another owner holds the fence.
        case refused
        /// Sent, but the answer was lost: it may or may not be stored.
        case unknown
        /// A new room refused: its owner already has `rooms.max_rooms_per_owner` rooms.
        case limitReached
    }

    public let client: RedisClient
    /// Replicas that must have a durable write before it counts (WAIT), 0 for none.
    public let waitReplicas: Int
    /// Each order change also appends its webhook event to the room's outbox (a webhook is configured).
    public let outbox: Bool
    private let shas: [String: String]

    public init(client: RedisClient, waitReplicas: Int = 0, outbox: Bool = false) {
        self.client = client
        self.waitReplicas = waitReplicas
        self.outbox = outbox
        var shas: [String: String] = [:]
        for script in ClusterScripts.all { shas[script] = ClusterScripts.sha1(script) }
        self.shas = shas
    }

    /// Loads every script (call on each (re)connect, before anything else is sent).
    public func loadScripts() {
        for script in ClusterScripts.all { self.client.send(["SCRIPT", "LOAD", script]) { _ in } }
    }

    /// Runs a script by SHA, falling back to sending it whole when Redis lost its script cache.
    public func run(
        _ script: String, keys: [String], arguments: [String], _ done: @escaping @Sendable (Result<RESPValue, RedisError>) -> Void
    ) {
        let tail = [String(keys.count)] + keys + arguments
        let client = self.client
        client.send(["EVALSHA", self.shas[script]!] + tail) { result in
            if case .failure(.reply(let message)) = result, message.hasPrefix("NOSCRIPT") {
                client.send(["EVAL", script] + tail, done)
            } else {
                done(result)
            }
        }
    }

    // MARK: - Leases

    public func acquire(room: String, node: String, boot: String, ttl: Int64, _ done: @escaping @Sendable (LeaseReply) -> Void) {
        self.run(ClusterScripts.acquire, keys: [ClusterKeys.lease(room), ClusterKeys.fence(room)], arguments: [node, boot, String(ttl)]) {
            result in
            guard case .success(let value) = result, let parts = value.array, parts.count == 2, let flag = parts[0].integer else {
                return done(.failed)
            }
            if flag == 1, let token = parts[1].integer {
                done(.granted(token: UInt64(token)))
            } else {
                done(.held(by: parts[1].string ?? ""))
            }
        }
    }

    public func renew(room: String, node: String, boot: String, token: UInt64, ttl: Int64, _ done: @escaping @Sendable (Bool?) -> Void) {
        let holder = leaseHolder(node: node, boot: boot, token: token)
        self.run(
            ClusterScripts.renew, keys: [ClusterKeys.lease(room), ClusterKeys.fence(room)], arguments: [holder, String(ttl), String(token)]
        ) { result in
            guard case .success(let value) = result, let flag = value.integer else { return done(nil) }
            done(flag == 1)
        }
    }

    public func release(room: String, node: String, boot: String, token: UInt64) {
        self.run(ClusterScripts.release, keys: [ClusterKeys.lease(room)], arguments: [leaseHolder(node: node, boot: boot, token: token)]) {
            _ in
        }
    }

    // MARK: - Fenced writes

    public func save(_ snapshot: RoomSnapshot, token: UInt64, _ done: @escaping @Sendable (WriteResult) -> Void) {
        let room = snapshot.id
        self.run(
            ClusterScripts.saveRoom, keys: [ClusterKeys.fence(room), ClusterKeys.state(room), ClusterKeys.rooms],
            arguments: [String(token), ClusterCodec.encode(snapshot), room]
        ) { result in self.durable(result, done) }
    }

    /// Stores a new room, counting it against its owner's limit (0: no limit).
    public func create(_ snapshot: RoomSnapshot, token: UInt64, ownerLimit: Int, _ done: @escaping @Sendable (WriteResult) -> Void) {
        let room = snapshot.id
        self.run(
            ClusterScripts.createRoom,
            keys: [ClusterKeys.fence(room), ClusterKeys.state(room), ClusterKeys.rooms, ClusterKeys.owned(by: snapshot.owner)],
            arguments: [String(token), ClusterCodec.encode(snapshot), room, String(ownerLimit)]
        ) { result in
            if case .failure(.reply(let message)) = result, message.hasSuffix("TOO_MANY_ROOMS") { return done(.limitReached) }
            self.durable(result, done)
        }
    }

    public func record(_ order: Order, token: UInt64, _ done: @escaping @Sendable (WriteResult) -> Void) {
        let room = order.room
        let active = order.payBy != nil || self.outbox
        self.run(
            ClusterScripts.recordOrder,
            keys: [
                ClusterKeys.fence(room), ClusterKeys.orders(room), ClusterKeys.outbox(room), ClusterKeys.outboxSeq(room),
                ClusterKeys.activeRooms,
            ],
            arguments: [
                String(token), ClusterCodec.encode(order), self.outbox ? OutboxEvent.unnumbered(order) : "", room, active ? "1" : "0",
            ]
        ) { result in self.durable(result, done) }
    }

    /// An order's change of state (paid, cancelled), with its event; refused when the order
    /// already changed (NOT_ACCEPTED) or another owner holds the fence.
    public func update(_ order: Order, token: UInt64, _ done: @escaping @Sendable (WriteResult) -> Void) {
        let room = order.room
        self.run(
            ClusterScripts.updateOrder,
            keys: [
                ClusterKeys.fence(room), ClusterKeys.orderStates(room), ClusterKeys.outbox(room), ClusterKeys.outboxSeq(room),
                ClusterKeys.activeRooms,
            ],
            arguments: [
                String(token), order.id, ClusterCodec.encodeState(order), self.outbox ? OutboxEvent.unnumbered(order) : "", room,
            ]
        ) { result in self.durable(result, done) }
    }

    /// A room given up while idle: it leaves the set of rooms that need an owner once its outbox
    /// is empty.
    public func retire(room: String) {
        self.run(ClusterScripts.retire, keys: [ClusterKeys.outbox(room), ClusterKeys.activeRooms], arguments: [room]) { _ in }
    }

    /// Publishes `payload` on `channel` for `room`, only while `token` is its fence.
    public func publish(room: String, token: UInt64, channel: String, payload: String, _ done: (@Sendable (WriteResult) -> Void)? = nil) {
        self.run(ClusterScripts.publish, keys: [ClusterKeys.fence(room)], arguments: [String(token), channel, payload]) { result in
            done?(Self.outcome(result))
        }
    }

    /// A shown comment: into the room's history (capped at `keep`) and out on its channel.
    public func comment(
        room: String, token: UInt64, payload: String, comment: Comment, keep: Int, _ done: (@Sendable (WriteResult) -> Void)? = nil
    ) {
        self.run(
            ClusterScripts.comment, keys: [ClusterKeys.fence(room), ClusterKeys.history(room)],
            arguments: [String(token), ClusterKeys.events(room), payload, ClusterCodec.encode(comment), String(keep)]
        ) { result in done?(Self.outcome(result)) }
    }

    /// A durable write: with `waitReplicas`, stored only once that many replicas have it.
    private func durable(_ result: Result<RESPValue, RedisError>, _ done: @escaping @Sendable (WriteResult) -> Void) {
        let outcome = Self.outcome(result)
        guard outcome == .stored, self.waitReplicas > 0 else { return done(outcome) }
        self.client.send(["WAIT", String(self.waitReplicas), "1000"]) { reply in
            guard case .success(let value) = reply, let count = value.integer else { return done(.unknown) }
            // Stored on the primary either way; fewer replicas than asked is "not known durable".
            done(count >= Int64(self.waitReplicas) ? .stored : .unknown)
        }
    }

    static func outcome(_ result: Result<RESPValue, RedisError>) -> WriteResult {
        switch result {
        case .success: return .stored
        case .failure(let error): return error.certainlyNotExecuted ? .refused : .unknown
        }
    }

    // MARK: - Loading

    /// Applies an `order_states` hash (HGETALL's id, state, id, state …) to orders as accepted.
    public static func applyStates(_ reply: RESPValue, to orders: inout [Order]) throws {
        let fields = reply.array ?? []
        guard !fields.isEmpty else { return }
        var states: [String: [UInt8]] = [:]
        for index in stride(from: 0, to: fields.count - 1, by: 2) {
            if let id = fields[index].string, case .bulkString(let bytes?) = fields[index + 1] { states[id] = bytes }
        }
        for index in orders.indices {
            if let state = states[orders[index].id] { try ClusterCodec.apply(state: state, to: &orders[index]) }
        }
    }

    /// What a new owner rebuilds a room from.
    public struct StoredRoom: Sendable {
        public var snapshot: RoomSnapshot?
        public var orders: [Order]
        public var comments: [Comment]
        public var epoch: String
    }

    /// Reads a room after this node was granted `token` (fenced, so a stale grant reads nothing).
    public func load(room: String, token: UInt64, newEpoch: String, _ done: @escaping @Sendable (StoredRoom?) -> Void) {
        self.run(
            ClusterScripts.load,
            keys: [
                ClusterKeys.state(room), ClusterKeys.orders(room), ClusterKeys.history(room), ClusterKeys.epoch(room),
                ClusterKeys.fence(room), ClusterKeys.orderStates(room),
            ],
            arguments: [newEpoch, String(token)]
        ) { result in
            guard case .success(let value) = result, let parts = value.array, parts.count == 5, let epoch = parts[3].string else {
                return done(nil)
            }
            do {
                var stored = StoredRoom(snapshot: nil, orders: [], comments: [], epoch: epoch)
                if case .bulkString(let bytes?) = parts[0], !bytes.isEmpty { stored.snapshot = try ClusterCodec.decodeSnapshot(bytes) }
                for item in parts[1].array ?? [] {
                    if case .bulkString(let bytes?) = item { stored.orders.append(try ClusterCodec.decodeOrder(bytes)) }
                }
                try Self.applyStates(parts[4], to: &stored.orders)
                for item in parts[2].array ?? [] {
                    if case .bulkString(let bytes?) = item { stored.comments.append(try ClusterCodec.decodeComment(bytes)) }
                }
                done(stored)
            } catch {
                done(nil)
            }
        }
    }
}
