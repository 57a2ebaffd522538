/// What this build is. The version goes up with each landed milestone; it is printed by
/// `hometown --version`, in the startup log line, as the `hometown_build_info` metric, and in
/// hometown-load's reports (which carry the tool's own version).
public enum BuildInfo {
    public static let version = "0.12.0"
}
