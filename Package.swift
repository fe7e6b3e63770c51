// swift-tools-version:6.1
// Railgate — edge protocol gateway. Layout and data flow: docs/architecture.md.
import PackageDescription

import class Foundation.ProcessInfo

let package = Package(
    name: "Railgate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "railgate", targets: ["Railgate"]),
        .library(name: "RailgateCore", targets: ["RailgateCore"]),
        .library(name: "RailgateConfig", targets: ["RailgateConfig"]),
        .library(name: "ModbusSouth", targets: ["ModbusSouth"]),
        .library(name: "ProfibusSouth", targets: ["ProfibusSouth"]),
        .library(name: "CANSouth", targets: ["CANSouth"]),
        .library(name: "MQTTNorth", targets: ["MQTTNorth"]),
        .library(name: "OPCUAServer", targets: ["OPCUAServer"]),
        .library(name: "RailgateAudit", targets: ["RailgateAudit"]),
        .library(name: "RailgateHistory", targets: ["RailgateHistory"]),
        .library(name: "Console", targets: ["Console"]),
        .library(name: "RailgateRuntime", targets: ["RailgateRuntime"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        // Without its default traits: BinaryDelimitedStreams imports Foundation (and ICU) into the binary.
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0", traits: []),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.0"),
    ],
    targets: [
        // C libraries from the distribution, found with pkg-config.
        .systemLibrary(name: "CModbus", pkgConfig: "libmodbus", providers: [.apt(["libmodbus-dev"])]),
        .systemLibrary(name: "CMosquitto", pkgConfig: "libmosquitto", providers: [.apt(["libmosquitto-dev"])]),
        .systemLibrary(name: "CSocketCAN", pkgConfig: "libsocketcan", providers: [.apt(["libsocketcan-dev"])]),
        // BSD libedit (not GNU readline): line editing and history for `railgate console`.
        .systemLibrary(name: "CEdit", providers: [.apt(["libedit-dev"])]),
        // libyaml: the configuration's YAML parser and the console's emitter.
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        // libc calls Swift cannot reach directly (thread names, absolute sleeps).
        .target(name: "CRailgatePlatform"),

        .target(name: "RailgateCore", dependencies: ["CRailgatePlatform"]),
        // YAML nodes with their lines, composed within limits, written back for the console.
        .target(name: "RailgateYAML", dependencies: ["CYAML"]),
        .target(name: "RailgateConfig", dependencies: ["RailgateCore", "RailgateYAML"]),
        .target(name: "RailgateAudit", dependencies: [
            "RailgateCore",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // Tag history on disk for OPC UA HistoryRead.
        .target(name: "RailgateHistory", dependencies: [
            "RailgateCore", "RailgateConfig",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "ModbusSouth", dependencies: [
            "RailgateCore", "RailgateConfig", "CModbus", "CRailgatePlatform",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "ProfibusSouth", dependencies: [
            "RailgateCore", "RailgateConfig", "CRailgatePlatform",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Console", dependencies: [
            "RailgateCore", "RailgateConfig", "RailgateYAML", "CRailgatePlatform", "CEdit",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "MQTTNorth", dependencies: [
            "RailgateCore", "RailgateConfig", "CMosquitto", "CRailgatePlatform",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        .target(name: "CANSouth", dependencies: [
            "RailgateCore", "RailgateConfig", "CSocketCAN", "CRailgatePlatform",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "OPCUAServer", dependencies: [
            "RailgateCore", "RailgateConfig", "RailgateHistory",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The gateway as a whole: composition from the south registry, hot reconfiguration with
        // fallback, the last good configuration, the systemd watchdog and status.
        .target(name: "RailgateRuntime", dependencies: [
            "RailgateCore", "RailgateConfig", "RailgateAudit", "RailgateHistory", "ModbusSouth", "ProfibusSouth", "CANSouth",
            "MQTTNorth", "OPCUAServer", "Console",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Argument parsing only.
        .executableTarget(name: "Railgate", dependencies: [
            "RailgateCore", "RailgateConfig", "RailgateAudit", "ModbusSouth", "ProfibusSouth", "MQTTNorth", "OPCUAServer",
            "Console", "RailgateRuntime",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ], linkerSettings: [
            // Release: linked by the toolchain's lld with packed relative relocations (DT_RELR, glibc
            // ≥ 2.36: Debian 12 and 13). The position-independent binary's 2.6 MB of RELA entries,
            // each page of them read at every start and kept resident, become 21 KB: RSS −4.4 MB.
            // And no dynamic symbol table of its own 37 000 symbols: the loader searched it first
            // for every symbol the C libraries look up, which kept 1.8 MB of it resident.
            //
            // And the code run in service first, in the order of `linker/railgate.order` (made by
            // scripts/gen/symbol-order from a profiled run): each function sits in its own section
            // (below), so the pages a running gateway touches are few and together, instead of one
            // function here and there in each 64 KB the kernel maps around a page fault (RSS −5 MB).
            .unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
                          "-Xlinker", "--no-export-dynamic",
                          "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/linker/railgate.order",
                          "-Xlinker", "--no-warn-symbol-ordering"],
                         .when(platforms: [.linux], configuration: .release)),
        ]),

        .testTarget(name: "RailgateCoreTests", dependencies: ["RailgateCore"]),
        .testTarget(name: "RailgateYAMLTests", dependencies: ["RailgateYAML"]),
        .testTarget(name: "RailgateConfigTests", dependencies: ["RailgateConfig"]),
        .testTarget(name: "RailgateAuditTests", dependencies: ["RailgateAudit"]),
        .testTarget(name: "RailgateHistoryTests", dependencies: ["RailgateHistory", "RailgateConfig", "RailgateCore"]),
        .testTarget(name: "ModbusSouthTests", dependencies: ["ModbusSouth", "RailgateConfig"]),
        .testTarget(name: "ProfibusSouthTests", dependencies: ["ProfibusSouth", "RailgateConfig", "RailgateCore"]),
        .testTarget(name: "ConsoleTests", dependencies: ["Console", "RailgateConfig"]),
        .testTarget(name: "MQTTNorthTests", dependencies: ["MQTTNorth", "RailgateConfig"]),
        .testTarget(name: "CANSouthTests", dependencies: ["CANSouth", "RailgateConfig"]),
        .testTarget(name: "RailgateRuntimeTests", dependencies: [
            "RailgateRuntime", "RailgateConfig", "RailgateCore", "Console", "ModbusSouth", "ProfibusSouth", "CANSouth",
        ]),
        .testTarget(name: "OPCUAServerTests", dependencies: [
            "OPCUAServer", "RailgateConfig", "RailgateCore", "RailgateHistory",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)

// Release builds put each function of Railgate's own modules in a section of its own, so that the
// link can order them (linker/railgate.order); scripts/lib/release-flags does the same for the
// dependencies' code.
for target in package.targets where target.type == .regular || target.type == .executable {
    target.swiftSettings = (target.swiftSettings ?? []) + [
        .unsafeFlags(["-Xfrontend", "-function-sections"], .when(platforms: [.linux], configuration: .release)),
    ]
    target.cSettings = (target.cSettings ?? []) + [
        .unsafeFlags(["-ffunction-sections"], .when(platforms: [.linux], configuration: .release)),
    ]
}

// Benchmarks (ordo-one/benchmark with its malloc interposer) are added only
// when RAILGATE_BENCHMARKS is set, as scripts/bench does, so that building
// and testing the product does not build the benchmark harness.
if ProcessInfo.processInfo.environment["RAILGATE_BENCHMARKS"] != nil {
    package.dependencies.append(
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]))
    package.targets.append(
        .executableTarget(
            name: "SamplingLoop",
            dependencies: [
                "ModbusSouth", "ProfibusSouth", "CANSouth", "RailgateConfig", "RailgateCore", "MQTTNorth", "RailgateHistory",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/SamplingLoop",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]))
}

// Fuzz harnesses (libFuzzer, one executable for all of them) are added only when RAILGATE_FUZZ is
// set, as scripts/fuzz does; it builds them with libFuzzer and AddressSanitizer (-sanitize=fuzzer,address).
if ProcessInfo.processInfo.environment["RAILGATE_FUZZ"] != nil {
    package.targets.append(
        .executableTarget(
            name: "railgate-fuzz",
            dependencies: [
                "RailgateCore", "RailgateYAML", "RailgateConfig", "RailgateAudit", "RailgateHistory", "ModbusSouth", "ProfibusSouth",
                "CANSouth", "MQTTNorth", "OPCUAServer", "Console",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Fuzz/Harnesses",
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]))
}
