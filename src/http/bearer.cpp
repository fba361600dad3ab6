// chatkit-cpp auth: bearer-token extraction, RFC 6750 challenges and request-context helpers.
#include <chatkit/http/bearer.hpp>

#include <chatkit/protocol/requests.hpp>

#include <boost/beast/http/field.hpp>

#include <cctype>

namespace chatkit::auth {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
    return true;
}

/// RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
bool is_b64token(std::string_view t) {
    if (t.empty()) return false;
    std::size_t i = 0;
    for (; i < t.size(); ++i) {
        char const c = t[i];
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' ||
              c == '/'))
            break;
    }
    if (i == 0) return false;
    for (; i < t.size(); ++i)
        if (t[i] != '=') return false;
    return true;
}

std::string quote_param(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) out += c;
    }
    out += '"';
    return out;
}

std::size_t utf8_cut(std::string_view s, std::size_t max) {
    if (s.size() <= max) return s.size();
    std::size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    return n;
}

std::string capped(boost::json::object const& o, std::string_view name, std::size_t max) {
    auto const* v = o.if_contains(name);
    if (!v || !v->is_string()) return {};
    std::string_view s = v->get_string();
    return std::string(s.substr(0, utf8_cut(s, max)));
}

std::string_view strip_slash(std::string_view s) {
    while (!s.empty() && s.back() == '/') s.remove_suffix(1);
    return s;
}

/// How many `name` header fields the request has; `first` gets the first one's value.
std::size_t field_count(http::RequestInfo const& request, boost::beast::http::field name, std::string_view* first = nullptr) {
    if (!request.fields) return 0;
    auto const [begin, end] = request.fields->equal_range(name);
    std::size_t n = 0;
    for (auto it = begin; it != end; ++it)
        if (n++ == 0 && first) *first = it->value();
    return n;
}

/// How many `name=` pairs the request's Cookie headers carry.
std::size_t cookie_count(http::RequestInfo const& request, std::string_view name) {
    if (!request.fields) return 0;
    std::size_t n = 0;
    auto const [begin, end] = request.fields->equal_range(boost::beast::http::field::cookie);
    for (auto it = begin; it != end; ++it) {
        std::string_view v = it->value();
        while (!v.empty()) {
            std::size_t const semi = v.find(';');
            std::string_view pair = v.substr(0, semi);
            while (!pair.empty() && (pair.front() == ' ' || pair.front() == '\t')) pair.remove_prefix(1);
            std::size_t const eq = pair.find('=');
            std::string_view key = pair.substr(0, eq);
            while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.remove_suffix(1);
            if (eq != std::string_view::npos && key == name) ++n;
            if (semi == std::string_view::npos) break;
            v.remove_prefix(semi + 1);
        }
    }
    return n;
}

}  // namespace

