import LiveRoom

/// The embedded default store: SQLite in WAL mode with `synchronous=FULL`, so a commit that
/// returned has been fsynced and survives `kill -9` and power loss. One file, `hometown.sqlite`,
/// in the data directory.
public final class SQLiteOrderStore: OrderStore {
    public static let fileName = "hometown.sqlite"
    private let database: SQLiteDatabase
    private let insertOrder: SQLiteDatabase.Statement
    private let upsertRoom: SQLiteDatabase.Statement
    private let deleteProducts: SQLiteDatabase.Statement
    private let insertProduct: SQLiteDatabase.Statement
    private let deleteModeration: SQLiteDatabase.Statement
    private let insertModeration: SQLiteDatabase.Statement
    private let updateOrder: SQLiteDatabase.Statement
    private let insertOutbox: SQLiteDatabase.Statement
    private let outboxStatements: [SQLiteDatabase.Statement]
    /// Every order change also writes its webhook event (only when a webhook is configured: an
    /// outbox nobody empties would only grow).
    public let writesOutbox: Bool

    /// Opens (creating if needed) the store at `path`. `readOnly` is for exports and the CLI.
    public init(path: String, readOnly: Bool = false, outbox: Bool = false) throws {
        self.writesOutbox = outbox && !readOnly
        self.database = try SQLiteDatabase(path: path, readOnly: readOnly)
        if !readOnly {
            try self.database.exec("PRAGMA journal_mode=WAL")
            try self.database.exec("PRAGMA synchronous=FULL")
            try Self.migrate(self.database)
        }
        self.insertOrder = try self.database.prepare(
            readOnly
                ? "SELECT 1"
                : """
                INSERT INTO orders (id, room, sku, user, name, qty, price, ref, ts, state, pay_by, reason, updated_at)
                VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)
                """)
        // Paid and cancelled are final, so only an accepted order changes state.
        self.updateOrder = try self.database.prepare(
            readOnly ? "SELECT 1" : "UPDATE orders SET state = ?2, reason = ?3, updated_at = ?4 WHERE id = ?1 AND state = 'accepted'")
        self.upsertRoom = try self.database.prepare(
            readOnly
                ? "SELECT 1"
                : "INSERT OR REPLACE INTO rooms (id, owner, title, live, slowmode, pinned, stream_url, stream_kind, stream_poster) VALUES (?,?,?,?,?,?,?,?,?)"
        )
        self.deleteProducts = try self.database.prepare(readOnly ? "SELECT 1" : "DELETE FROM products WHERE room = ?")
        // Moderation rows: kind 'moderator', 'banned' or 'muted' (with `until`).
        self.deleteModeration = try self.database.prepare(readOnly ? "SELECT 1" : "DELETE FROM moderation WHERE room = ?")
        self.insertModeration = try self.database.prepare(
            readOnly ? "SELECT 1" : "INSERT INTO moderation (room, user, kind, until) VALUES (?,?,?,?)")
        self.insertProduct = try self.database.prepare(
            readOnly
                ? "SELECT 1"
                : "INSERT INTO products (room, sku, position, title, price, stock, sale_state, sale_limit, starts_at, ends_at, payment_window, image) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
        )
        self.insertOutbox = try self.database.prepare(
            readOnly ? "SELECT 1" : "INSERT OR IGNORE INTO outbox (event, room, type, body, created_at) VALUES (?,?,?,?,?)")
        self.outboxStatements = try [
            "DELETE FROM outbox WHERE seq = ?1",
            "UPDATE outbox SET attempts = ?2, next_at = ?3, last_error = ?4 WHERE seq = ?1",
            "UPDATE outbox SET attempts = ?2, parked = 1, last_error = ?3 WHERE seq = ?1",
            "UPDATE outbox SET attempts = 0, next_at = 0, parked = 0 WHERE seq = ?1",
        ].map { [database] in try database.prepare(readOnly ? "SELECT 1" : $0) }
    }

