import Glibc
import Synchronization
import Transport

/// Structured log lines in logfmt (`ts=... level=info msg="..." key=value`) on stderr.
/// One line per event worth an operator's attention; never one per message at the default level.
public enum Log {
    public enum Level: Int, Comparable, Sendable {
        case debug = 0, info, warn, error

        public init?(name: String) {
            switch name {
            case "debug": self = .debug
            case "info": self = .info
            case "warn": self = .warn
            case "error": self = .error
            default: return nil
            }
        }

        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }

        var name: String {
            switch self {
            case .debug: return "debug"
            case .info: return "info"
            case .warn: return "warn"
            case .error: return "error"
            }
        }
    }

    /// The least severe level written. Set at startup, and by tests on many threads: atomic.
    public static var level: Level {
        get { Level(rawValue: levelStorage.load(ordering: .relaxed)) ?? .info }
        set { levelStorage.store(newValue.rawValue, ordering: .relaxed) }
    }
    private static let levelStorage = Atomic<Int>(Level.info.rawValue)

    public static func debug(_ message: @autoclosure () -> String, _ fields: @autoclosure () -> KeyValuePairs<String, Any> = [:]) {
        if level <= .debug { write(.debug, message(), fields()) }
    }

    public static func info(_ message: String, _ fields: KeyValuePairs<String, Any> = [:]) {
        if level <= .info { write(.info, message, fields) }
    }

    public static func warn(_ message: String, _ fields: KeyValuePairs<String, Any> = [:]) {
        if level <= .warn { write(.warn, message, fields) }
    }

    public static func error(_ message: String, _ fields: KeyValuePairs<String, Any> = [:]) {
        write(.error, message, fields)
    }

    private static func write(_ level: Level, _ message: String, _ fields: KeyValuePairs<String, Any>) {
        let millis = Int(WallClock.nowMillis())
        var line = "ts=\(millis / 1000).\(String(millis % 1000 + 1000).dropFirst()) level=\(level.name) msg=\(quote(message))"
        for (key, value) in fields { line += " \(key)=\(quote(String(describing: value)))" }
        line += "\n"
        // One write(2) per line on descriptor 2: lines from different loops never interleave, and
        // no shared FILE buffer is involved.
        _ = line.withUTF8 { Glibc.write(2, $0.baseAddress, $0.count) }
    }

    private static func quote(_ text: String) -> String {
        if !text.isEmpty && !text.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }) { return text }
        var escaped = "\""
        for character in text {
            switch character {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped + "\""
    }
}
