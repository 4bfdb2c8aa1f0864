import AtlassianOAuth1LinkType

@_cdecl("applinks_plugin_entry")
public func applinksPluginEntry(_ hostABIVersion: UInt32) -> UnsafeRawPointer? {
    pluginEntry(hostABIVersion)
}
