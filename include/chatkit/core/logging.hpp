// chatkit-cpp: the logging hook (no dependency on a logging library).
#pragma once

#include <chatkit/core/config.hpp>

#include <functional>
#include <string_view>

namespace chatkit {

/// Severity of a log line.
enum class LogLevel { debug, info, warning, error };

/// Where the SDK's log lines go: a minimum level and a sink. The default logs nothing.
///
/// The sink must not throw; if it does, the exception is swallowed (logging never breaks a request).
struct Logger {
    /// Lines below this level are dropped before the sink is called.
    LogLevel level = LogLevel::warning;
    /// Receives each line that passes `level` (empty: nothing is logged). Called on the thread that
    /// logs: with `ServerOptions::threads` above 1, concurrently.
    std::function<void(LogLevel, std::string_view)> sink;

    /// Sends `message` to the sink when `l >= level`.
    void log(LogLevel l, std::string_view message) const noexcept {
        if (!sink || l < level) return;
        try {
            sink(l, message);
        } catch (...) {
        }
    }

    /// A logger writing `[chatkit] <level>: <message>` lines to stderr.
    CHATKIT_API static Logger stderr_logger(LogLevel level = LogLevel::info);
};

}  // namespace chatkit
