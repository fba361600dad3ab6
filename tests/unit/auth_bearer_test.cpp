// Bearer-token extraction (Authorization header or cookie), RFC 6750 answers, scopes, and the
// request-context helpers (page context from metadata, chosen headers).
#include "auth_test_keys.hpp"

#include <chatkit/http/bearer.hpp>
#include <chatkit/protocol/json.hpp>

#include <boost/beast/http/fields.hpp>

using namespace authtest;
namespace beast = boost::beast;
namespace http = chatkit::http;

namespace {

struct Req {
    beast::http::fields fields;
    chatkit::ChatKitRequest request = chatkit::parse_request(R"({"type":"threads.list","params":{}})");
    http::RequestInfo info() const {
        http::RequestInfo i;
        i.method = beast::http::verb::post;
        i.target = "/chatkit";
        i.fields = &fields;
        i.request = &request;
        return i;
    }
};

/// The non-throwing form's code, after checking the throwing form throws the same code (or nothing).
template <class F>
boost::system::error_code both_forms(F const& f) {
    boost::system::error_code ec;
    f(&ec);
    try {
        f(nullptr);
        if (ec) FAIL("the throwing form succeeded where the other failed with " << ec.message());
    } catch (Error const& e) {
        CHECK(e.code() == ec);
    }
    return ec;
}

boost::system::error_code token_error(http::RequestInfo const& info, BearerOptions const& o) {
    return both_forms([&](boost::system::error_code* ec) { ec ? (void)extract_token(info, o, *ec) : (void)extract_token(info, o); });
}

boost::system::error_code cookie_check(http::RequestInfo const& info, BearerOptions const& o) {
    return both_forms(
        [&](boost::system::error_code* ec) { ec ? check_cookie_request(info, o, *ec) : check_cookie_request(info, o); });
}

std::string extracted(Req const& r, BearerOptions const& o) {
    boost::system::error_code ec;
    auto const t = extract_token(r.info(), o, ec);
    return ec ? "error:" + ec.message() : std::string(t);
}

/// Why `auth` refuses the request (the non-throwing form), empty when it accepts it.
boost::system::error_code refusal(BearerAuthenticator const& auth, http::RequestInfo const& info) {
    boost::system::error_code ec;
    (void)auth.authenticate(info, ec);
    return ec;
}

unsigned status_of(Error const& e) { return chatkit::http_status(e.code()); }

}  // namespace

TEST_CASE("the token comes from Authorization: Bearer, else from the named cookie", "[auth][bearer]") {
    BearerOptions header_only;
    BearerOptions with_cookie;
    with_cookie.cookie_name = "ck_token";
    Req r;
    CHECK(token_error(r.info(), header_only) == make_error_code(error::missing_token));
    r.fields.set(beast::http::field::authorization, "Bearer abc.def.ghi");
    CHECK(extracted(r, header_only) == "abc.def.ghi");
    r.fields.set(beast::http::field::authorization, "bearer   abc.def.ghi ");
    CHECK(extracted(r, header_only) == "abc.def.ghi");
    for (char const* bad : {"Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearer a b", "Bearer a\"b", "Token abc", "Bearerabc"}) {
        INFO(bad);
        r.fields.set(beast::http::field::authorization, bad);
        CHECK(token_error(r.info(), header_only) == make_error_code(error::invalid_authorization_header));
    }
    Req c;
    c.fields.set(beast::http::field::cookie, "theme=dark; ck_token=abc.def.ghi; other=1");
    CHECK(token_error(c.info(), header_only) == make_error_code(error::missing_token));
    CHECK(extracted(c, with_cookie) == "abc.def.ghi");
    c.fields.set(beast::http::field::authorization, "Bearer hdr.tok.en");
    CHECK(extracted(c, with_cookie) == "hdr.tok.en");  // the header wins
    BearerOptions cookie_only = with_cookie;
    cookie_only.use_authorization_header = false;
    CHECK(extracted(c, cookie_only) == "abc.def.ghi");
    Req bad_cookie;
    bad_cookie.fields.set(beast::http::field::cookie, "ck_token=a,b");
    CHECK(token_error(bad_cookie.info(), with_cookie) == make_error_code(error::invalid_authorization_header));
}

