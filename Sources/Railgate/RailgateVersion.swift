/// The release version; the Debian package version follows it.
enum RailgateVersion {
    static let string = "0.1.0"
}
