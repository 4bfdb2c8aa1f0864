import Foundation

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// The target's body. Set once, before libFuzzer starts, and only read after: libFuzzer runs inputs on one thread.
nonisolated(unsafe) private var target: ((Data) -> Void)?

/// Runs libFuzzer with the process's arguments (`-runs=`, `-max_total_time=`, corpus folders …) over `body`.
///
/// A target is an executable whose `main.swift` calls this. Each one checks an invariant of what it parses,
/// with ``expect(_:_:)``, not only that it does not crash.
public func fuzz(_ body: @escaping (Data) -> Void) -> Never {
    target = body
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    let status = LLVMFuzzerRunDriver(&argc, &argv) { bytes, count in
        let data = bytes.map { Data(bytes: $0, count: count) } ?? Data()
        target?(data)
        return 0
    }
    exit(status)
}

/// Stops the run when an invariant fails: libFuzzer keeps the input as a crash, and the message says what broke.
public func expect(_ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
    guard !condition else { return }
    FileHandle.standardError.write(Data("invariant broken at \(file):\(line): \(message())\n".utf8))
    abort()
}

/// The input as text when it is UTF-8; most of the parsers take a `String`.
public func text(_ data: Data) -> String? { String(validating: data, as: UTF8.self) }
