// conformance_server: the conformance kit's scripted server (../shared/conformance/CONTRACT.md) on chatkit-cpp.
//
// Run it, then point the kit at it:
//   conformance_server --port 0        # prints "listening on http://127.0.0.1:PORT"
//   python3 ../shared/conformance/run_scenarios.py compare --strict-errors --url http://127.0.0.1:PORT/chatkit
//
// Each request's tenant comes from the X-Conformance-Tenant header ("default" when absent or empty);
// stores are partitioned by it. `--store memory` (default) keeps everything in memory; `--store sqlite`
// uses SqliteStore on `--db FILE`, `--store postgres` PostgresStore on `--db postgresql://...` (the kit
// passes with all three).
#include "app.hpp"

#include "../common/cli.hpp"
#include "../common/store.hpp"

#include <chatkit/http/server.hpp>
#include <chatkit/store/memory_store.hpp>

#include <iostream>
#include <memory>
#include <stdexcept>

int main(int argc, char** argv) try {
    examples::Cli cli("conformance_server", "The ChatKit conformance kit's scripted server (CONTRACT.md).");
    cli.listener_options()
        .option("store", "CHATKIT_STORE", "memory", "where threads live: memory, sqlite or postgres")
        .option("db", "CHATKIT_DB", "conformance.db",
                "the SQLite file for --store sqlite, the postgresql:// URL for --store postgres")
        .flag("verbose", "CHATKIT_VERBOSE", "log request failures and cancelled streams to stderr");
    cli.parse(argc, argv);

    std::function<std::string(conformance::Context const&)> const tenant_of = [](conformance::Context const& ctx) {
        return ctx.tenant;
    };
    std::unique_ptr<chatkit::Store<conformance::Context>> store;
    try {
        store = examples::open_store<conformance::Context>(cli.get("store"), cli.get("db"), tenant_of).store;
    } catch (std::invalid_argument const& e) {
        cli.fail(e.what());
    }
    conformance::ConformanceServer app(*store, cli.is_set("verbose") ? chatkit::Logger::stderr_logger(chatkit::LogLevel::info)
                                                                     : chatkit::Logger{});

    auto factory = [](chatkit::http::RequestInfo const& request) {
        conformance::Context ctx;
        auto tenant = request.header("X-Conformance-Tenant");
        if (!tenant.empty()) ctx.tenant = std::string(tenant);
        return ctx;
    };
    chatkit::http::Server<conformance::Context> server(app, cli.server_options(), factory);
    server.run_until_signal();  // prints "listening on ..."; SIGINT/SIGTERM stop it gracefully
    return 0;
} catch (std::exception const& e) {
    std::cerr << "conformance_server: " << e.what() << "\n";
    return 1;
}