    // MARK: - Schema versions

    /// The schema this build writes (`PRAGMA user_version`).
    public static let schemaVersion = 4

    /// Migration i takes a store from version i to i + 1. Version 0 is a new file — or a store
    /// written before stores had a version (those had the tables of version 1, and perhaps the
    /// moderation table): every step is safe to run on either.
    static let migrations: [String] = [
        // 0 → 1: rooms, products, orders.
        """
        CREATE TABLE IF NOT EXISTS rooms (
            id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL, live INTEGER NOT NULL,
            slowmode INTEGER NOT NULL, pinned TEXT);
        CREATE TABLE IF NOT EXISTS products (
            room TEXT NOT NULL, sku TEXT NOT NULL, position INTEGER NOT NULL, title TEXT NOT NULL,
            price INTEGER NOT NULL, stock INTEGER NOT NULL, sale_state TEXT NOT NULL,
            sale_limit INTEGER NOT NULL, starts_at INTEGER, ends_at INTEGER, PRIMARY KEY (room, sku));
        CREATE TABLE IF NOT EXISTS orders (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, room TEXT NOT NULL,
            sku TEXT NOT NULL, user TEXT NOT NULL, name TEXT NOT NULL, qty INTEGER NOT NULL,
            price INTEGER NOT NULL, ref TEXT NOT NULL, ts INTEGER NOT NULL, UNIQUE (room, user, ref));
        CREATE INDEX IF NOT EXISTS orders_by_room ON orders (room, seq);
        """,
        // 1 → 2: bans, mutes and moderators are stored with the room.
        """
        CREATE TABLE IF NOT EXISTS moderation (
            room TEXT NOT NULL, user TEXT NOT NULL, kind TEXT NOT NULL, until INTEGER,
            PRIMARY KEY (room, user, kind));
        """,
        // 2 → 3: orders have a state (a payment window, cancellations), sales a payment window,
        // and order events wait in the webhook outbox.
        """
        ALTER TABLE orders ADD COLUMN state TEXT NOT NULL DEFAULT 'accepted';
        ALTER TABLE orders ADD COLUMN pay_by INTEGER;
        ALTER TABLE orders ADD COLUMN reason TEXT;
        ALTER TABLE orders ADD COLUMN updated_at INTEGER;
        ALTER TABLE products ADD COLUMN payment_window INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE IF NOT EXISTS outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, event TEXT NOT NULL UNIQUE, room TEXT NOT NULL,
            type TEXT NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL DEFAULT 0,
            parked INTEGER NOT NULL DEFAULT 0, last_error TEXT);
        CREATE INDEX IF NOT EXISTS outbox_waiting ON outbox (parked, seq);
        """,
        // 3 → 4: the room's video (url, kind, poster) and product pictures.
        """
        ALTER TABLE rooms ADD COLUMN stream_url TEXT;
        ALTER TABLE rooms ADD COLUMN stream_kind TEXT;
        ALTER TABLE rooms ADD COLUMN stream_poster TEXT;
        ALTER TABLE products ADD COLUMN image TEXT;
        """,
    ]

    public struct NewerStore: Error, CustomStringConvertible {
        public let version: Int
        public var description: String {
            "the store is at schema version \(self.version), newer than this build's \(SQLiteOrderStore.schemaVersion): run a newer hometown"
        }
    }

    /// Brings the store forward to `schemaVersion`, in one transaction; refuses a newer store.
    static func migrate(_ database: SQLiteDatabase) throws {
        let query = try database.prepare("PRAGMA user_version")
        let version = try query.step() ? Int(query.int(0) ?? 0) : 0
        query.reset()
        guard version <= Self.schemaVersion else { throw NewerStore(version: version) }
        guard version < Self.schemaVersion else { return }
        try database.exec("BEGIN IMMEDIATE")
        do {
            for step in version..<Self.schemaVersion { try database.exec(Self.migrations[step]) }
            try database.exec("PRAGMA user_version = \(Self.schemaVersion)")
            try database.exec("COMMIT")
        } catch {
            try? database.exec("ROLLBACK")
            throw error
        }
    }