TEST_CASE("rejections follow RFC 6750", "[auth][bearer]") {
    BearerOptions o;
    o.realm = "chat \"app\"";
    auto missing = unauthorized(error::missing_token, o);
    CHECK(status_of(missing) == 401);
    CHECK(missing.code() == make_error_code(error::missing_token));
    CHECK(chatkit::client_message(missing) == "Authentication required");
    CHECK(missing.www_authenticate() == R"(Bearer realm="chat \"app\"")");
    auto malformed = unauthorized(error::invalid_authorization_header, o);
    CHECK(status_of(malformed) == 401);
    CHECK(chatkit::client_message(malformed) == "Malformed Authorization header");
    CHECK(malformed.www_authenticate() ==
          R"(Bearer realm="chat \"app\"", error="invalid_request", error_description="malformed Authorization header")");
    for (error e : {error::invalid_signature, error::token_expired, error::audience_mismatch, error::algorithm_not_allowed}) {
        auto h = unauthorized(e, o);
        CHECK(status_of(h) == 401);
        CHECK(h.code() == make_error_code(e));  // the precise reason stays in the code
        CHECK(std::string(chatkit::client_code(h.code())) == "unauthorized");
        std::string const text = e == error::token_expired ? "The access token expired" : "The access token is invalid";
        CHECK(chatkit::client_message(h) == text);
        CHECK(h.www_authenticate() ==
              R"(Bearer realm="chat \"app\"", error="invalid_token", error_description=")" + text + "\"");
    }
    // a verification failure that is no 401 of its own, or a foreign code: the generic 401
    for (boost::system::error_code why : {make_error_code(error::weak_key), make_error_code(error::not_found),
                                          make_error_code(boost::system::errc::io_error)}) {
        auto h = unauthorized(why, o);
        CHECK(h.code() == make_error_code(error::unauthorized));
        CHECK(status_of(h) == 401);
        CHECK(chatkit::client_message(h) == "The access token is invalid");
        CHECK(h.www_authenticate().find(R"(error="invalid_token")") != std::string::npos);
    }
    auto unavailable = unauthorized(error::jwks_unavailable, o);
    CHECK(status_of(unavailable) == 503);
    CHECK(std::string(chatkit::client_code(unavailable.code())) == "unavailable");
    CHECK(chatkit::client_message(unavailable) == "Authentication is temporarily unavailable");
    CHECK(unavailable.www_authenticate().empty());
    auto f = forbidden(o, "chat:write");
    CHECK(status_of(f) == 403);
    CHECK(f.code() == make_error_code(error::forbidden));
    CHECK(chatkit::client_message(f) == "Not allowed");
    CHECK(f.www_authenticate().find(R"(error="insufficient_scope", scope="chat:write")") != std::string::npos);
}

