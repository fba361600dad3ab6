// chatkit-cpp: configuration and version macros (single source of truth for the version).
#pragma once

/// Version of chatkit-cpp, MMmmpp.
#define CHATKIT_VERSION_MAJOR 0
#define CHATKIT_VERSION_MINOR 1
#define CHATKIT_VERSION_PATCH 0
#define CHATKIT_VERSION (CHATKIT_VERSION_MAJOR * 10000 + CHATKIT_VERSION_MINOR * 100 + CHATKIT_VERSION_PATCH)

/// The version of the ChatKit Python reference SDK whose wire output chatkit-cpp reproduces.
#define CHATKIT_REFERENCE_VERSION "1.6.5"

#if defined(CHATKIT_SHARED) && defined(__GNUC__)
#define CHATKIT_API __attribute__((visibility("default")))
#else
/// Marks symbols exported from the compiled chatkit library.
#define CHATKIT_API
#endif

#include <boost/version.hpp>
#if BOOST_VERSION < 108100
#error "chatkit-cpp needs Boost 1.81 or newer"
#endif
