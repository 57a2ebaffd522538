/// Every Redis key and channel Hometown uses, in one place (docs/SCALING.md lists them with their
/// types, sizes and lifetimes). A room's keys share the hash tag `{room}`, so a Redis Cluster
/// would keep them on one shard and the room's scripts could touch them together.
public enum ClusterKeys {
    /// String "node|boot|token", with a TTL of the lease time: who runs the room now.
    public static func lease(_ room: String) -> String { "ht:{\(room)}:lease" }
    /// Integer, no TTL: the fencing token, incremented by every new owner.
    public static func fence(_ room: String) -> String { "ht:{\(room)}:fence" }
    /// String (JSON `RoomSnapshot`), no TTL: settings, products, sales, moderation.
    public static func state(_ room: String) -> String { "ht:{\(room)}:state" }
    /// List of order JSON, no TTL: every accepted order, oldest first.
    public static func orders(_ room: String) -> String { "ht:{\(room)}:orders" }
    /// Hash order id → JSON state, no TTL: orders paid or cancelled after they were accepted
    /// (an order not in it is still `accepted`). Written once per order (paid and cancelled are final).
    public static func orderStates(_ room: String) -> String { "ht:{\(room)}:order_states" }
    /// List of webhook event JSON, oldest first, no TTL: the room's outbox (with a webhook); the
    /// owner delivers from its head and removes what the shop took.
    public static func outbox(_ room: String) -> String { "ht:{\(room)}:outbox" }
    /// Integer, no TTL: the last outbox event's `seq` in the room.
    public static func outboxSeq(_ room: String) -> String { "ht:{\(room)}:outbox_seq" }
    /// List of webhook event JSON: events that ran out of attempts, until an operator replays them.
    public static func parked(_ room: String) -> String { "ht:{\(room)}:parked" }
    /// Set of room names with parked events (for the admin list).
    public static let parkedRooms = "ht:outbox:parked"
    /// Set of room names that need an owner although nobody may be watching: unpaid orders whose
    /// deadline must be kept, or webhook events to deliver. Every node takes such a room when
    /// nobody holds its lease (a dead owner's sale goes on expiring and delivering).
    public static let activeRooms = "ht:rooms:active"
    /// List of comment JSON, capped at the room's history size: recent comments for `since`.
    public static func history(_ room: String) -> String { "ht:{\(room)}:history" }
    /// String, no TTL: the room's history epoch (new only when the history was lost).
    public static func epoch(_ room: String) -> String { "ht:{\(room)}:epoch" }
    /// Pub/sub channel: the room's broadcasts, from its owner to every node with viewers.
    public static func events(_ room: String) -> String { "ht:{\(room)}:events" }
    /// Set of room names, no TTL: every room ever created in the cluster.
    public static let rooms = "ht:rooms"
    /// Set of room names, no TTL: the rooms `user` created (for `rooms.max_rooms_per_owner`).
    public static func owned(by user: String) -> String { "ht:owner:{\(user)}:rooms" }
    /// Pub/sub channel: the name of each room created, so every node admits its viewers at once.
    public static let created = "ht:rooms:created"
    /// String (the node's boot id), TTL 3 s, refreshed every second: the node is alive.
    public static func node(_ node: String) -> String { "ht:node:\(node)" }
    /// Pub/sub channel: messages for one node (commands for rooms it owns, replies to its members).
    public static func inbox(_ node: String) -> String { "ht:node:\(node):inbox" }
    /// Hash node → JSON status (rooms, viewers, owned rooms), each refreshed every second: `/api/cluster`.
    public static let nodes = "ht:nodes"
}
