// auth_server: a JWT-protected ChatKit backend. Every request must carry a valid token
// (`Authorization: Bearer`, or an httpOnly cookie with --cookie-name); threads live in SQLite,
// partitioned by the token's issuer + `sub` (`Claims::tenant_key()`).
//
//   auth_server issue-token --sub alice          # dev keys in ./.chatkit-dev-keys (created once)
//   auth_server --jwks-file .chatkit-dev-keys/jwks.json   # --issuer chatkit-dev --audience chatkit by default
//   curl -H "Authorization: Bearer $TOKEN" -d '{"type":"threads.list","params":{}}' localhost:8000/chatkit
//
// Production: --jwks-url https://YOUR_ISSUER/.well-known/jwks.json --issuer ... --audience ...
#include "../common/cli.hpp"
#include "../common/store.hpp"
#include "app.hpp"

#include <chatkit/auth/jwks.hpp>
#include <chatkit/auth/jwt.hpp>
#include <chatkit/http/attachment_routes.hpp>
#include <chatkit/http/bearer.hpp>
#include <chatkit/http/client/http_client.hpp>
#include <chatkit/http/server.hpp>
#include <chatkit/store/local_attachment_store.hpp>

#include <boost/json/serialize.hpp>

#include <openssl/rand.h>

#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace auth = chatkit::auth;
using namespace chatkit;

std::string read_file(fs::path const& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path.string());
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

/// Writes a file readable by its owner only (private keys, secrets).
void write_private_file(fs::path const& path, std::string const& content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write " + path.string());
    out << content;
    out.close();
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
}

std::string random_hex(std::size_t bytes) {
    std::string raw(bytes, '\0');
    RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size()));
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : raw) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

/// The HMAC secret of --hs-secret-file (trailing newline removed).
std::string read_secret(fs::path const& path) {
    std::string s = read_file(path);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
}

/// Removes every `--allowed-origin URL` / `--allowed-origin=URL` from argv (the option may repeat,
/// which examples::Cli does not support) and returns the URLs; `env` adds comma-separated ones.
std::vector<std::string> take_allowed_origins(int& argc, char** argv, char const* env) {
    std::vector<std::string> out;
    if (char const* e = std::getenv(env)) {
        std::string_view rest = e;
        while (!rest.empty()) {
            std::size_t const comma = rest.find(',');
            if (std::string_view one = rest.substr(0, comma); !one.empty()) out.emplace_back(one);
            if (comma == std::string_view::npos) break;
            rest.remove_prefix(comma + 1);
        }
    }
    int kept = 1;
    for (int i = 1; i < argc; ++i) {
        std::string_view const arg = argv[i];
        if (arg == "--allowed-origin" && i + 1 < argc) {
            out.emplace_back(argv[++i]);
        } else if (arg.starts_with("--allowed-origin=")) {
            out.emplace_back(arg.substr(17));
        } else {
            argv[kept++] = argv[i];
        }
    }
    argc = kept;
    argv[argc] = nullptr;
    return out;
}

// --- issue-token ---------------------------------------------------------------------------------

