import Cluster
import OrderJournal
import RESP
import RedisClient
import Transport
import Webhooks

/// A cluster node's webhook outbox (docs/ORDERS.md): each room's events wait in its Redis list
/// `ht:{room}:outbox`, appended by the same fenced script that stores the order change. The node
/// that runs a room delivers its events (one node per room, in order); when the room moves, the
/// new owner goes on from the list, so a node's death loses no event (a delivery in flight at the
/// death is sent again: at least once). Attempts are counted in memory; parked events move to
/// `ht:{room}:parked`.
///
/// Blocking Redis calls on the delivery threads, through one connection under `lock` (rebuilt
/// after an error); what was handed out is under `handedOutLock`, never held across I/O (the
/// delivery asks `delivers` under its own lock). `@unchecked Sendable`: everything mutable is
/// under one of the two.
final class RedisOutbox: OutboxSource, @unchecked Sendable {
    private let url: RedisURL
    private let lock = Lock()
    private let handedOutLock = Lock()
    private var client: BlockingRedisClient?
    /// Rooms this node runs now (their owner delivers them).
    private let runsRoom: @Sendable (String) -> Bool
    /// Per room, the seqs already handed to delivery (and still in the list).
    private var handedOut: [String: Set<Int64>] = [:]

    init(url: RedisURL, runsRoom: @escaping @Sendable (String) -> Bool) {
        self.url = url
        self.runsRoom = runsRoom
    }

    /// Under the lock: a command on the connection, reconnecting once after an error.
    private func command(_ arguments: [String]) throws -> RESPValue {
        for attempt in 0..<2 {
            do {
                if self.client == nil { self.client = try BlockingRedisClient(url: self.url) }
                return try self.client!.command(arguments)
            } catch {
                self.client = nil
                if attempt == 1 { throw error }
            }
        }
        throw RedisError.notSent
    }

    func parkedCount() throws -> Int {
        try self.lock.withLock {
            let rooms = try self.command(["SMEMBERS", ClusterKeys.parkedRooms]).array?.compactMap(\.string) ?? []
            var count = 0
            for room in rooms { count += Int(try self.command(["LLEN", ClusterKeys.parked(room)]).integer ?? 0) }
            return count
        }
    }

    func load(after cursor: Int64, limit: Int) throws -> [OutboxEvent] {
        // What each room run here has waiting (only rooms in the active set can have events).
        let lists: [(room: String, events: [OutboxEvent])] = try self.lock.withLock {
            let active = try self.command(["SMEMBERS", ClusterKeys.activeRooms]).array?.compactMap(\.string) ?? []
            return try active.filter(self.runsRoom).map { room in
                let items = try self.command(["LRANGE", ClusterKeys.outbox(room), "0", String(max(0, min(limit, 1000) - 1))]).array ?? []
                return (
                    room,
                    items.compactMap { item in
                        guard case .bulkString(let bytes?) = item else { return nil }
                        return OutboxEvent.parse(stored: bytes)
                    }
                )
            }
        }
        return self.handedOutLock.withLock {
            var events: [OutboxEvent] = []
            for (room, waiting) in lists {
                var known = self.handedOut[room] ?? []
                for event in waiting where !known.contains(event.seq) && events.count < limit {
                    events.append(event)
                    known.insert(event.seq)
                }
                // Delivered and parked events left the list: forget them (a replayed one comes back).
                self.handedOut[room] = known.intersection(waiting.map(\.seq))
            }
            let listed = Set(lists.map(\.room))
            for room in self.handedOut.keys where !listed.contains(room) { self.handedOut[room] = nil }
            return events
        }
    }

    func record(_ change: OutboxChange, of event: OutboxEvent) {
        let park: String
        switch change {
        case .delivered: park = "0"
        case .parked: park = "1"
        case .failed, .replay: return
        }
        self.lock.withLock {
            _ = try? self.command(
                [
                    "EVAL", ClusterScripts.outboxDone, "3", ClusterKeys.outbox(event.room), ClusterKeys.parked(event.room),
                    ClusterKeys.parkedRooms, String(event.seq), park, event.room,
                ])
        }
    }

    /// Replays are done by the admin endpoint (`RedisOutbox.replay(url:…)`); the owner's next
    /// look finds them at the front of the list.
    func replay(_ event: OutboxEvent, _ done: @escaping @Sendable (Bool) -> Void) { done(false) }

    func delivers(_ room: String) -> Bool {
        guard self.runsRoom(room) else {
            // Dropped by delivery: if the room comes back here, its events are handed out again.
            self.handedOutLock.withLock { self.handedOut[room] = nil }
            return false
        }
        return true
    }

    var pollInterval: Double? { 1 }

    // MARK: - Operators (blocking, off the loops)

    /// Every parked event in the cluster, oldest first per room.
    static func parked(url: RedisURL, limit: Int) throws -> [OutboxEvent] {
        let client = try BlockingRedisClient(url: url)
        let rooms = try client.command(["SMEMBERS", ClusterKeys.parkedRooms]).array?.compactMap(\.string) ?? []
        var events: [OutboxEvent] = []
        for room in rooms.sorted() {
            for item in try client.command(["LRANGE", ClusterKeys.parked(room), "0", String(limit - 1)]).array ?? [] {
                guard case .bulkString(let bytes?) = item, var event = OutboxEvent.parse(stored: bytes) else { continue }
                event.parked = true
                events.append(event)
            }
        }
        return Array(events.prefix(limit))
    }

    /// Parked events (all, or one by id) back to the front of their rooms' outboxes; how many.
    static func replay(url: RedisURL, event: String?) throws -> Int {
        let client = try BlockingRedisClient(url: url)
        let rooms = try client.command(["SMEMBERS", ClusterKeys.parkedRooms]).array?.compactMap(\.string) ?? []
        var moved = 0
        for room in rooms {
            let reply = try client.command(
                [
                    "EVAL", ClusterScripts.replay, "4", ClusterKeys.parked(room), ClusterKeys.outbox(room), ClusterKeys.parkedRooms,
                    ClusterKeys.activeRooms, room, event ?? "",
                ])
            moved += Int(reply.integer ?? 0)
        }
        return moved
    }
}