    public func commit(orders: [Order], rooms: [RoomSnapshot], outbox: [OutboxChange]) throws {
        try self.database.exec("BEGIN IMMEDIATE")
        do {
            for room in rooms {
                let s = self.upsertRoom
                s.bind(1, room.id); s.bind(2, room.owner); s.bind(3, room.title); s.bind(4, Int64(room.live ? 1 : 0))
                s.bind(5, Int64(room.slowMode)); s.bind(6, room.pinned); s.bind(7, room.stream?.url)
                s.bind(8, room.stream?.kind.rawValue); s.bind(9, room.stream?.poster)
                try s.run()
                self.deleteProducts.bind(1, room.id)
                try self.deleteProducts.run()
                for (position, product) in room.products.enumerated() {
                    let p = self.insertProduct
                    p.bind(1, room.id); p.bind(2, product.sku); p.bind(3, Int64(position)); p.bind(4, product.title)
                    p.bind(5, Int64(product.price)); p.bind(6, Int64(product.stock)); p.bind(7, product.sale.state.rawValue)
                    p.bind(8, Int64(product.sale.limit)); p.bind(9, product.sale.startsAt); p.bind(10, product.sale.endsAt)
                    p.bind(11, Int64(product.sale.paymentWindow)); p.bind(12, product.image)
                    try p.run()
                }
                self.deleteModeration.bind(1, room.id)
                try self.deleteModeration.run()
                let rows =
                    room.moderators.map { ($0, "moderator", Int64?.none) } + room.banned.map { ($0, "banned", Int64?.none) }
                    + room.muted.sorted(by: { $0.key < $1.key }).map { ($0.key, "muted", Int64?.some($0.value)) }
                for (user, kind, until) in rows {
                    let m = self.insertModeration
                    m.bind(1, room.id)
                    m.bind(2, user)
                    m.bind(3, kind)
                    m.bind(4, until)
                    try m.run()
                }
            }
            for order in orders {
                if order.state == .accepted {
                    let s = self.insertOrder
                    s.bind(1, order.id); s.bind(2, order.room); s.bind(3, order.sku); s.bind(4, order.user)
                    s.bind(5, order.name); s.bind(6, Int64(order.qty)); s.bind(7, Int64(order.price)); s.bind(8, order.ref)
                    s.bind(9, order.ts); s.bind(10, order.state.rawValue); s.bind(11, order.payBy); s.bind(12, order.reason?.rawValue)
                    s.bind(13, order.updatedAt)
                    try s.run()
                } else {
                    try self.update(order)
                }
                guard self.writesOutbox else { continue }
                let event = OutboxEvent.of(order)
                let o = self.insertOutbox
                o.bind(1, event.event); o.bind(2, order.room); o.bind(3, event.type); o.bind(4, event.order); o.bind(5, order.updatedAt)
                try o.run()
            }
            for change in outbox { try self.apply(change) }
            try self.database.exec("COMMIT")
        } catch {
            self.insertOrder.reset()
            self.upsertRoom.reset()
            self.deleteProducts.reset()
            self.insertProduct.reset()
            self.deleteModeration.reset()
            self.insertModeration.reset()
            self.insertOutbox.reset()
            self.updateOrder.reset()
            for statement in self.outboxStatements { statement.reset() }
            try? self.database.exec("ROLLBACK")
            throw error
        }
    }

    /// A stored order becomes paid or cancelled; anything else (an unknown order, one already
    /// paid or cancelled) is refused, and the transaction with it.
    private func update(_ order: Order) throws {
        let s = self.updateOrder
        s.bind(1, order.id); s.bind(2, order.state.rawValue); s.bind(3, order.reason?.rawValue); s.bind(4, order.updatedAt)
        try s.run()
        guard self.database.changes == 1 else { throw NotAccepted(order: order.id) }
    }