//[issue_token
/// `auth_server issue-token`: signs a development token with keys generated at first use in
/// --keys-dir (private.pem + jwks.json for asymmetric algorithms, hs-secret for HS*). Never use
/// these keys in production: tokens come from your identity provider there.
int issue_token(int argc, char** argv) {
    examples::Cli cli("auth_server issue-token", "Prints a development JWT for auth_server.");
    cli.option("sub", "", "", "the user (required); becomes the store owner key")
        .option("keys-dir", "CHATKIT_DEV_KEYS_DIR", ".chatkit-dev-keys", "where the development keys live")
        .option("alg", "CHATKIT_DEV_ALG", "ES256", "signing algorithm (RS256, PS256, ES256, EdDSA, HS256, ...)")
        .option("issuer", "CHATKIT_AUTH_ISSUER", "chatkit-dev", "iss claim")
        .option("audience", "CHATKIT_AUTH_AUDIENCE", "chatkit", "aud claim")
        .option("ttl", "", "3600", "lifetime in seconds")
        .option("scope", "", "", "scope claim (space-separated)")
        .option("hs-secret-file", "CHATKIT_AUTH_HS_SECRET_FILE", "", "HS* secret file (default <keys-dir>/hs-secret)");
    cli.parse(argc, argv);
    if (cli.get("sub").empty()) cli.fail("--sub is required");
    auto const alg = auth::algorithm_from_name(cli.get("alg"));
    if (!alg) cli.fail("unknown algorithm '" + cli.get("alg") + "'");
    long ttl = 0;
    try {
        ttl = std::stol(cli.get("ttl"));
    } catch (std::exception const&) {
        cli.fail("--ttl must be a number of seconds");
    }

    fs::path const dir = cli.get("keys-dir");
    if (!fs::exists(dir)) {
        fs::create_directories(dir);
        fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);  // private keys inside
    }
    bool const hmac = *alg == auth::Algorithm::hs256 || *alg == auth::Algorithm::hs384 || *alg == auth::Algorithm::hs512;
    std::optional<auth::Key> key;
    if (hmac) {
        fs::path const secret_file = cli.get("hs-secret-file").empty() ? dir / "hs-secret" : fs::path(cli.get("hs-secret-file"));
        if (!fs::exists(secret_file)) {
            write_private_file(secret_file, random_hex(64) + "\n");
            std::cerr << "generated an HMAC secret in " << secret_file << "\n";
        }
        key = auth::Key::hmac(read_secret(secret_file));
    } else {
        fs::path const pem = dir / (std::string("private-") + auth::algorithm_name(*alg) + ".pem");
        if (!fs::exists(pem)) {
            auth::Key fresh = auth::Key::generate(*alg, "dev-" + random_hex(4));
            write_private_file(pem, fresh.kid() + "\n" + fresh.private_pem());
            std::cerr << "generated a development key in " << pem << "\n";
        }
        std::string const text = read_file(pem);
        std::string const kid = text.substr(0, text.find('\n'));
        key = auth::Key::from_pem(text.substr(text.find('\n') + 1), kid).with_algorithm(*alg);
        // jwks.json: the public halves of every development key in the directory
        auth::KeySet set;
        for (auto const& entry : fs::directory_iterator(dir)) {
            auto const name = entry.path().filename().string();
            if (!name.starts_with("private-") || entry.path().extension() != ".pem") continue;
            std::string const t = read_file(entry.path());
            auto const a = auth::algorithm_from_name(name.substr(8, name.size() - 12));
            auth::Key k = auth::Key::from_pem(t.substr(t.find('\n') + 1), t.substr(0, t.find('\n')));
            set.add(a ? k.with_algorithm(*a) : k);
        }
        std::ofstream(dir / "jwks.json", std::ios::trunc) << set.to_jwks() << "\n";
    }

    auto const now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    boost::json::object claims{{"sub", cli.get("sub")}, {"iat", now}, {"exp", now + ttl}};
    if (!cli.get("issuer").empty()) claims["iss"] = cli.get("issuer");
    if (!cli.get("audience").empty()) claims["aud"] = cli.get("audience");
    if (!cli.get("scope").empty()) claims["scope"] = cli.get("scope");
    std::cout << auth::sign_jwt(claims, *key, *alg) << std::endl;
    return 0;
}
//]

}  // namespace

