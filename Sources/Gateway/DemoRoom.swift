import LiveRoom

/// The `demo` room: live, with hometown goods, so a newcomer sees a room selling at once.
enum DemoRoom {
    static let name = "demo"

    static let commands: [RoomCommand] = [
        .open(title: "Hometown demo: winter bamboo shoots from the hills 冬笋直播"),
        .productAdd(sku: "bamboo-shoots", title: "Winter bamboo shoots 冬笋 500 g", price: 3990, stock: 500),
        .productAdd(sku: "navel-oranges", title: "Gannan navel oranges 赣南脐橙 2.5 kg", price: 4590, stock: 300),
        .productAdd(sku: "red-apples", title: "Luochuan red apples 洛川苹果 12 pcs", price: 5990, stock: 200),
        .pin(sku: "bamboo-shoots"),
        .saleStart(sku: "bamboo-shoots", limit: 2, countdown: nil, seconds: nil),
    ]

    /// Creates and stocks the room, unless the store brought it back (it keeps its state then).
    static func create(in rooms: RoomRunner) {
        guard rooms.directory.handleOrLoad(Self.name) == nil else { return }
        rooms.seed(rooms.directory.create(Self.name, owner: "hometown"), commands: Self.commands)
    }
}
