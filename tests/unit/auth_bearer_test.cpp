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

std::string extracted(Req const& r, BearerOptions const& o) {
    auto t = extract_token(r.info(), o);
    return t ? std::string(*t) : "error:" + t.error().message();
}

}  // namespace

TEST_CASE("the token comes from Authorization: Bearer, else from the named cookie", "[auth][bearer]") {
    BearerOptions header_only;
    BearerOptions with_cookie;
    with_cookie.cookie_name = "ck_token";
    Req r;
    CHECK(extract_token(r.info(), header_only).error() == make_error_code(auth_error::missing_token));
    r.fields.set(beast::http::field::authorization, "Bearer abc.def.ghi");
    CHECK(extracted(r, header_only) == "abc.def.ghi");
    r.fields.set(beast::http::field::authorization, "bearer   abc.def.ghi ");
    CHECK(extracted(r, header_only) == "abc.def.ghi");
    for (char const* bad : {"Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearer a b", "Bearer a\"b", "Token abc", "Bearerabc"}) {
        INFO(bad);
        r.fields.set(beast::http::field::authorization, bad);
        CHECK(extract_token(r.info(), header_only).error() == make_error_code(auth_error::invalid_authorization_header));
    }
    Req c;
    c.fields.set(beast::http::field::cookie, "theme=dark; ck_token=abc.def.ghi; other=1");
    CHECK(extract_token(c.info(), header_only).error() == make_error_code(auth_error::missing_token));
    CHECK(extracted(c, with_cookie) == "abc.def.ghi");
    c.fields.set(beast::http::field::authorization, "Bearer hdr.tok.en");
    CHECK(extracted(c, with_cookie) == "hdr.tok.en");  // the header wins
    BearerOptions cookie_only = with_cookie;
    cookie_only.use_authorization_header = false;
    CHECK(extracted(c, cookie_only) == "abc.def.ghi");
    Req bad_cookie;
    bad_cookie.fields.set(beast::http::field::cookie, "ck_token=a,b");
    CHECK(extract_token(bad_cookie.info(), with_cookie).error() == make_error_code(auth_error::invalid_authorization_header));
}

