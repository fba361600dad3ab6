// parse_media_type: RFC 9110 §8.3.1 media types (see include/chatkit/core/media_type.hpp).
#include <chatkit/core/media_type.hpp>

#include <optional>

namespace chatkit {
namespace {

// RFC 9110 §5.6.2 tchar.
bool is_tchar(char c) noexcept {
    auto const u = static_cast<unsigned char>(c);
    if (u >= '0' && u <= '9') return true;
    if ((u | 0x20) >= 'a' && (u | 0x20) <= 'z') return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

class Reader {
public:
    explicit Reader(std::string_view text) : text_(text) {}
    bool done() const noexcept { return pos_ == text_.size(); }
    char peek() const noexcept { return text_[pos_]; }
    void skip_ows() noexcept {
        while (!done() && (peek() == ' ' || peek() == '\t')) ++pos_;
    }
    bool eat(char c) noexcept {
        if (done() || peek() != c) return false;
        ++pos_;
        return true;
    }
    // The longest run of tchars from here, lowered when asked (names are case-insensitive).
    std::string token(bool lowered) {
        std::string out;
        while (!done() && is_tchar(peek())) out += lowered ? lower(text_[pos_++]) : text_[pos_++];
        return out;
    }
    // After the opening quote: qdtext / quoted-pair up to the closing quote (the caller has already
    // refused control characters in the whole text).
    std::optional<std::string> quoted() {
        std::string out;
        while (!done()) {
            char c = text_[pos_++];
            if (c == '"') return out;
            if (c == '\\') {
                if (done()) return std::nullopt;
                c = text_[pos_++];
            }
            out += c;
        }
        return std::nullopt;
    }

private:
    std::string_view text_;
    std::size_t pos_ = 0;
};

std::optional<MediaType> fail(std::string* why, char const* reason) {
    if (why) *why = reason;
    return std::nullopt;
}

}  // namespace

bool is_http_token(std::string_view text) noexcept {
    if (text.empty()) return false;
    for (char c : text)
        if (!is_tchar(c)) return false;
    return true;
}

namespace {

std::optional<MediaType> parse(std::string_view text, std::string* why) {
    if (text.size() > max_media_type_length) return fail(why, "the media type is too long");
    for (char c : text) {
        auto const u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\t') || u == 0x7f) return fail(why, "the media type holds a control character");
        if (c == ',') return fail(why, "the media type holds a comma");
    }
    Reader in(text);
    in.skip_ows();
    MediaType out;
    out.type = in.token(true);
    if (out.type.empty()) return fail(why, "the media type has no type");
    if (!in.eat('/')) return fail(why, "the media type has no '/'");
    out.subtype = in.token(true);
    if (out.subtype.empty()) return fail(why, "the media type has no subtype");
    for (;;) {
        in.skip_ows();
        if (in.done()) break;
        if (!in.eat(';')) return fail(why, "unexpected character in the media type");
        in.skip_ows();
        if (in.done()) break;
        if (in.peek() == ';') continue;  // an empty parameter: `a/b;;c=d` is allowed
        std::string name = in.token(true);
        if (name.empty() || !in.eat('=')) return fail(why, "a media type parameter is not name=value");
        std::string value;
        if (in.eat('"')) {
            auto q = in.quoted();
            if (!q) return fail(why, "a media type parameter has a bad quoted string");
            value = std::move(*q);
        } else {
            value = in.token(false);
            if (value.empty()) return fail(why, "a media type parameter has no value");
        }
        out.parameters.emplace_back(std::move(name), std::move(value));
    }
    return out;
}

}  // namespace

MediaType parse_media_type(std::string_view text, boost::system::error_code& ec, std::string& diagnostics) {
    auto parsed = parse(text, &diagnostics);
    if (!parsed) {
        ec = error::invalid_request;
        return {};
    }
    ec = {};
    diagnostics.clear();
    return std::move(*parsed);
}

MediaType parse_media_type(std::string_view text) {
    std::string why;
    auto parsed = parse(text, &why);
    if (!parsed) throw Error(error::invalid_request, std::move(why));
    return std::move(*parsed);
}

bool is_active_media_type(MediaType const& media) noexcept {
    if (media.type == "text") return true;
    std::string_view const sub = media.subtype;
    auto const ends = [&](std::string_view suffix) {
        return sub.size() >= suffix.size() && sub.substr(sub.size() - suffix.size()) == suffix;
    };
    return sub == "svg+xml" || sub == "xml" || ends("+xml") || sub == "html" || sub == "xhtml+xml" ||
           sub == "javascript" || sub == "ecmascript";
}

}  // namespace chatkit