int main(int argc, char** argv) try {
    if (argc > 1 && std::string_view(argv[1]) == "issue-token") {
        try {
            return issue_token(argc - 1, argv + 1);
        } catch (std::exception const& e) {
            std::cerr << "auth_server issue-token: " << e.what() << "\n";
            return 1;
        }
    }

    std::vector<std::string> const allowed_origins = take_allowed_origins(argc, argv, "CHATKIT_AUTH_ALLOWED_ORIGINS");
    examples::Cli cli("auth_server",
                      "A JWT-protected ChatKit backend: threads in SQLite, one partition per token issuer + `sub`.\n"
                      "Development tokens: auth_server issue-token --sub alice (see issue-token --help).");
    cli.listener_options()
        .option("db", "CHATKIT_DB", "./auth_server.db", "an SQLite database file or a postgresql:// URL")
        .option("uploads-dir", "CHATKIT_UPLOADS_DIR", "",
                "keep attachment bytes in DIR, serve the authenticated /attachments upload routes and sweep "
                "abandoned uploads every 10 minutes")
        .option("jwks-file", "CHATKIT_AUTH_JWKS_FILE", "", "JWK Set file with the verification keys")
        .option("jwks-url", "CHATKIT_AUTH_JWKS_URL", "", "JWK Set URL (https), cached and refreshed")
        .option("issuer", "CHATKIT_AUTH_ISSUER", "chatkit-dev", "required iss (empty: any iss; not recommended)")
        .option("audience", "CHATKIT_AUTH_AUDIENCE", "chatkit", "required aud (empty: tokens carrying aud are refused)")
        .option("algorithms", "CHATKIT_AUTH_ALGORITHMS", "RS256,PS256,ES256,EdDSA", "allowed algorithms")
        .option("cookie-name", "CHATKIT_AUTH_COOKIE", "", "also accept the token in this (httpOnly) cookie")
        .option("allowed-origin", "CHATKIT_AUTH_ALLOWED_ORIGINS", "",
                "an Origin (scheme://host[:port]) allowed to POST with the cookie besides the server's own; repeatable "
                "(env: comma-separated)")
        .option("hs-secret-file", "CHATKIT_AUTH_HS_SECRET_FILE", "", "shared secret for HS256/384/512 tokens")
        .option("leeway", "CHATKIT_AUTH_LEEWAY", "60", "clock skew allowed on exp/nbf/iat, seconds (0-300)")
        .flag("allow-http-jwks", "CHATKIT_AUTH_ALLOW_HTTP_JWKS", "allow an http:// --jwks-url (local development only)");
    cli.parse(argc, argv);

    //[configure_verifier
    auth::JwtVerifier verifier;
    try {
        verifier.allow(cli.get("algorithms"));
        if (!cli.get("issuer").empty()) verifier.issuer(cli.get("issuer"));
        if (!cli.get("audience").empty()) verifier.audience(cli.get("audience"));
        verifier.leeway(std::chrono::seconds(std::stoi(cli.get("leeway"))));
        if (!cli.get("hs-secret-file").empty()) {
            verifier.add_key(auth::Key::hmac(read_secret(cli.get("hs-secret-file"))));
            verifier.allow(auth::Algorithm::hs256);
        }
        if (!cli.get("jwks-file").empty()) {
            std::vector<std::string> skipped;
            auth::KeySet const keys = auth::KeySet::from_jwks(read_file(cli.get("jwks-file")), &skipped);
            for (auto const& key : keys.keys()) verifier.add_key(key);
            for (auto const& s : skipped) std::cerr << "jwks-file: skipped " << s << "\n";
            // A JWK Set rotates keys: every token must name its key (kid-less HS tokens of
            // --hs-secret-file keep working when both are given).
            if (cli.get("hs-secret-file").empty()) verifier.require_key_id(true);
        }
        if (!cli.get("jwks-url").empty()) verifier.require_key_id(true);
    } catch (std::exception const& e) {
        cli.fail(e.what());
    }
    //]
    bool const has_static_keys = !cli.get("hs-secret-file").empty() || !cli.get("jwks-file").empty();
    if (!has_static_keys && cli.get("jwks-url").empty())
        cli.fail("no keys: give --jwks-file, --jwks-url or --hs-secret-file (try: auth_server issue-token --sub alice)");
    if (has_static_keys && !cli.get("jwks-url").empty()) cli.fail("--jwks-url cannot be combined with --jwks-file/--hs-secret-file");
    if (cli.get("issuer").empty() || cli.get("audience").empty())
        std::cerr << "warning: without --issuer and --audience, any token signed by these keys is accepted\n";

    auto const store = examples::open_store<auth_server::Context>(cli.get("db"), auth_server::owner_of);
    // Attachments: local files behind authenticated /attachments routes with --uploads-dir, else
    // upload URLs handed out for an external object store.
    auth_server::Attachments external_attachments(*store.store);
    std::unique_ptr<LocalAttachmentStore<auth_server::Context>> local_attachments;
    if (!cli.get("uploads-dir").empty()) {
        LocalAttachmentOptions files;
        files.directory = cli.get("uploads-dir");
        local_attachments = std::make_unique<LocalAttachmentStore<auth_server::Context>>(std::move(files), auth_server::owner_of);
    }
    AttachmentStore<auth_server::Context>* const attachments =
        local_attachments ? static_cast<AttachmentStore<auth_server::Context>*>(local_attachments.get()) : &external_attachments;
    auth_server::Assistant app({.store = *store.store, .attachments = attachments, .logger = Logger::stderr_logger(LogLevel::warning)});

    http::ServerOptions options = cli.server_options();
    auth::BearerOptions bearer;
    bearer.cookie_name = cli.get("cookie-name");
    bearer.allowed_origins = allowed_origins;
    // The server is built before the authenticator so the JWKS cache can run on its io_context.
    std::shared_ptr<auth::BearerAuthenticator const> authenticator;
    //[context_factory
    // 401 (with WWW-Authenticate) before any work when the token is missing or invalid; the
    // context carries the caller, the claims, the page context and chosen headers.
    auto factory = [&authenticator](http::RequestInfo const& request) {
        auth_server::Context ctx;
        ctx.claims = authenticator->authenticate(request);
        ctx.user_id = ctx.claims.subject;
        ctx.owner_key = ctx.claims.tenant_key();  // the store partition: issuer + sub
        ctx.page = auth::page_context(request);
        ctx.headers = auth::chosen_headers(request, {"X-Request-Id"});
        return ctx;
    };
    //]
    //[header_check
    // The token is checked on the header, before the body is read: an unauthenticated client
    // is answered 401 without the server buffering its body. The factory reuses the claims.
    options.header_check = [&authenticator](http::RequestInfo const& request) { return authenticator->admit(request); };
    //]
    http::Server<auth_server::Context> server(app, options, factory);
    //[jwks_cache
    std::shared_ptr<auth::JwksCache> jwks;
    if (!cli.get("jwks-url").empty()) {
        auth::JwksOptions jwks_options;
        jwks_options.url = cli.get("jwks-url");
        jwks_options.allow_http = cli.is_set("allow-http-jwks");
        jwks_options.transport = std::make_shared<http::HttpClient>();
        jwks = std::make_shared<auth::JwksCache>(server.context().get_executor(), jwks_options);
        jwks->refresh_in_background();  // warm the cache before the first request
        authenticator = std::make_shared<auth::BearerAuthenticator const>(verifier, jwks, bearer);
    } else {
        authenticator = std::make_shared<auth::BearerAuthenticator const>(verifier, bearer);
    }
    //]
    // Uploads and previews authenticated like ChatKit requests; abandoned uploads swept in their
    // owner's partition (the owner key is all SqliteStore needs of the context).
    if (local_attachments)
        http::mount_attachments(server, *local_attachments, *store.store,
                                {.context_of_owner = [](std::string const& owner) {
                                    auth_server::Context ctx;
                                    ctx.owner_key = owner;
                                    return ctx;
                                }});
    server.start();  // binds (throws if it cannot), so the lines below can give the URL
    std::cerr << "store: " << store.description << ", one partition per token issuer + sub\n"
              << "ChatKit endpoint: POST " << server.url() << options.chatkit_path
              << " (Authorization: Bearer <token>" << (bearer.cookie_name.empty() ? "" : " or cookie " + bearer.cookie_name)
              << "); stop with Ctrl-C" << std::endl;
    server.run_until_signal();  // prints "listening on http://HOST:PORT" (the first stdout line); Ctrl-C stops it
    std::cerr << "auth_server: stopped\n";
    return 0;
} catch (std::exception const& e) {
    std::cerr << "auth_server: " << e.what() << "\n";
    return 1;
}
