/// The release version; the Debian package version follows it.
public enum RailgateVersion {
    public static let string = "0.1.0"
}
