/// The rule for each setting that can come from more than one place (the config file, a
/// `HOMETOWN_*` environment variable, a flag), stated once so the three never disagree.
enum SettingRules {
    struct Rule<Value>: Sendable {
        /// What is wrong with a value the rule refuses, after "'value' ".
        let problem: String
        let parse: @Sendable (String) -> Value?

        /// The parsed value, or an error naming `key` (a config key, variable or flag).
        func value(_ text: String, key: String) throws -> Value {
            guard let value = self.parse(text) else { throw ConfigurationLoader.Error(key: key, problem: "'\(text)' \(self.problem)") }
            return value
        }
    }

    static let portRange = 0...65535
    static let loopsRange = 0...256
    static let minimumSecretBytes = 16

    static let port = Rule<UInt16>(problem: "is not a port number") { UInt16($0) }
    static let loops = Rule<Int>(problem: "is not a number from 0 to 256") { Int($0).flatMap { loopsRange.contains($0) ? $0 : nil } }
    static let logLevel = Rule<Log.Level>(problem: "is not one of debug, info, warn, error") { Log.Level(name: $0) }
    static let environment = Rule<String>(problem: "must be development or production") {
        $0 == "development" || $0 == "production" ? $0 : nil
    }
    static let jwtSecret = Rule<String>(problem: "must be at least \(minimumSecretBytes) bytes") {
        $0.utf8.count >= minimumSecretBytes ? $0 : nil
    }
}
