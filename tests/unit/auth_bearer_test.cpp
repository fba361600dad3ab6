// Bearer-token extraction (Authorization header or cookie), RFC 6750 answers, scopes, and the
// request-context helpers (page context from metadata, chosen headers).
#include "auth_test_keys.hpp"

#include <chatkit/auth/bearer.hpp>
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
