// swift-tools-version:5.9
// The iOS shell of i-Speed as a Swift package. An app target in Xcode depends on
// `IspeedShell` and shows `MeasureScreen`.
//
// `cargo xtask xcframework` (macOS) builds `build/IspeedCoreFFI.xcframework` and
// copies the generated `IspeedCore.swift` into `Sources/IspeedCore`; run it before
// opening the package.
import PackageDescription

let package = Package(
    name: "Ispeed",
    defaultLocalization: "en",
    platforms: [.iOS(.v16)],
    products: [
        .library(name: "IspeedShell", targets: ["IspeedShell"]),
    ],
    targets: [
        // The Rust engine: static libraries for devices and simulators, C header, module map.
        .binaryTarget(name: "IspeedCoreFFI", path: "build/IspeedCoreFFI.xcframework"),
        // The generated Swift API over the C interface.
        .target(name: "IspeedCore", dependencies: ["IspeedCoreFFI"], path: "Sources/IspeedCore"),
        // The thin shell: platform probe, reminders, measure screen.
        .target(
            name: "IspeedShell",
            dependencies: ["IspeedCore"],
            path: "Sources/IspeedShell",
            resources: [.process("Resources")]
        ),
    ]
)