TEST_CASE("rejections follow RFC 6750", "[auth][bearer]") {
    BearerOptions o;
    o.realm = "chat \"app\"";
    auto missing = unauthorized(auth_error::missing_token, o);
    CHECK(missing.status() == 401);
    CHECK(missing.www_authenticate() == R"(Bearer realm="chat \"app\"")");
    auto malformed = unauthorized(auth_error::invalid_authorization_header, o);
    CHECK(malformed.status() == 401);
    CHECK(malformed.www_authenticate().find(R"(error="invalid_request")") != std::string::npos);
    for (auth_error e : {auth_error::invalid_signature, auth_error::token_expired, auth_error::audience_mismatch,
                         auth_error::algorithm_not_allowed}) {
        auto h = unauthorized(e, o);
        CHECK(h.status() == 401);
        CHECK(h.www_authenticate().find(R"(error="invalid_token")") != std::string::npos);
    }
    CHECK(unauthorized(auth_error::jwks_unavailable, o).status() == 503);
    auto f = forbidden(o, "chat:write");
    CHECK(f.status() == 403);
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
    CHECK(auth->try_authenticate(expired.info()).error() == make_error_code(auth_error::token_expired));
    try {
        (void)auth->authenticate(expired.info());
        FAIL("expired token accepted");
    } catch (http::HttpError const& e) {
        CHECK(e.status() == 401);
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
    CHECK_THROWS_AS(factory(Req{}.info()), http::HttpError);
}

TEST_CASE("scopes grant access; a valid caller without them gets 403", "[auth][bearer]") {
    JwtVerifier v = verifier_for({Algorithm::hs256});
    json::object c = good_claims();
    c["scope"] = "chat:read chat:write";
    Claims const claims = v.verify(token(c, Algorithm::hs256)).value();
    CHECK_NOTHROW(require_scope(claims, "chat:write"));
    try {
        require_scope(claims, "admin");
        FAIL("scope granted");
    } catch (http::HttpError const& e) {
        CHECK(e.status() == 403);
    }
    c.erase("scope");
    c["permissions"] = json::array{"admin"};
    CHECK_NOTHROW(require_scope(v.verify(token(c, Algorithm::hs256)).value(), "admin"));
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
    CHECK(extract_token(two.info(), o).error() == make_error_code(auth_error::ambiguous_credentials));
    Req same;  // even the same value twice
    same.fields.insert(beast::http::field::authorization, "Bearer aaa.bbb.ccc");
    same.fields.insert(beast::http::field::authorization, "Bearer aaa.bbb.ccc");
    CHECK(extract_token(same.info(), o).error() == make_error_code(auth_error::ambiguous_credentials));
    Req cookies;
    cookies.fields.set(beast::http::field::cookie, "ck=aaa.bbb.ccc; theme=dark; ck=ddd.eee.fff");
    CHECK(extract_token(cookies.info(), o).error() == make_error_code(auth_error::ambiguous_credentials));
    Req split;  // across two Cookie fields
    split.fields.insert(beast::http::field::cookie, "ck=aaa.bbb.ccc");
    split.fields.insert(beast::http::field::cookie, "ck=ddd.eee.fff");
    CHECK(extract_token(split.info(), o).error() == make_error_code(auth_error::ambiguous_credentials));
    Req one;  // other cookies with similar names do not count
    one.fields.set(beast::http::field::cookie, "ck2=x; xck=y; ck=aaa.bbb.ccc");
    CHECK(extracted(one, o) == "aaa.bbb.ccc");
    auto const answer = unauthorized(auth_error::ambiguous_credentials, o);
    CHECK(answer.status() == 400);
    // through the authenticator
    auto auth = std::make_shared<BearerAuthenticator const>(verifier_for({Algorithm::es256}), o);
    two.fields.clear();
    two.fields.insert(beast::http::field::authorization, "Bearer " + token(good_claims(), Algorithm::es256));
    two.fields.insert(beast::http::field::authorization, "Bearer " + token(good_claims(), Algorithm::es256));
    try {
        (void)auth->authenticate(two.info());
        FAIL("two Authorization headers accepted");
    } catch (http::HttpError const& e) {
        CHECK(e.status() == 400);
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
    auto const refused = make_error_code(auth_error::cross_site_request);
    using beast::http::verb;
    {
        Req r = make("https://app.example", "application/json");
        CHECK_FALSE(check_cookie_request(r.info(), o));
        r.fields.set(beast::http::field::content_type, "Application/JSON; charset=utf-8");
        CHECK_FALSE(check_cookie_request(r.info(), o));
    }
    CHECK_FALSE(check_cookie_request(make("https://APP.example", "application/json").info(), o));
    CHECK_FALSE(check_cookie_request(make("https://other.example", "application/json").info(), o));  // trailing / in config
    CHECK_FALSE(check_cookie_request(make("http://chat.test:8000", "application/json").info(), o));  // own origin (Host)
    CHECK(check_cookie_request(make("http://chat.test", "application/json").info(), o) == refused);  // other port
    CHECK(check_cookie_request(make("https://evil.example", "application/json").info(), o) == refused);
    CHECK(check_cookie_request(make("https://app.example.evil.example", "application/json").info(), o) == refused);
    CHECK(check_cookie_request(make("null", "application/json").info(), o) == refused);
    CHECK(check_cookie_request(make("", "application/json").info(), o) == refused);  // no Origin
    for (char const* type : {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""}) {
        INFO(type);
        CHECK(check_cookie_request(make("https://app.example", type).info(), o) == refused);
    }
    {
        Req two = make("https://app.example", "application/json");
        two.fields.insert(beast::http::field::origin, "https://evil.example");
        CHECK(check_cookie_request(two.info(), o) == refused);
    }
    // multipart only for uploads (POST /attachments...)
    Req upload = make("https://app.example", "multipart/form-data; boundary=x");
    CHECK_FALSE(check_cookie_request(info_of(upload, verb::post, "/attachments"), o));
    CHECK_FALSE(check_cookie_request(info_of(upload, verb::post, "/attachments/att_1/upload?x=1"), o));
    CHECK(check_cookie_request(info_of(upload, verb::post, "/attachmentsx"), o) == refused);
    CHECK(check_cookie_request(info_of(upload, verb::put, "/attachments/att_1/upload"), o) == refused);
    Req evil_upload = make("https://evil.example", "multipart/form-data; boundary=x");
    CHECK(check_cookie_request(info_of(evil_upload, verb::post, "/attachments"), o) == refused);
    // every state-changing method is checked; safe methods pass
    Req evil = make("https://evil.example", "text/plain");
    for (verb m : {verb::put, verb::patch, verb::delete_}) CHECK(check_cookie_request(info_of(evil, m, "/chatkit"), o) == refused);
    for (verb m : {verb::get, verb::head, verb::options}) CHECK_FALSE(check_cookie_request(info_of(evil, m, "/attachments/a"), o));
    CHECK(unauthorized(refused, o).status() == 403);

    // the authenticator applies it to cookies only
    auto auth = std::make_shared<BearerAuthenticator const>(verifier_for({Algorithm::es256}), o);
    std::string const good = token(good_claims(), Algorithm::es256);
    Req cookie = make("https://evil.example", "text/plain");
    cookie.fields.set(beast::http::field::cookie, "ck=" + good);
    CHECK(auth->try_authenticate(cookie.info()).error() == refused);
    try {
        (void)auth->authenticate(cookie.info());
        FAIL("cross-site cookie request accepted");
    } catch (http::HttpError const& e) {
        CHECK(e.status() == 403);
    }
    cookie.fields.set(beast::http::field::origin, "https://app.example");
    cookie.fields.set(beast::http::field::content_type, "application/json");
    CHECK(auth->try_authenticate(cookie.info()).has_value());
    Req header = make("https://evil.example", "text/plain");
    header.fields.set(beast::http::field::authorization, "Bearer " + good);
    CHECK(auth->try_authenticate(header.info()).has_value());
    Req bare;  // no Origin, no Host, no Content-Type: fine for a header token
    bare.fields.set(beast::http::field::authorization, "Bearer " + good);
    CHECK(auth->try_authenticate(bare.info()).has_value());
}
