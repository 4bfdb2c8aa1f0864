#if canImport(Glibc)
    import Glibc
#endif

/// File actions for `posix_spawn` that the Glibc module does not import.
///
/// ```swift
/// var actions = posix_spawn_file_actions_t()
/// posix_spawn_file_actions_init(&actions)
/// posix_spawn_file_actions_adddup2(&actions, pipeEnd, 1)
/// SpawnActions.closeAll(from: 3, &actions)
/// ```
public enum SpawnActions {
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later); nil on an older glibc.
    private static let closeFrom: CloseFrom? = {
        guard let sym = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(sym, to: CloseFrom.self)
    }()

    /// Makes the child close every descriptor from `lowest` up, after the actions added before.
    ///
    /// A child keeps what its parent did not mark close-on-exec: its sockets, its database, and pipes that
    /// another thread is about to hand to a child of its own, whose reader then waits for an end this child
    /// holds open. Returns false on a glibc without the action, where nothing is closed.
    @discardableResult
    public static func closeAll(from lowest: Int32, _ actions: inout posix_spawn_file_actions_t) -> Bool {
        guard let closeFrom else { return false }
        return closeFrom(&actions, lowest) == 0
    }
}
