import JenkinsLinkType

@_cdecl("applinks_plugin_entry")
public func applinksPluginEntry(_ hostABIVersion: UInt32) -> UnsafeRawPointer? {
    pluginEntry(hostABIVersion)
}
