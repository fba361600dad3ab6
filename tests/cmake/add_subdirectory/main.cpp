// Packaging test: uses chatkit through add_subdirectory(). Exits non-zero when a check fails.
#include <chatkit/core/error.hpp>
#include <chatkit/protocol/protocol.hpp>

#include <cstdio>

#ifdef CONSUMER_WITH_POSTGRES
#include <chatkit/store/postgres/store.hpp>

#include <memory>
#include <string>
#include <type_traits>
#include <utility>

namespace {
struct UserContext {
    std::string user;
};
// The typed store instantiates against a user's context type.
static_assert(std::is_base_of_v<chatkit::Store<UserContext>, chatkit::PostgresStore<UserContext>>);
}  // namespace
#endif

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

#ifdef CONSUMER_WITH_POSTGRES
    auto const options = chatkit::postgres::Options::from_url(
        "postgresql://app:secret@db.example.com:5433/chat?sslmode=verify-full");
    check(options.port == 5433 && options.dbname == "chat", "postgres::Options::from_url()");
    check(options.describe() == "postgresql://app@db.example.com:5433/chat?sslmode=verify-full",
          "postgres::Options::describe() leaves the password out");
    check(chatkit::postgres::is_url("postgres://x") && !chatkit::postgres::is_url("chat.db"),
          "postgres::is_url()");
    // Compiles every member of the typed store (its constructor needs the vtable) and links libpq;
    // not called: no server here.
    auto open = [](chatkit::postgres::Options o) -> std::unique_ptr<chatkit::Store<UserContext>> {
        return std::make_unique<chatkit::PostgresStore<UserContext>>(
            std::move(o), [](UserContext const& ctx) { return ctx.user; });
    };
    (void)open;
#endif

    if (failures != 0) return 1;
    std::printf("chatkit_consumer: ok (chatkit %d.%d.%d)\n", CHATKIT_VERSION_MAJOR, CHATKIT_VERSION_MINOR,
                CHATKIT_VERSION_PATCH);
    return 0;
}