    /// An order change for an order that is not stored as accepted.
    public struct NotAccepted: Error, CustomStringConvertible {
        public let order: String
        public var description: String { "order \(self.order) is not stored as accepted, so it cannot become paid or cancelled" }
    }

    private func apply(_ change: OutboxChange) throws {
        switch change {
        case .delivered(let seq):
            let s = self.outboxStatements[0]
            s.bind(1, seq)
            try s.run()
        case .failed(let seq, let attempts, let nextAt, let error):
            let s = self.outboxStatements[1]
            s.bind(1, seq); s.bind(2, Int64(attempts)); s.bind(3, nextAt); s.bind(4, error)
            try s.run()
        case .parked(let seq, let attempts, let error):
            let s = self.outboxStatements[2]
            s.bind(1, seq); s.bind(2, Int64(attempts)); s.bind(3, error)
            try s.run()
        case .replay(let seq):
            let s = self.outboxStatements[3]
            s.bind(1, seq)
            try s.run()
        }
    }

    /// Outbox events after `seq`, oldest first: waiting ones (not parked), or only parked ones.
    public func outbox(after seq: Int64, parked: Bool = false, limit: Int) throws -> [OutboxEvent] {
        let query = try self.database.prepare(
            """
            SELECT seq, event, room, type, body, created_at, attempts, next_at, parked, last_error FROM outbox
            WHERE parked = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3
            """)
        query.bind(1, Int64(parked ? 1 : 0))
        query.bind(2, seq)
        query.bind(3, Int64(limit))
        var events: [OutboxEvent] = []
        while try query.step() {
            events.append(
                OutboxEvent(
                    seq: query.int(0) ?? 0, event: query.string(1) ?? "", room: query.string(2) ?? "", type: query.string(3) ?? "",
                    order: query.string(4) ?? "{}", createdAt: query.int(5) ?? 0, attempts: Int(query.int(6) ?? 0),
                    nextAt: query.int(7) ?? 0, parked: query.int(8) == 1, lastError: query.string(9)))
        }
        return events
    }

    public func load() throws -> [(room: RoomSnapshot, orders: [Order])] {
        try self.load(only: nil)
    }

    /// One room and its orders, if the store has it (a room brought back into memory).
    public func load(room id: String) throws -> (room: RoomSnapshot, orders: [Order])? {
        try self.load(only: id).first
    }

    private func load(only id: String?) throws -> [(room: RoomSnapshot, orders: [Order])] {
        var rooms: [RoomSnapshot] = []
        let roomRows = try self.database.prepare(
            """
            SELECT id, owner, title, live, slowmode, pinned, stream_url, stream_kind, stream_poster FROM rooms
            WHERE ?1 IS NULL OR id = ?1 ORDER BY id
            """)
        roomRows.bind(1, id)
        while try roomRows.step() {
            rooms.append(
                RoomSnapshot(
                    id: roomRows.string(0) ?? "", owner: roomRows.string(1) ?? "", title: roomRows.string(2) ?? "",
                    live: roomRows.int(3) == 1, slowMode: Int(roomRows.int(4) ?? 0), pinned: roomRows.string(5), products: [],
                    stream: roomRows.string(6).map {
                        StreamSource(
                            url: $0, kind: roomRows.string(7).flatMap(StreamSource.Kind.init(rawValue:)) ?? StreamSource.kind(of: $0),
                            poster: roomRows.string(8))
                    }))
        }
        let productRows = try self.database.prepare(
            """
            SELECT sku, title, price, stock, sale_state, sale_limit, starts_at, ends_at, payment_window, image FROM products
            WHERE room = ? ORDER BY position
            """)
        let moderationRows = try self.database.prepare("SELECT user, kind, until FROM moderation WHERE room = ? ORDER BY user")
        var result: [(room: RoomSnapshot, orders: [Order])] = []
        for var room in rooms {
            productRows.bind(1, room.id)
            while try productRows.step() {
                let sale = FlashSale(
                    state: SaleState(rawValue: productRows.string(4) ?? "none") ?? .none, limit: Int(productRows.int(5) ?? 0),
                    startsAt: productRows.int(6), endsAt: productRows.int(7), paymentWindow: Int(productRows.int(8) ?? 0))
                room.products.append(
                    Product(
                        sku: productRows.string(0) ?? "", title: productRows.string(1) ?? "", price: Int(productRows.int(2) ?? 0),
                        stock: Int(productRows.int(3) ?? 0), sale: sale, image: productRows.string(9)))
            }
            productRows.reset()
            moderationRows.bind(1, room.id)
            while try moderationRows.step() {
                let user = moderationRows.string(0) ?? ""
                switch moderationRows.string(1) {
                case "moderator": room.moderators.append(user)
                case "banned": room.banned.append(user)
                case "muted": room.muted[user] = moderationRows.int(2) ?? Int64.max
                default: break
                }
            }
            moderationRows.reset()
            result.append((room, try self.orders(room: room.id, after: nil, limit: Int.max)))
        }
        return result
    }