namespace {

boost::system::result<Credential> credential_of(http::RequestInfo const& request,
                                                BearerOptions const& options) {
    if (options.use_authorization_header) {
        std::string_view h;
        std::size_t const count = field_count(request, boost::beast::http::field::authorization, &h);
        if (count > 1) return make_error_code(error::ambiguous_credentials);
        if (count == 1) {
            std::size_t const sp = h.find(' ');
            if (sp == std::string_view::npos || !iequals(h.substr(0, sp), "Bearer"))
                return make_error_code(error::invalid_authorization_header);
            std::string_view token = h.substr(sp + 1);
            while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
            while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
            if (!is_b64token(token)) return make_error_code(error::invalid_authorization_header);
            return Credential{token, CredentialSource::authorization_header};
        }
    }
    if (!options.cookie_name.empty()) {
        if (cookie_count(request, options.cookie_name) > 1)
            return make_error_code(error::ambiguous_credentials);
        if (auto c = request.cookie(options.cookie_name); c && !c->empty()) {
            if (!is_b64token(*c)) return make_error_code(error::invalid_authorization_header);
            return Credential{*c, CredentialSource::cookie};
        }
    }
    return make_error_code(error::missing_token);
}

boost::system::error_code cookie_request_check(http::RequestInfo const& request,
                                               BearerOptions const& options) {
    using boost::beast::http::verb;
    if (request.method != verb::post && request.method != verb::put && request.method != verb::patch &&
        request.method != verb::delete_)
        return {};
    auto const refuse = make_error_code(error::cross_site_request);
    if (!request.fields) return refuse;
    // Exactly one Origin, equal to an allowed one or to the server's own.
    std::string_view origin;
    std::size_t const origins = field_count(request, boost::beast::http::field::origin, &origin);
    if (origins != 1 || origin.empty() || origin == "null") return refuse;
    bool allowed = false;
    for (auto const& o : options.allowed_origins)
        if (iequals(strip_slash(o), origin)) allowed = true;
    if (!allowed) {
        std::string_view const host = request.header(boost::beast::http::field::host);
        if (!host.empty() && host.find_first_of("/ \t@") == std::string_view::npos &&
            (iequals(origin, "http://" + std::string(host)) || iequals(origin, "https://" + std::string(host))))
            allowed = true;
    }
    if (!allowed) return refuse;
    // A media type a cross-site form cannot send without a CORS preflight.
    std::string_view type;
    std::size_t const types = field_count(request, boost::beast::http::field::content_type, &type);
    if (types != 1) return refuse;
    std::string_view essence = type.substr(0, type.find(';'));
    while (!essence.empty() && (essence.back() == ' ' || essence.back() == '\t')) essence.remove_suffix(1);
    if (iequals(essence, "application/json")) return {};
    std::string_view const path = request.path();
    bool const upload = request.method == verb::post && (path == "/attachments" || path.starts_with("/attachments/"));
    if (upload && iequals(essence, "multipart/form-data")) return {};
    return refuse;
}

// True for the codes of the auth block of chatkit::error (token_too_large ... ambiguous_credentials).
bool is_authentication_failure(boost::system::error_code const& ec) noexcept {
    return ec.category() == chatkit_category() && ec.value() >= static_cast<int>(error::token_too_large) &&
           ec.value() <= static_cast<int>(error::ambiguous_credentials);
}

}  // namespace

Credential extract_credential(http::RequestInfo const& request, BearerOptions const& options,
                              boost::system::error_code& ec) {
    auto c = credential_of(request, options);
    if (!c) {
        ec = c.error();
        return {};
    }
    ec = {};
    return *c;
}

Credential extract_credential(http::RequestInfo const& request, BearerOptions const& options) {
    auto c = credential_of(request, options);
    if (!c) throw Error(c.error());
    return *c;
}

std::string_view extract_token(http::RequestInfo const& request, BearerOptions const& options,
                               boost::system::error_code& ec) {
    return extract_credential(request, options, ec).token;
}

std::string_view extract_token(http::RequestInfo const& request, BearerOptions const& options) {
    return extract_credential(request, options).token;
}

void check_cookie_request(http::RequestInfo const& request, BearerOptions const& options,
                          boost::system::error_code& ec) {
    ec = cookie_request_check(request, options);
}

void check_cookie_request(http::RequestInfo const& request, BearerOptions const& options) {
    throw_if(cookie_request_check(request, options));
}

http::ChallengeError unauthorized(boost::system::error_code const& why, BearerOptions const& options) {
    std::string challenge = "Bearer realm=" + quote_param(options.realm);
    unsigned const status = http_status(why);
    if (!is_authentication_failure(why) || status == 500) {
        // A verification failure that is no 401 of its own (weak_key), or not an auth code at all.
        std::string const description = "The access token is invalid";
        challenge += ", error=\"invalid_token\", error_description=" + quote_param(description);
        return http::ChallengeError(error::unauthorized, description, challenge);
    }
    std::string const message = client_message(why, {});
    if (status != 401) return http::ChallengeError(why, message, {});  // 400, 403, 503
    if (why == error::invalid_authorization_header)
        challenge += ", error=\"invalid_request\", error_description=\"malformed Authorization header\"";
    else if (why != error::missing_token)
        challenge += ", error=\"invalid_token\", error_description=" + quote_param(message);
    return http::ChallengeError(why, message, challenge);
}

http::ChallengeError forbidden(BearerOptions const& options, std::string_view scope) {
    std::string challenge = "Bearer realm=" + quote_param(options.realm) + ", error=\"insufficient_scope\"";
    if (!scope.empty()) challenge += ", scope=" + quote_param(scope);
    return http::ChallengeError(error::forbidden, "Not allowed", challenge);
}

BearerAuthenticator::BearerAuthenticator(JwtVerifier verifier, BearerOptions options)
    : verifier_(std::move(verifier)), options_(std::move(options)) {}

