/// "张三丰" → "张**", "alice" → "a****": the `bought` ticker shows that someone bought,
/// not who.
public enum NameMask {
    public static func mask(_ name: String) -> String {
        guard let first = name.first else { return "*" }
        return String(first) + String(repeating: "*", count: max(1, min(name.count - 1, 4)))
    }
}
