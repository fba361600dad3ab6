// conformance_server: the conformance kit's scripted server (../shared/conformance/CONTRACT.md) on chatkit-cpp.
//
// Run it, then point the kit at it:
//   conformance_server --port 0        # prints "listening on http://127.0.0.1:PORT"
//   python3 ../shared/conformance/run_scenarios.py compare --strict-errors --url http://127.0.0.1:PORT/chatkit
//
// Each request's tenant comes from the X-Conformance-Tenant header ("default" when absent or empty);
// stores are partitioned by it. `--store memory` (default) keeps everything in memory; `--store sqlite`
// uses SqliteStore on `--db` (the kit passes with both).
#include "app.hpp"

#include "../common/cli.hpp"

#include <chatkit/http/server.hpp>
#include <chatkit/store/memory_store.hpp>
#include <chatkit/store/sqlite/store.hpp>

#include <memory>

#include <iostream>

int main(int argc, char** argv) {
    examples::Cli cli("conformance_server", "The ChatKit conformance kit's scripted server (CONTRACT.md).");
    cli.option("host", "CHATKIT_HOST", "127.0.0.1", "address to bind")
        .option("port", "CHATKIT_PORT", "8000", "port to bind; 0 picks a free port")
        .option("threads", "CHATKIT_THREADS", "1", "I/O threads")
        .option("store", "CHATKIT_STORE", "memory", "where threads live: memory or sqlite")
        .option("db", "CHATKIT_DB", "conformance.db", "SQLite database file for --store sqlite")
        .flag("verbose", "CHATKIT_VERBOSE", "log request failures and cancelled streams to stderr");
    cli.parse(argc, argv);

    auto tenant_of = [](conformance::Context const& ctx) { return ctx.tenant; };
    std::unique_ptr<chatkit::Store<conformance::Context>> store;
    try {
        if (cli.get("store") == "memory") {
            store = std::make_unique<chatkit::InMemoryStore<conformance::Context>>(tenant_of);
        } else if (cli.get("store") == "sqlite") {
            chatkit::SqliteOptions sqlite;
            sqlite.path = cli.get("db");
            store = std::make_unique<chatkit::SqliteStore<conformance::Context>>(sqlite, tenant_of);
        } else {
            cli.fail("--store must be memory or sqlite");
        }
    } catch (std::exception const& e) {
        std::cerr << "conformance_server: cannot open the store: " << e.what() << "\n";
        return 1;
    }
    conformance::ConformanceServer app(*store, cli.is_set("verbose") ? chatkit::Logger::stderr_logger(chatkit::LogLevel::info)
                                                                     : chatkit::Logger{});

    chatkit::http::ServerOptions options;
    options.host = cli.get("host");
    options.port = cli.port("port");
    options.threads = cli.positive("threads");
    auto factory = [](chatkit::http::RequestInfo const& request) {
        conformance::Context ctx;
        auto tenant = request.header("X-Conformance-Tenant");
        if (!tenant.empty()) ctx.tenant = std::string(tenant);
        return ctx;
    };
    try {
        chatkit::http::Server<conformance::Context> server(app, options, factory);
        server.start();
        server.run_until_signal();
    } catch (std::exception const& e) {
        std::cerr << "conformance_server: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
