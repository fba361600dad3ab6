// Packaging test: uses an installed chatkit through find_package(). Exits non-zero when a check
// fails.
#include <chatkit/core/error.hpp>
#include <chatkit/protocol/protocol.hpp>

#include <cstdio>

int main() {
    int failures = 0;
    auto check = [&failures](bool ok, char const* what) {
        if (!ok) {
            std::fprintf(stderr, "chatkit_consumer: check failed: %s\n", what);
            ++failures;
        }
    };

    auto const status = chatkit::ThreadStatus::locked("read-only");
    check(status.type == chatkit::ThreadStatusType::locked, "ThreadStatus::locked().type");
    check(status.reason == "read-only", "ThreadStatus::locked().reason");

    auto const ec = chatkit::make_error_code(chatkit::error::not_found);
    check(ec.category() == chatkit::chatkit_category(), "make_error_code() uses the chatkit category");
    check(chatkit::http_status(ec) == 404, "http_status(not_found) == 404");

    if (failures != 0) return 1;
    std::printf("chatkit_consumer: ok (chatkit %d.%d.%d)\n", CHATKIT_VERSION_MAJOR, CHATKIT_VERSION_MINOR,
                CHATKIT_VERSION_PATCH);
    return 0;
}