    /// Every stored room with its owner, title, live flag and order count (for `hometown rooms`).
    public func roomSummaries() throws -> [(id: String, owner: String, title: String, live: Bool, orders: Int)] {
        let query = try self.database.prepare(
            "SELECT r.id, r.owner, r.title, r.live, (SELECT COUNT(*) FROM orders o WHERE o.room = r.id) FROM rooms r ORDER BY r.id")
        var rooms: [(id: String, owner: String, title: String, live: Bool, orders: Int)] = []
        while try query.step() {
            rooms.append(
                (query.string(0) ?? "", query.string(1) ?? "", query.string(2) ?? "", query.int(3) == 1, Int(query.int(4) ?? 0)))
        }
        return rooms
    }

    /// Whether a room of that name was ever stored (one indexed lookup).
    public func roomExists(_ id: String) throws -> Bool {
        let query = try self.database.prepare("SELECT 1 FROM rooms WHERE id = ?1")
        query.bind(1, id)
        return try query.step()
    }

    public func orders(room: String, after: String?, limit: Int) throws -> [Order] {
        // An `after` that names no order of this room is the caller's mistake (a typo would
        // otherwise re-export the whole room: double fulfilment), not "from the start".
        if let after {
            let known = try self.database.prepare("SELECT 1 FROM orders WHERE id = ?1 AND room = ?2")
            known.bind(1, after)
            known.bind(2, room)
            guard try known.step() else { throw OrderStoreError.unknownOrder(after) }
        }
        let query = try self.database.prepare(
            """
            SELECT id, room, sku, user, name, qty, price, ref, ts, state, pay_by, reason, updated_at FROM orders
            WHERE room = ?1 AND seq > COALESCE((SELECT seq FROM orders WHERE id = ?2 AND room = ?1), 0)
            ORDER BY seq LIMIT ?3
            """)
        query.bind(1, room)
        query.bind(2, after)
        query.bind(3, Int64(min(limit, Int(Int64.max))))
        var orders: [Order] = []
        while try query.step() {
            orders.append(
                Order(
                    id: query.string(0) ?? "", room: query.string(1) ?? "", sku: query.string(2) ?? "",
                    user: query.string(3) ?? "", name: query.string(4) ?? "", qty: Int(query.int(5) ?? 0),
                    price: Int(query.int(6) ?? 0), ref: query.string(7) ?? "", ts: query.int(8) ?? 0,
                    state: OrderState(rawValue: query.string(9) ?? "") ?? .accepted, payBy: query.int(10),
                    reason: query.string(11).flatMap(CancelReason.init(rawValue:)), updatedAt: query.int(12)))
        }
        return orders
    }
}
