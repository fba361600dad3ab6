// chatkit-cpp core: base64 and base64url (see base64.hpp).
#include <chatkit/core/base64.hpp>

#include <array>
#include <cstdint>

namespace chatkit {

namespace {

constexpr char standard_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char url_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// The value of each byte in an alphabet, -1 for bytes outside it.
constexpr std::array<std::int8_t, 256> table_of(char const (&alphabet)[65]) {
    std::array<std::int8_t, 256> table{};
    for (auto& e : table) e = -1;
    for (int i = 0; i < 64; ++i) table[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    return table;
}
constexpr auto standard_table = table_of(standard_alphabet);
constexpr auto url_table = table_of(url_alphabet);

std::string encode(std::string_view bytes, char const (&alphabet)[65], bool pad) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    auto const byte = [&](std::size_t k) { return static_cast<unsigned>(static_cast<unsigned char>(bytes[k])); };
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        unsigned const n = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
        out.push_back(alphabet[(n >> 18) & 63]);
        out.push_back(alphabet[(n >> 12) & 63]);
        out.push_back(alphabet[(n >> 6) & 63]);
        out.push_back(alphabet[n & 63]);
    }
    if (std::size_t const rest = bytes.size() - i; rest > 0) {
        unsigned n = byte(i) << 16;
        if (rest == 2) n |= byte(i + 1) << 8;
        out.push_back(alphabet[(n >> 18) & 63]);
        out.push_back(alphabet[(n >> 12) & 63]);
        if (rest == 2) out.push_back(alphabet[(n >> 6) & 63]);
        if (pad) out.append(rest == 2 ? "=" : "==");
    }
    return out;
}

// Decodes characters that must all be in `table`; nullopt on any other byte or non-canonical
// trailing bits. `text` carries no padding and its length is not 1 more than a multiple of 4.
std::optional<std::string> decode_strict(std::string_view text, std::array<std::int8_t, 256> const& table) {
    std::string out;
    out.reserve(text.size() / 4 * 3 + 2);
    unsigned acc = 0;
    int nbits = 0;
    for (char c : text) {
        std::int8_t const v = table[static_cast<unsigned char>(c)];
        if (v < 0) return std::nullopt;
        acc = ((acc << 6) | static_cast<unsigned>(v)) & 0xFFFFFFu;
        nbits += 6;
        if (nbits >= 8) {
            nbits -= 8;
            out.push_back(static_cast<char>((acc >> nbits) & 0xFF));
        }
    }
    if (nbits > 0 && (acc & ((1u << nbits) - 1)) != 0) return std::nullopt;
    return out;
}

}  // namespace

std::string base64_encode(std::string_view bytes) { return encode(bytes, standard_alphabet, true); }

std::string base64url_encode(std::string_view bytes) { return encode(bytes, url_alphabet, false); }

std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) return std::nullopt;
    std::size_t pads = 0;
    while (pads < 2 && pads < text.size() && text[text.size() - 1 - pads] == '=') ++pads;
    return decode_strict(text.substr(0, text.size() - pads), standard_table);
}

std::optional<std::string> base64url_decode(std::string_view text) {
    if (text.size() % 4 == 1) return std::nullopt;
    return decode_strict(text, url_table);
}

Base64LenientResult base64_decode_lenient(std::string_view text) {
    Base64LenientResult result;
    for (char c : text) {
        if (static_cast<unsigned char>(c) >= 0x80) {
            result.failure = Base64Failure::non_ascii;
            return result;
        }
    }
    std::string& out = result.bytes;
    out.reserve(text.size() / 4 * 3 + 3);
    int quad_pos = 0;
    int pads = 0;
    unsigned left = 0;
    for (char ch : text) {
        if (ch == '=') {
            if (quad_pos >= 2 && quad_pos + ++pads >= 4) {
                quad_pos = 0;  // a complete padded quad ends the data
                break;
            }
            continue;
        }
        std::int8_t const v = standard_table[static_cast<unsigned char>(ch)];
        if (v < 0) continue;
        auto const bits = static_cast<unsigned>(v);
        pads = 0;
        switch (quad_pos) {
            case 0:
                left = bits;
                quad_pos = 1;
                break;
            case 1:
                out.push_back(static_cast<char>(((left << 2) | (bits >> 4)) & 0xFF));
                left = bits & 0x0F;
                quad_pos = 2;
                break;
            case 2:
                out.push_back(static_cast<char>(((left << 4) | (bits >> 2)) & 0xFF));
                left = bits & 0x03;
                quad_pos = 3;
                break;
            default:
                out.push_back(static_cast<char>(((left << 6) | bits) & 0xFF));
                left = 0;
                quad_pos = 0;
                break;
        }
    }
    if (quad_pos == 1) {
        result.failure = Base64Failure::excess_data_character;
        result.data_chars = out.size() / 3 * 4 + 1;
    } else if (quad_pos != 0) {
        result.failure = Base64Failure::incorrect_padding;
    }
    return result;
}

}  // namespace chatkit
