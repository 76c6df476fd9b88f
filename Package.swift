// swift-tools-version:6.0
import PackageDescription

// Layers, each knowing only those below it:
//   COpenBLAS, CKernels, CZip (libzip) ← Numerics (float32 tensors, gradients, safetensors and PyTorch
//   checkpoints, files; knows no model)
//   Numerics, CPNGCodec (libpng), CTurboJPEG, CWebP ← Graphics (images, PNG/JPEG/WebP, canvas and font, charts)
//   Graphics ← Diffusion (CLIP tokenizer and text encoder, UNet, VAE, schedulers, pipeline folders)
//   Diffusion ← Inversion (sessions, the paper's timestep strategies, g(t) profiles)
//   CZeroMQ (libzmq) ← Jupyter (wire protocol, the protocol core, the ZeroMQ transport; knows no gradti command)
//   Jupyter, Inversion ← Kernel (gradti's cell language: command registry, parser, commands, display)
//   Kernel ← gradti (the executable and its subcommands)
let package = Package(
    name: "gradti",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "gradti", targets: ["gradti"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3")
    ],
    targets: [
        .systemLibrary(
            name: "CZeroMQ",
            pkgConfig: "libzmq",
            providers: [.apt(["libzmq3-dev"])]
        ),
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CLibPNG",
            pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]
        ),
        .systemLibrary(
            name: "CTurboJPEG",
            pkgConfig: "libturbojpeg",
            providers: [.apt(["libturbojpeg0-dev"])]
        ),
        .systemLibrary(
            name: "CWebP",
            pkgConfig: "libwebp",
            providers: [.apt(["libwebp-dev"])]
        ),
        // The zip container of PyTorch checkpoints (torch.save's format since 1.6).
        .systemLibrary(
            name: "CZip",
            pkgConfig: "libzip",
            providers: [.apt(["libzip-dev"])]
        ),
        // libpng reports errors by longjmp, which Swift cannot catch: a small C codec catches them.
        .target(name: "CPNGCodec", dependencies: ["CLibPNG"]),
        // Vector kernels compiled for several instruction sets and chosen at load time.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3", "-ffp-contract=fast"])]),
        .target(
            name: "Numerics",
            dependencies: ["COpenBLAS", "CKernels", "CZip"],
            // Kernels hand raw pointers to parallel loops; data races are excluded by construction
            // (each chunk writes its own range), which Swift 6's Sendable checking cannot see.
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        // Everything that is a picture: images and their resampling, PNG, the canvas, the font, charts.
        .target(
            name: "Graphics", dependencies: ["Numerics", "CPNGCodec", "CTurboJPEG", "CWebP"],
            exclude: ["make_fixed_font.py"],
            swiftSettings: [.swiftLanguageMode(.v5)]),
        .target(name: "Diffusion", dependencies: ["Graphics", "Numerics"], swiftSettings: [.swiftLanguageMode(.v5)]),
        .target(
            name: "Inversion", dependencies: ["Diffusion", "Graphics", "Numerics"],
            swiftSettings: [.swiftLanguageMode(.v5)]),
        // Making the embedded model: the emoji dataset and the training loops.
        .target(
            name: "Training", dependencies: ["Inversion", "Diffusion", "Graphics", "Numerics"],
            swiftSettings: [.swiftLanguageMode(.v5)]),
        .target(
            name: "Jupyter",
            dependencies: [
                "CZeroMQ",
                .product(name: "Crypto", package: "swift-crypto")
            ]
        ),
        .target(
            name: "Kernel",
            dependencies: ["Jupyter", "Inversion", "Diffusion", "Graphics", "Numerics"]
        ),
        .executableTarget(
            name: "gradti",
            dependencies: [
                "Kernel",
                "Jupyter",
                "Numerics",
                "Diffusion",
                "Graphics",
                "Inversion",
                "Training",
                .product(name: "ArgumentParser", package: "swift-argument-parser")
            ]
        ),
        // Fixtures stay where they are committed and are read through TestSupport's `Fixtures`.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "JupyterTests", dependencies: ["Jupyter", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "KernelTests", dependencies: ["Kernel", "Graphics", "TestSupport"]),
        .testTarget(
            name: "NumericsTests", dependencies: ["Numerics", "CKernels", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(
            name: "GraphicsTests", dependencies: ["Graphics", "Numerics", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(
            name: "DiffusionTests", dependencies: ["Diffusion", "Graphics", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(
            name: "InversionTests", dependencies: ["Inversion", "Diffusion", "Graphics", "Numerics", "TestSupport"]),
        .testTarget(
            name: "TrainingTests",
            dependencies: ["Training", "Inversion", "Diffusion", "Graphics", "Numerics", "TestSupport"])
    ]
)