TEST_CASE("BearerAuthenticator verifies the request's token or throws 401", "[auth][bearer]") {
    BearerOptions o;
    o.cookie_name = "session";
    auto auth = std::make_shared<BearerAuthenticator const>(verifier_for({Algorithm::es256}), o);
    Req r;
    r.fields.set(beast::http::field::authorization, "Bearer " + token(good_claims(), Algorithm::es256));
    CHECK(auth->authenticate(r.info()).subject == "alice");
    Req expired;
    json::object c = good_claims();
    c["exp"] = now_s - 3600;
    expired.fields.set(beast::http::field::cookie, "session=" + token(c, Algorithm::es256));
    expired.fields.set(beast::http::field::host, "chat.test");
    expired.fields.set(beast::http::field::origin, "http://chat.test");  // same origin: passes the CSRF check
    expired.fields.set(beast::http::field::content_type, "application/json");
    CHECK(refusal(*auth, expired.info()) == make_error_code(error::token_expired));
    try {
        (void)auth->authenticate(expired.info());
        FAIL("expired token accepted");
    } catch (http::ChallengeError const& e) {
        CHECK(e.code() == make_error_code(error::token_expired));
        CHECK(status_of(e) == 401);
        CHECK(e.www_authenticate().find("invalid_token") != std::string::npos);
        CHECK(e.www_authenticate().find(token(c, Algorithm::es256)) == std::string::npos);
    }
    // the ready-made factory
    Req page;
    page.fields.set(beast::http::field::authorization, "Bearer " + token(good_claims(), Algorithm::es256));
    page.fields.set("X-Request-Id", "req-1");
    page.request = chatkit::parse_request(
        R"({"type":"threads.list","params":{},"metadata":{"page":{"url":"https://app.test/docs","title":"Docs","headings":["A","B"]}}})");
    auto factory = auth_context_factory(auth, {"X-Request-Id", "Accept-Language"});
    AuthContext ctx = factory(page.info());
    CHECK(ctx.user_id == "alice");
    CHECK(ctx.owner_key == "https://issuer.test|alice");
    CHECK(ctx.page.title == "Docs");
    CHECK(ctx.page.headings.size() == 2);
    CHECK(ctx.headers.size() == 1);
    CHECK(ctx.headers.at("X-Request-Id") == "req-1");
    CHECK_THROWS_AS(factory(Req{}.info()), http::ChallengeError);
}

TEST_CASE("scopes grant access; a valid caller without them gets 403", "[auth][bearer]") {
    JwtVerifier v = verifier_for({Algorithm::hs256});
    json::object c = good_claims();
    c["scope"] = "chat:read chat:write";
    Claims const claims = v.verify(token(c, Algorithm::hs256));
    CHECK_NOTHROW(require_scope(claims, "chat:write"));
    try {
        require_scope(claims, "admin");
        FAIL("scope granted");
    } catch (http::ChallengeError const& e) {
        CHECK(status_of(e) == 403);
        CHECK(e.www_authenticate().find(R"(scope="admin")") != std::string::npos);
    }
    c.erase("scope");
    c["permissions"] = json::array{"admin"};
    CHECK_NOTHROW(require_scope(v.verify(token(c, Algorithm::hs256)), "admin"));
}

TEST_CASE("page context comes from metadata.page, typed and size-capped", "[auth][context]") {
    Req r;
    std::string const long_title(5000, 't');
    json::array headings;
    for (int i = 0; i < 100; ++i) headings.push_back(json::string(std::string(300, 'h')));
    headings.push_back(42);
    json::object page{{"url", "https://app.test/p"}, {"title", long_title}, {"path", 7}, {"description", "d\u00e9j\u00e0"},
                      {"headings", headings}};
    json::object body{{"type", "threads.list"}, {"params", json::object{}}, {"metadata", json::object{{"page", page}}}};
    r.request = chatkit::parse_request(json::serialize(body));
    PageContextLimits limits;
    limits.max_field_bytes = 100;
    limits.max_headings = 5;
    limits.max_heading_bytes = 10;
    PageContext const p = page_context(r.info(), limits);
    CHECK(p.url == "https://app.test/p");
    CHECK(p.title.size() == 100);
    CHECK(p.path.empty());
    CHECK(p.description == "d\u00e9j\u00e0");
    REQUIRE(p.headings.size() == 5);
    CHECK(p.headings[0].size() == 10);
    CHECK(p.to_prompt().find("https://app.test/p") != std::string::npos);
    // a multi-byte character is never cut in half
    json::object p2{{"title", "\u00e9\u00e9\u00e9"}};
    r.request = chatkit::parse_request(json::serialize(json::object{
        {"type", "threads.list"}, {"params", json::object{}}, {"metadata", json::object{{"page", p2}}}}));
    limits.max_field_bytes = 5;
    CHECK(page_context(r.info(), limits).title == "\u00e9\u00e9");
    // absent or wrong type: empty
    r.request = chatkit::parse_request(R"({"type":"threads.list","params":{},"metadata":{"page":"x"}})");
    CHECK(page_context(r.info()).empty());
    CHECK(page_context(Req{}.info()).to_prompt().empty());
}

TEST_CASE("two Authorization headers or two auth cookies are ambiguous (400), never first-wins", "[auth][bearer][duplicate]") {
    BearerOptions o;
    o.cookie_name = "ck";
    Req two;
    two.fields.insert(beast::http::field::authorization, "Bearer aaa.bbb.ccc");
    two.fields.insert(beast::http::field::authorization, "Bearer ddd.eee.fff");
    CHECK(token_error(two.info(), o) == make_error_code(error::ambiguous_credentials));
    Req same;  // even the same value twice
    same.fields.insert(beast::http::field::authorization, "Bearer aaa.bbb.ccc");
    same.fields.insert(beast::http::field::authorization, "Bearer aaa.bbb.ccc");
    CHECK(token_error(same.info(), o) == make_error_code(error::ambiguous_credentials));
    Req cookies;
    cookies.fields.set(beast::http::field::cookie, "ck=aaa.bbb.ccc; theme=dark; ck=ddd.eee.fff");
    CHECK(token_error(cookies.info(), o) == make_error_code(error::ambiguous_credentials));
    Req split;  // across two Cookie fields
    split.fields.insert(beast::http::field::cookie, "ck=aaa.bbb.ccc");
    split.fields.insert(beast::http::field::cookie, "ck=ddd.eee.fff");
    CHECK(token_error(split.info(), o) == make_error_code(error::ambiguous_credentials));
    Req one;  // other cookies with similar names do not count
    one.fields.set(beast::http::field::cookie, "ck2=x; xck=y; ck=aaa.bbb.ccc");
    CHECK(extracted(one, o) == "aaa.bbb.ccc");
    auto const answer = unauthorized(error::ambiguous_credentials, o);
    CHECK(status_of(answer) == 400);
    CHECK(std::string(chatkit::client_code(answer.code())) == "invalid_request");
    CHECK(chatkit::client_message(answer) == "More than one credential in the request");
    CHECK(answer.www_authenticate().empty());
    // through the authenticator
    auto auth = std::make_shared<BearerAuthenticator const>(verifier_for({Algorithm::es256}), o);
    two.fields.clear();
    two.fields.insert(beast::http::field::authorization, "Bearer " + token(good_claims(), Algorithm::es256));
    two.fields.insert(beast::http::field::authorization, "Bearer " + token(good_claims(), Algorithm::es256));
    try {
        (void)auth->authenticate(two.info());
        FAIL("two Authorization headers accepted");
    } catch (http::ChallengeError const& e) {
        CHECK(e.code() == make_error_code(error::ambiguous_credentials));
        CHECK(status_of(e) == 400);
    }
}

TEST_CASE("a cookie-borne token on a state-changing request needs an allowed Origin and a JSON body", "[auth][bearer][csrf]") {
    BearerOptions o;
    o.cookie_name = "ck";
    o.allowed_origins = {"https://app.example", "https://other.example/"};
    auto info_of = [](Req& r, beast::http::verb method, std::string_view target) {
        http::RequestInfo i = r.info();
        i.method = method;
        i.target = target;
        return i;
    };
    auto make = [](std::string_view origin, std::string_view type) {
        Req r;
        r.fields.set(beast::http::field::host, "chat.test:8000");
        if (!origin.empty()) r.fields.set(beast::http::field::origin, origin);
        if (!type.empty()) r.fields.set(beast::http::field::content_type, type);
        return r;
    };
    auto const refused = make_error_code(error::cross_site_request);
    using beast::http::verb;
    {
        Req r = make("https://app.example", "application/json");
        CHECK_FALSE(cookie_check(r.info(), o));
        r.fields.set(beast::http::field::content_type, "Application/JSON; charset=utf-8");
        CHECK_FALSE(cookie_check(r.info(), o));
    }
    CHECK_FALSE(cookie_check(make("https://APP.example", "application/json").info(), o));
    CHECK_FALSE(cookie_check(make("https://other.example", "application/json").info(), o));  // trailing / in config
    CHECK_FALSE(cookie_check(make("http://chat.test:8000", "application/json").info(), o));  // own origin (Host)
    CHECK(cookie_check(make("http://chat.test", "application/json").info(), o) == refused);  // other port
    CHECK(cookie_check(make("https://evil.example", "application/json").info(), o) == refused);
    CHECK(cookie_check(make("https://app.example.evil.example", "application/json").info(), o) == refused);
    CHECK(cookie_check(make("null", "application/json").info(), o) == refused);
    CHECK(cookie_check(make("", "application/json").info(), o) == refused);  // no Origin
    for (char const* type : {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""}) {
        INFO(type);
        CHECK(cookie_check(make("https://app.example", type).info(), o) == refused);
    }
    {
        Req two = make("https://app.example", "application/json");
        two.fields.insert(beast::http::field::origin, "https://evil.example");
        CHECK(cookie_check(two.info(), o) == refused);
    }
    // multipart only for uploads (POST /attachments...)
    Req upload = make("https://app.example", "multipart/form-data; boundary=x");
    CHECK_FALSE(cookie_check(info_of(upload, verb::post, "/attachments"), o));
    CHECK_FALSE(cookie_check(info_of(upload, verb::post, "/attachments/att_1/upload?x=1"), o));
    CHECK(cookie_check(info_of(upload, verb::post, "/attachmentsx"), o) == refused);
    CHECK(cookie_check(info_of(upload, verb::put, "/attachments/att_1/upload"), o) == refused);
    Req evil_upload = make("https://evil.example", "multipart/form-data; boundary=x");
    CHECK(cookie_check(info_of(evil_upload, verb::post, "/attachments"), o) == refused);
    // every state-changing method is checked; safe methods pass
    Req evil = make("https://evil.example", "text/plain");
    for (verb m : {verb::put, verb::patch, verb::delete_}) CHECK(cookie_check(info_of(evil, m, "/chatkit"), o) == refused);
    for (verb m : {verb::get, verb::head, verb::options}) CHECK_FALSE(cookie_check(info_of(evil, m, "/attachments/a"), o));
    CHECK(status_of(unauthorized(refused, o)) == 403);
    CHECK(chatkit::client_message(unauthorized(refused, o)) ==
          "Cross-site request refused: cookie credentials need an allowed Origin and a JSON body");

    // the authenticator applies it to cookies only
    auto auth = std::make_shared<BearerAuthenticator const>(verifier_for({Algorithm::es256}), o);
    std::string const good = token(good_claims(), Algorithm::es256);
    Req cookie = make("https://evil.example", "text/plain");
    cookie.fields.set(beast::http::field::cookie, "ck=" + good);
    CHECK(refusal(*auth, cookie.info()) == refused);
    try {
        (void)auth->authenticate(cookie.info());
        FAIL("cross-site cookie request accepted");
    } catch (http::ChallengeError const& e) {
        CHECK(status_of(e) == 403);
    }
    cookie.fields.set(beast::http::field::origin, "https://app.example");
    cookie.fields.set(beast::http::field::content_type, "application/json");
    CHECK_FALSE(refusal(*auth, cookie.info()));
    Req header = make("https://evil.example", "text/plain");
    header.fields.set(beast::http::field::authorization, "Bearer " + good);
    CHECK_FALSE(refusal(*auth, header.info()));
    Req bare;  // no Origin, no Host, no Content-Type: fine for a header token
    bare.fields.set(beast::http::field::authorization, "Bearer " + good);
    CHECK_FALSE(refusal(*auth, bare.info()));
}
