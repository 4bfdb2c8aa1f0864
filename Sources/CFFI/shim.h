/* libffi, for the typed C actions a plugin may declare: the host calls them with ffi_call. */
#include <ffi.h>

/* The type descriptors are C globals; these hand out their addresses without Swift taking a copy. */
static inline ffi_type *applinks_ffi_pointer(void) { return &ffi_type_pointer; }
static inline ffi_type *applinks_ffi_sint64(void) { return &ffi_type_sint64; }
static inline ffi_type *applinks_ffi_double(void) { return &ffi_type_double; }
static inline ffi_type *applinks_ffi_uint8(void) { return &ffi_type_uint8; }
static inline ffi_type *applinks_ffi_sint32(void) { return &ffi_type_sint32; }
