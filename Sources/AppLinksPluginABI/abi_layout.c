// Compile-time checks on the v1 layout. A change that trips one of these breaks every plugin built against
// an earlier header and needs a new major ABI version (see the rules at the top of plugin.h).
#include <applinks/plugin.h>
#include <stddef.h>

_Static_assert(offsetof(applinks_plugin_descriptor, struct_size) == 0, "struct_size must come first");
_Static_assert(offsetof(applinks_plugin_descriptor, abi_version) == 4, "abi_version must come second");
_Static_assert(offsetof(applinks_host_api, struct_size) == 0, "struct_size must come first");
_Static_assert(offsetof(applinks_host_api, abi_version) == 4, "abi_version must come second");
_Static_assert(APPLINKS_ABI_MAJOR(APPLINKS_ABI_VERSION) == 1, "this host speaks ABI v1");