BearerAuthenticator::BearerAuthenticator(JwtVerifier verifier, std::shared_ptr<JwksCache> jwks, BearerOptions options)
    : verifier_(std::move(verifier)), jwks_(std::move(jwks)), options_(std::move(options)) {}

namespace {

// What BearerAuthenticator::admit leaves in RequestInfo::admission: the claims and who verified them.
struct admitted_claims {
    BearerAuthenticator const* authenticator;
    Claims claims;
};

}  // namespace

std::any BearerAuthenticator::admit(http::RequestInfo const& request) const {
    return admitted_claims{this, authenticate(request)};
}

Claims BearerAuthenticator::authenticate(http::RequestInfo const& request,
                                         boost::system::error_code& ec) const {
    ec = {};
    if (request.admission) {
        auto const* admitted = std::any_cast<admitted_claims>(request.admission);
        if (admitted && admitted->authenticator == this) return admitted->claims;
    }
    Credential const credential = extract_credential(request, options_, ec);
    if (ec) return {};
    if (credential.source == CredentialSource::cookie) {
        check_cookie_request(request, options_, ec);
        if (ec) return {};
    }
    if (jwks_) return jwks_->verify_cached(verifier_, credential.token, ec);
    return verifier_.verify(credential.token, ec);
}

Claims BearerAuthenticator::authenticate(http::RequestInfo const& request) const {
    boost::system::error_code ec;
    Claims claims = authenticate(request, ec);
    if (ec) throw unauthorized(ec, options_);
    return claims;
}

void require_scope(Claims const& claims, std::string_view scope, BearerOptions const& options) {
    for (char const* name : {"scope", "scp", "permissions"})
        for (auto const& s : claims.string_list_claim(name))
            if (s == scope) return;
    throw forbidden(options, scope);
}

bool PageContext::empty() const noexcept {
    return url.empty() && title.empty() && path.empty() && description.empty() && headings.empty();
}

std::string PageContext::to_prompt() const {
    if (empty()) return {};
    std::string out = "The user is on the page";
    if (!title.empty()) out += " \"" + title + "\"";
    if (!url.empty()) out += " (" + url + ")";
    else if (!path.empty()) out += " (" + path + ")";
    out += ".";
    if (!description.empty()) out += "\nDescription: " + description;
    if (!headings.empty()) {
        out += "\nHeadings:";
        for (auto const& h : headings) out += "\n- " + h;
    }
    return out;
}

PageContext page_context(http::RequestInfo const& request, PageContextLimits const& limits) {
    PageContext page;
    if (!request.request) return page;
    auto const* p = request.request->metadata.if_contains("page");
    if (!p || !p->is_object()) return page;
    auto const& o = p->get_object();
    page.url = capped(o, "url", limits.max_field_bytes);
    page.title = capped(o, "title", limits.max_field_bytes);
    page.path = capped(o, "path", limits.max_field_bytes);
    page.description = capped(o, "description", limits.max_field_bytes);
    if (auto const* hs = o.if_contains("headings"); hs && hs->is_array()) {
        for (auto const& h : hs->get_array()) {
            if (page.headings.size() >= limits.max_headings) break;
            if (!h.is_string()) continue;
            std::string_view s = h.get_string();
            page.headings.emplace_back(s.substr(0, utf8_cut(s, limits.max_heading_bytes)));
        }
    }
    return page;
}

std::map<std::string, std::string> chosen_headers(http::RequestInfo const& request, std::vector<std::string> const& names,
                                                  std::size_t max_value_bytes) {
    std::map<std::string, std::string> out;
    for (auto const& name : names) {
        std::string_view const v = request.header(name);
        if (!v.empty()) out.emplace(name, std::string(v.substr(0, utf8_cut(v, max_value_bytes))));
    }
    return out;
}

http::ContextFactory<AuthContext> auth_context_factory(std::shared_ptr<BearerAuthenticator const> auth,
                                                       std::vector<std::string> forwarded_headers,
                                                       PageContextLimits limits) {
    return [auth = std::move(auth), names = std::move(forwarded_headers), limits](http::RequestInfo const& request) {
        AuthContext ctx;
        ctx.claims = auth->authenticate(request);
        ctx.user_id = ctx.claims.subject;
        ctx.owner_key = ctx.claims.tenant_key();
        ctx.page = page_context(request, limits);
        ctx.headers = chosen_headers(request, names);
        return ctx;
    };
}

}  // namespace chatkit::auth
